package dev.tidings.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.text.ParseException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Checks the JWTs clients present, with Nimbus JOSE+JWT for parsing and signatures (and the JDK
 * for Ed25519): no crypto of our own.
 *
 * <p>Keys are chosen as Supabase Realtime chooses them: an HS256/384/512 token is checked with the
 * {@code oct} key of its {@code kid} in the inline JWK set if there is one, else with the shared
 * secrets (current, then next); RS*, PS256, ES* and EdDSA/Ed25519 tokens with the keys of their
 * type (and {@code kid}, when the token names one) from the inline set and the published one.
 * Unsigned tokens ({@code alg: none}), other algorithms and wrong signatures are refused.
 *
 * <p>Claims, unlike Realtime, fail closed: {@code exp} (no clock skew) and {@code role} are required
 * unless the rules say otherwise, an {@code nbf} in the future is refused, and each claim
 * validator needs its claim present with exactly the required value. {@code sb_publishable_…} and
 * {@code sb_secret_…} API keys are refused with a reason saying what to send instead. Thread-safe.
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
    private static final Set<JWSAlgorithm> RSA = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.PS256);
    private static final Set<JWSAlgorithm> EC = Set.of(JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512);

    private final TokenRules rules;
    private final List<JWKSource<SecurityContext>> keySets = new ArrayList<>();

    /** @throws IllegalArgumentException when the rules name no key */
    public TokenVerifier(TokenRules rules) {
        if (!rules.hasKey()) {
            throw new IllegalArgumentException("secure channels need a key: set API_JWT_SECRET (HS256/384/512), "
                    + "API_JWT_JWKS (a JWK set as JSON) or JWKS_URL");
        }
        this.rules = rules;
        if (rules.jwks() != null) {
            keySets.add(new ImmutableJWKSet<>(rules.jwks()));
        }
        if (rules.jwksUrl() != null) {
            keySets.add(JWKSourceBuilder.<SecurityContext>create(rules.jwksUrl()).build());
        }
    }

    public Token verify(String token) throws InvalidToken {
        if (token == null || token.isBlank()) {
            throw new InvalidToken("Invalid JWT: no token given");
        }
        if (token.startsWith("sb_publishable_") || token.startsWith("sb_secret_")) {
            throw new InvalidToken("The token provided is not a valid JWT: " + token.substring(0, token.indexOf('_', 3) + 1)
                    + "… is a Supabase API key, which Supabase's API gateway exchanges for a JWT; "
                    + "send a JWT signed with this server's key (e.g. the anon key or a user's access token)");
        }
        JWT parsed;
        try {
            parsed = JWTParser.parse(token);
        } catch (ParseException e) {
            throw new InvalidToken("Invalid JWT: malformed token");
        }
        if (!(parsed instanceof SignedJWT jwt)) {
            throw new InvalidToken("Invalid JWT: unsigned tokens (alg none) are not accepted");
        }
        if (!signatureVerifies(jwt)) {
            throw new InvalidToken("Invalid JWT: signature does not verify with the configured keys");
        }
        JWTClaimsSet claims;
        try {
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new InvalidToken("Invalid JWT: the claims are not a JSON object");
        }
        return check(claims);
    }

    private boolean signatureVerifies(SignedJWT jwt) throws InvalidToken {
        JWSHeader header = jwt.getHeader();
        List<JWSVerifier> verifiers = verifiers(header);
        if (verifiers.isEmpty()) {
            String kid = header.getKeyID();
            throw new InvalidToken(kid == null
                    ? "Failed to generate JWT signer, check your JWT secret or JWKS configuration (no key for "
                            + header.getAlgorithm() + ")"
                    : "Failed to generate JWT signer for key ID (kid) \"" + kid + "\", check your JWT secret or JWKS configuration");
        }
        for (JWSVerifier v : verifiers) {
            try {
                if (jwt.verify(v)) {
                    return true;
                }
            } catch (JOSEException e) {
                // a key that cannot check this token: try the next one
            }
        }
        return false;
    }

    /** Verifiers for every configured key that may have signed a token with this header. */
    private List<JWSVerifier> verifiers(JWSHeader header) throws InvalidToken {
        JWSAlgorithm alg = header.getAlgorithm();
        String kid = header.getKeyID();
        List<JWSVerifier> out = new ArrayList<>();
        try {
            if (HMAC.contains(alg)) {
                List<JWK> byKid = kid == null ? List.of() : keys(new JWKMatcher.Builder().keyType(KeyType.OCT).keyID(kid));
                if (!byKid.isEmpty()) {
                    for (JWK k : byKid) {
                        addMac(out, ((OctetSequenceKey) k).toByteArray(), alg);
                    }
                } else {
                    for (String s : rules.secrets()) {
                        addMac(out, s.getBytes(StandardCharsets.UTF_8), alg);
                    }
                }
            } else if (RSA.contains(alg)) {
                for (JWK k : keys(matcher(KeyType.RSA, kid))) {
                    out.add(new RSASSAVerifier((RSAKey) k));
                }
            } else if (EC.contains(alg)) {
                for (JWK k : keys(matcher(KeyType.EC, kid).curves(Curve.forJWSAlgorithm(alg)))) {
                    out.add(new ECDSAVerifier((ECKey) k));
                }
            } else if (Ed25519Verification.ALGORITHMS.contains(alg)) {
                for (JWK k : keys(matcher(KeyType.OKP, kid).curve(Curve.Ed25519))) {
                    out.add(new Ed25519Verification(Ed25519Verification.publicKey((OctetKeyPair) k)));
                }
            }
        } catch (JOSEException | GeneralSecurityException e) {
            throw new InvalidToken("Invalid JWT: the key for this token cannot be used: " + e.getMessage());
        }
        return out;
    }

    private static JWKMatcher.Builder matcher(KeyType type, String kid) {
        JWKMatcher.Builder m = new JWKMatcher.Builder().keyType(type).keyUses(KeyUse.SIGNATURE, null);
        return kid == null ? m : m.keyID(kid);
    }

    private List<JWK> keys(JWKMatcher.Builder matcher) throws InvalidToken {
        List<JWK> out = new ArrayList<>();
        JWKSelector selector = new JWKSelector(matcher.build());
        for (JWKSource<SecurityContext> source : keySets) {
            try {
                out.addAll(source.get(selector, null));
            } catch (KeySourceException e) {
                throw new InvalidToken("Invalid JWT: the server could not fetch its JWK set (" + e.getMessage() + ")");
            }
        }
        return out;
    }

    /** Nimbus refuses an HMAC key shorter than the hash: such a key cannot have signed the token. */
    private static void addMac(List<JWSVerifier> out, byte[] secret, JWSAlgorithm alg) throws JOSEException {
        int needed = alg.equals(JWSAlgorithm.HS256) ? 32 : alg.equals(JWSAlgorithm.HS384) ? 48 : 64;
        if (secret.length >= needed) {
            out.add(new MACVerifier(secret));
        }
    }

    private Token check(JWTClaimsSet claims) throws InvalidToken {
        Instant now = Instant.now();
        Date exp = claims.getExpirationTime();
        if (exp != null && !exp.toInstant().isAfter(now)) {
            throw new InvalidToken("Invalid JWT: Token has expired");
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && nbf.toInstant().isAfter(now)) {
            throw new InvalidToken("Invalid JWT: the token is not valid before " + nbf.toInstant() + " (nbf)");
        }
        boolean noExp = exp == null && rules.requireExp();
        boolean noRole = claims.getClaim("role") == null && rules.requireRole();
        if (noExp || noRole) {
            throw new InvalidToken("Fields `role` and `exp` are required in JWT (this token has no "
                    + (noExp && noRole ? "`role` and no `exp`" : noExp ? "`exp`" : "`role`") + ")");
        }
        Map<String, Object> values = withoutNulls(claims.getClaims());
        for (var v : rules.claimValidators().entrySet()) {
            Object actual = values.get(v.getKey());
            if (actual == null) {
                throw new InvalidToken("Invalid JWT: claim `" + v.getKey() + "` is required and missing");
            }
            if (!Objects.equals(actual, v.getValue())) {
                throw new InvalidToken("Invalid JWT: claim `" + v.getKey() + "` does not have the required value");
            }
        }
        return new Token(Map.copyOf(values), exp == null ? null : exp.toInstant());
    }

    private static Map<String, Object> withoutNulls(Map<String, Object> claims) {
        Map<String, Object> m = new HashMap<>();
        claims.forEach((k, v) -> {
            if (v != null) {
                m.put(k, v instanceof Date d ? d.toInstant().getEpochSecond() : v);
            }
        });
        return m;
    }
}
