package dev.tidings.server.auth;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

/**
 * Who a client is and what it may see: the one place where a presented token becomes an
 * {@link Access} (verified token plus the policy's grant for its claims), for WebSocket
 * connections and joins, SSE streams and the protected operations endpoints alike.
 *
 * <p>Without a verifier (secure channels off) tokens are not looked at: every client is admitted
 * and gets the grant of no claims (role {@code anon}). Immutable, thread-safe.
 */
public final class Authenticator {
    private final TokenVerifier verifier;
    private final AccessPolicy policy;

    /** @param verifier checks tokens; null when channels are not secured */
    public Authenticator(TokenVerifier verifier, AccessPolicy policy) {
        this.verifier = verifier;
        this.policy = policy;
    }

    /** What one client may see: its verified token (null without secure channels) and the grant. */
    public record Access(TokenVerifier.Token token, AccessPolicy.Grant grant) {
        /** When the token expires, or null for never. */
        public Instant expiresAt() {
            return token == null ? null : token.expiresAt();
        }
    }

    /** The outcome of checking the token a client presents when it connects. */
    public record Admission(int status, String reason, Access access, String rawToken) {
        public boolean admitted() {
            return status == 0;
        }

        /** The body of the 401/403 answer, as Supabase Realtime shapes it: {@code {"error": reason}}. */
        public byte[] jsonBody() {
            return errorBody(reason);
        }
    }

    /** An HTTP error body: {@code {"error": message}}. */
    public static byte[] errorBody(String message) {
        return ("{\"error\":\"" + new String(JsonStringEncoder.getInstance().quoteAsString(message)) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Whether tokens are required (SECURE_CHANNELS). */
    public boolean secure() {
        return verifier != null;
    }

    /**
     * The access {@code rawToken} gives; without secure channels the grant of no claims, whatever
     * the token.
     *
     * @throws TokenVerifier.InvalidToken with a reason a client can act on
     */
    public Access authorize(String rawToken) throws TokenVerifier.InvalidToken {
        if (!secure()) {
            return new Access(null, policy.grant(Map.of()));
        }
        TokenVerifier.Token token = verifier.verify(rawToken);
        return new Access(token, policy.grant(token.claims()));
    }

    /**
     * Checks the connect-time token: the first of the {@code apikey} or {@code token} query
     * parameter, the {@code x-api-key} header or an {@code Authorization: Bearer} header. Without
     * secure channels every client is admitted and tokens are not looked at.
     */
    public Admission admit(String... candidates) {
        if (!secure()) {
            return new Admission(0, null, new Access(null, policy.grant(Map.of())), null);
        }
        String raw = null;
        for (String c : candidates) {
            if (c != null && !c.isBlank()) {
                raw = c.startsWith("Bearer ") ? c.substring(7).strip() : c;
                break;
            }
        }
        if (raw == null) {
            return new Admission(401, "no token: pass apikey=<JWT> in the URL or an x-api-key header", null, null);
        }
        try {
            return new Admission(0, null, authorize(raw), raw);
        } catch (TokenVerifier.InvalidToken e) {
            return new Admission(403, e.getMessage(), null, raw);
        }
    }
}
