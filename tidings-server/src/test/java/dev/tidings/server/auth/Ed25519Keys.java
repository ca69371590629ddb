package dev.tidings.server.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Arrays;

/**
 * An Ed25519 key pair from the JDK and EdDSA tokens signed with it, for tests (Nimbus's own
 * Ed25519 signer needs Google Tink, which Tidings does not ship).
 */
public record Ed25519Keys(String kid, KeyPair pair) {
    public static Ed25519Keys generate(String kid) throws Exception {
        return new Ed25519Keys(kid, KeyPairGenerator.getInstance("Ed25519").generateKeyPair());
    }

    /** The public key as a JWK: an X.509 encoding ends with the 32 raw key bytes. */
    public OctetKeyPair publicJwk() {
        byte[] der = pair.getPublic().getEncoded();
        return new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(Arrays.copyOfRange(der, der.length - 32, der.length)))
                .keyID(kid).build();
    }

    /** A compact JWS of {@code claims} with {@code alg} (EdDSA or Ed25519) and this key's kid. */
    public String sign(JWSAlgorithm alg, JWTClaimsSet claims) throws Exception {
        String input = new JWSHeader.Builder(alg).keyID(kid).build().toBase64URL() + "."
                + Base64URL.encode(claims.toString().getBytes(StandardCharsets.UTF_8));
        Signature s = Signature.getInstance("Ed25519");
        s.initSign(pair.getPrivate());
        s.update(input.getBytes(StandardCharsets.US_ASCII));
        return input + "." + Base64URL.encode(s.sign());
    }
}
