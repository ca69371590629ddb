package dev.tidings.server.auth;

import com.nimbusds.jose.jwk.JWKSet;

import java.net.URL;
import java.util.List;
import java.util.Map;

/**
 * What a token must be to be accepted: the keys it may be signed with and the claims it must
 * carry. Read from the settings of the Supabase Realtime image ({@code API_JWT_SECRET},
 * {@code API_JWT_JWKS}, {@code JWT_CLAIM_VALIDATORS}) and Tidings' own; immutable.
 *
 * @param secrets         HMAC secrets (HS256/384/512), each at least 32 bytes; the first is the
 *                        current one, a second the next one of a rotation
 * @param jwks            a JWK set given inline ({@code oct}, {@code RSA}, {@code EC}, {@code OKP}
 *                        Ed25519 keys), or null
 * @param jwksUrl         where a JWK set is published, or null
 * @param claimValidators claim → the value it must have (JSON values as Nimbus reads them)
 * @param requireExp      whether a token without {@code exp} is refused
 * @param requireRole     whether a token without {@code role} is refused
 */
public record TokenRules(List<String> secrets, JWKSet jwks, URL jwksUrl, Map<String, Object> claimValidators,
                         boolean requireExp, boolean requireRole) {
    public TokenRules {
        secrets = List.copyOf(secrets);
        claimValidators = Map.copyOf(claimValidators);
    }

    /** Whether any key is configured: without one no token can be verified. */
    public boolean hasKey() {
        return !secrets.isEmpty() || jwks != null || jwksUrl != null;
    }
}
