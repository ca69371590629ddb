package dev.tidings.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.jca.JCAContext;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.util.Base64URL;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Set;

/**
 * EdDSA (Ed25519) signature checks with the JDK's own Ed25519 provider. Nimbus ships an Ed25519
 * verifier, but it needs Google Tink at run time; the JDK has had Ed25519 since 15, so this class
 * only turns a JWK's raw public key into a JDK key and calls {@link Signature}. Accepts both
 * spellings of the algorithm: {@code EdDSA} (RFC 8037) and {@code Ed25519} (fully specified, RFC
 * 9864). Immutable, thread-safe.
 */
final class Ed25519Verification implements JWSVerifier {
    static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.EdDSA, JWSAlgorithm.Ed25519);

    /** DER prefix of an X.509 SubjectPublicKeyInfo for Ed25519 (RFC 8410): the raw 32-byte key follows. */
    private static final byte[] X509_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

    private final PublicKey key;

    Ed25519Verification(PublicKey key) {
        this.key = key;
    }

    /** The JDK key of an {@code OKP} JWK on curve Ed25519. */
    static PublicKey publicKey(OctetKeyPair jwk) throws GeneralSecurityException {
        byte[] raw = jwk.getDecodedX();
        if (raw.length != 32) {
            throw new GeneralSecurityException("an Ed25519 public key has 32 bytes, this one " + raw.length);
        }
        byte[] der = new byte[X509_PREFIX.length + raw.length];
        System.arraycopy(X509_PREFIX, 0, der, 0, X509_PREFIX.length);
        System.arraycopy(raw, 0, der, X509_PREFIX.length, raw.length);
        return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
    }

    @Override
    public boolean verify(JWSHeader header, byte[] signingInput, Base64URL signature) throws JOSEException {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(key);
            s.update(signingInput);
            return s.verify(signature.decode());
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    @Override
    public Set<JWSAlgorithm> supportedJWSAlgorithms() {
        return ALGORITHMS;
    }

    @Override
    public JCAContext getJCAContext() {
        return new JCAContext();
    }
}
