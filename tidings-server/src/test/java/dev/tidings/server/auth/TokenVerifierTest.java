package dev.tidings.server.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Token checks without a server: keys from a real JWK set (RSA, EC, Ed25519, oct by kid), secret
 * rotation, claim validators, the {@code exp}/{@code role} rules and Supabase API keys.
 */
@Tag("unit")
class TokenVerifierTest {
    static final String SECRET = "a-current-secret-of-at-least-32-bytes!";
    static final String NEXT = "the-next-secret-of-a-rotation-32-bytes+";

    private static JWTClaimsSet.Builder valid() {
        return new JWTClaimsSet.Builder().claim("role", "authenticated").subject("7")
                .expirationTime(Date.from(Instant.now().plusSeconds(600)));
    }

    private static String hs(String secret, String kid, JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(kid).build(), claims);
        jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    private static TokenVerifier verifier(List<String> secrets, JWKSet jwks, Map<String, Object> validators) {
        return new TokenVerifier(new TokenRules(secrets, jwks, null, validators, true, true));
    }

    @Test
    void tokens_signed_by_each_key_type_of_an_inline_jwk_set_are_accepted_and_others_refused() throws Exception {
        RSAKey rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
        ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
        Ed25519Keys ed = Ed25519Keys.generate("ed-1");
        OctetSequenceKey oct = new OctetSequenceKey.Builder("an-hs256-key-given-in-the-jwk-set!!".getBytes(StandardCharsets.UTF_8))
                .keyID("oct-1").build();
        TokenVerifier v = verifier(List.of(), new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK(), ed.publicJwk(), oct)), Map.of());

        SignedJWT rs = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").build(), valid().build());
        rs.sign(new RSASSASigner(rsa));
        assertThat(v.verify(rs.serialize()).role()).isEqualTo("authenticated");
        SignedJWT es = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("ec-1").build(), valid().build());
        es.sign(new ECDSASigner(ec));
        assertThat(v.verify(es.serialize()).claims()).containsEntry("sub", "7");
        assertThat(v.verify(ed.sign(JWSAlgorithm.EdDSA, valid().build())).role()).isEqualTo("authenticated");
        assertThat(v.verify(ed.sign(JWSAlgorithm.Ed25519, valid().build())).role()).as("the fully specified name").isEqualTo("authenticated");
        assertThat(v.verify(hs("an-hs256-key-given-in-the-jwk-set!!", "oct-1", valid().build())).role()).isEqualTo("authenticated");

        Ed25519Keys stranger = Ed25519Keys.generate("ed-1");
        assertThatThrownBy(() -> v.verify(stranger.sign(JWSAlgorithm.EdDSA, valid().build())))
                .hasMessage("Invalid JWT: signature does not verify with the configured keys");
        SignedJWT unknownKid = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-9").build(), valid().build());
        unknownKid.sign(new RSASSASigner(rsa));
        assertThatThrownBy(() -> v.verify(unknownKid.serialize())).hasMessage(
                "Failed to generate JWT signer for key ID (kid) \"rsa-9\", check your JWT secret or JWKS configuration");
        assertThatThrownBy(() -> v.verify(hs(SECRET, null, valid().build())))
                .as("HS256 without kid and no shared secret").hasMessageStartingWith("Failed to generate JWT signer");
    }

    @Test
    void the_next_secret_of_a_rotation_is_accepted_beside_the_current_one() throws Exception {
        TokenVerifier v = verifier(List.of(SECRET, NEXT), null, Map.of());
        assertThat(v.verify(hs(SECRET, null, valid().build())).role()).isEqualTo("authenticated");
        assertThat(v.verify(hs(NEXT, "any-kid", valid().build())).role()).isEqualTo("authenticated");
        assertThatThrownBy(() -> v.verify(hs(SECRET.toUpperCase(), null, valid().build())))
                .hasMessage("Invalid JWT: signature does not verify with the configured keys");
    }

    @Test
    void tokens_without_exp_or_role_are_refused_unless_the_rules_allow_them() throws Exception {
        TokenVerifier strict = verifier(List.of(SECRET), null, Map.of());
        String noExp = hs(SECRET, null, new JWTClaimsSet.Builder().claim("role", "anon").build());
        String noRole = hs(SECRET, null, new JWTClaimsSet.Builder().expirationTime(Date.from(Instant.now().plusSeconds(60))).build());
        String neither = hs(SECRET, null, new JWTClaimsSet.Builder().subject("7").build());
        assertThatThrownBy(() -> strict.verify(noExp)).hasMessage("Fields `role` and `exp` are required in JWT (this token has no `exp`)");
        assertThatThrownBy(() -> strict.verify(noRole)).hasMessage("Fields `role` and `exp` are required in JWT (this token has no `role`)");
        assertThatThrownBy(() -> strict.verify(neither)).hasMessageContaining("no `role` and no `exp`");

        TokenVerifier lenient = new TokenVerifier(new TokenRules(List.of(SECRET), null, null, Map.of(), false, false));
        assertThat(lenient.verify(noExp).expiresAt()).isNull();
        assertThat(lenient.verify(noRole).role()).isNull();
        assertThat(lenient.verify(neither).claims()).containsEntry("sub", "7");
        String expired = hs(SECRET, null, valid().expirationTime(Date.from(Instant.now().minusSeconds(1))).build());
        assertThatThrownBy(() -> lenient.verify(expired)).as("an exp that is there still counts")
                .hasMessage("Invalid JWT: Token has expired");
        String notYet = hs(SECRET, null, valid().notBeforeTime(Date.from(Instant.now().plusSeconds(60))).build());
        assertThatThrownBy(() -> lenient.verify(notYet)).hasMessageStartingWith("Invalid JWT: the token is not valid before");
    }

    @Test
    void claim_validators_need_each_claim_present_with_exactly_its_value() throws Exception {
        TokenVerifier v = verifier(List.of(SECRET), null, Map.of("iss", "supabase", "aal", "aal2", "level", 3L));
        assertThat(v.verify(hs(SECRET, null, valid().issuer("supabase").claim("aal", "aal2").claim("level", 3).build())).role())
                .isEqualTo("authenticated");
        assertThatThrownBy(() -> v.verify(hs(SECRET, null, valid().issuer("someone-else").claim("aal", "aal2").claim("level", 3).build())))
                .hasMessage("Invalid JWT: claim `iss` does not have the required value");
        assertThatThrownBy(() -> v.verify(hs(SECRET, null, valid().issuer("supabase").claim("level", 3).build())))
                .hasMessage("Invalid JWT: claim `aal` is required and missing");
        assertThatThrownBy(() -> v.verify(hs(SECRET, null, valid().issuer("supabase").claim("aal", "aal2").claim("level", "3").build())))
                .as("a string is not the number").hasMessage("Invalid JWT: claim `level` does not have the required value");
    }

    @Test
    void supabase_api_keys_are_refused_with_what_to_send_instead() {
        TokenVerifier v = verifier(List.of(SECRET), null, Map.of());
        assertThatThrownBy(() -> v.verify("sb_publishable_abcDEF123_xyz"))
                .hasMessageStartingWith("The token provided is not a valid JWT: sb_publishable_… is a Supabase API key")
                .hasMessageContaining("send a JWT signed with this server's key");
        assertThatThrownBy(() -> v.verify("sb_secret_abcDEF123")).hasMessageStartingWith(
                "The token provided is not a valid JWT: sb_secret_… is a Supabase API key");
    }
}
