package dev.tidings.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSKeySelector;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;

import javax.crypto.spec.SecretKeySpec;
import java.net.MalformedURLException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.text.ParseException;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks the JWTs clients present, with Nimbus JOSE+JWT (no crypto of our own): HS256/384/512 with
 * the shared secret ({@code JWT_SECRET}), RS256/ES256 (and their 384/512 siblings) with keys from
 * a JWKS URL, both when both are configured. Unsigned tokens ({@code alg: none}), other
 * algorithms, wrong signatures and expired tokens ({@code exp}, no clock skew allowed) are
 * refused. Nimbus requires an HMAC secret at least as long as the hash: 32 bytes for HS256, 48
 * for HS384, 64 for HS512. Thread-safe.
 */
public final class TokenVerifier {
    /** A verified token: its claims and when it expires (null: never). */
    public record Token(Map<String, Object> claims, Instant expiresAt) {
        public String role() {
            Object role = claims.get("role");
            return role == null ? null : role.toString();
        }
    }

    /** Why a token was refused, as the client will read it. */
    public static final class InvalidToken extends Exception {
        public InvalidToken(String message) {
            super(message, null, false, false);
        }
    }

    private static final Set<JWSAlgorithm> HMAC = Set.of(JWSAlgorithm.HS256, JWSAlgorithm.HS384, JWSAlgorithm.HS512);
    private static final Set<JWSAlgorithm> PUBLIC_KEY = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384,
            JWSAlgorithm.RS512, JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512, JWSAlgorithm.PS256);

    private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();

    /**
     * @param secret  the HMAC secret, or null
     * @param jwksUrl where the public keys are published, or null
     * @throws IllegalArgumentException when neither is given, or the URL is malformed
     */
    public TokenVerifier(String secret, String jwksUrl) {
        if ((secret == null || secret.isEmpty()) && (jwksUrl == null || jwksUrl.isEmpty())) {
            throw new IllegalArgumentException("secure channels need a key: set JWT_SECRET (HS256/384/512) or JWKS_URL (RS256/ES256)");
        }
        JWSKeySelector<SecurityContext> hmac = null;
        if (secret != null && !secret.isEmpty()) {
            byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
            if (bytes.length < 32) {
                throw new IllegalArgumentException("JWT_SECRET is " + bytes.length + " bytes; HS256 needs at least 32 "
                        + "(use a random string of 32 or more characters, as Supabase does)");
            }
            Set<JWSAlgorithm> allowed = new HashSet<>(Set.of(JWSAlgorithm.HS256));
            if (bytes.length >= 48) {
                allowed.add(JWSAlgorithm.HS384);
            }
            if (bytes.length >= 64) {
                allowed.add(JWSAlgorithm.HS512);
            }
            SecretKeySpec key = new SecretKeySpec(bytes, "HmacSHA256");
            hmac = (header, context) -> allowed.contains(header.getAlgorithm()) ? List.of(key) : List.of();
        }
        JWSKeySelector<SecurityContext> jwks = null;
        if (jwksUrl != null && !jwksUrl.isEmpty()) {
            JWKSource<SecurityContext> source;
            try {
                source = JWKSourceBuilder.<SecurityContext>create(URI.create(jwksUrl).toURL()).build();
            } catch (MalformedURLException | IllegalArgumentException e) {
                throw new IllegalArgumentException("JWKS_URL '" + jwksUrl + "' is not a valid URL: " + e.getMessage());
            }
            jwks = new JWSVerificationKeySelector<>(PUBLIC_KEY, source);
        }
        JWSKeySelector<SecurityContext> byHmac = hmac;
        JWSKeySelector<SecurityContext> byJwks = jwks;
        processor.setJWSKeySelector((JWSHeader header, SecurityContext context) -> {
            JWSAlgorithm alg = header.getAlgorithm();
            if (HMAC.contains(alg) && byHmac != null) {
                return byHmac.selectJWSKeys(header, context);
            }
            if (PUBLIC_KEY.contains(alg) && byJwks != null) {
                return byJwks.selectJWSKeys(header, context);
            }
            return List.<Key>of();
        });
        DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(null, null);
        claims.setMaxClockSkew(0);
        processor.setJWTClaimsSetVerifier(claims);
    }

    public Token verify(String token) throws InvalidToken {
        if (token == null || token.isBlank()) {
            throw new InvalidToken("Invalid JWT: no token given");
        }
        JWTClaimsSet claims;
        try {
            claims = processor.process(token, null);
        } catch (ParseException e) {
            throw new InvalidToken("Invalid JWT: malformed token");
        } catch (BadJOSEException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("Expired")) {
                throw new InvalidToken("Invalid JWT: Token has expired");
            }
            if (m.contains("Unsecured") || m.contains("plain")) {
                throw new InvalidToken("Invalid JWT: unsigned tokens (alg none) are not accepted");
            }
            throw new InvalidToken("Invalid JWT: " + (m.contains("key") || m.contains("signature")
                    ? "signature does not verify with the configured keys" : m));
        } catch (JOSEException e) {
            throw new InvalidToken("Invalid JWT: " + e.getMessage());
        }
        Instant exp = claims.getExpirationTime() == null ? null : claims.getExpirationTime().toInstant();
        return new Token(Map.copyOf(withoutNulls(claims.getClaims())), exp);
    }

    private static Map<String, Object> withoutNulls(Map<String, Object> claims) {
        Map<String, Object> m = new java.util.HashMap<>();
        claims.forEach((k, v) -> {
            if (v != null) {
                m.put(k, v instanceof java.util.Date d ? d.toInstant().getEpochSecond() : v);
            }
        });
        return m;
    }
}
