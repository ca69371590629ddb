package dev.tidings.server.realtime;

import dev.tidings.server.broadcast.BroadcastService;

import java.util.concurrent.ScheduledExecutorService;

/**
 * What every Realtime connection and SSE stream of one server shares: the fan-out, the token
 * verifier and access policy, the catalog for checking filters, timers, and the limits.
 *
 * @param fanOut          where subscriptions are registered
 * @param verifier        checks tokens; null when channels are not secured
 * @param policy          roles → tables, row policies
 * @param catalog         column types for checking filters at join; null to skip the checks
 * @param writer          writes what connections have queued
 * @param timers          for token expiry, slow-client aborts, keepalives
 * @param sendQueueBytes  the most bytes one connection may have waiting to be sent
 * @param sendQueueFrames the most messages one connection may have waiting to be sent
 * @param counters        clients and messages, for metrics
 * @param broadcasts      Broadcast and Presence, and the limits of clients
 */
public record RealtimeService(FanOut fanOut, TokenVerifier verifier, AccessPolicy policy, TableCatalog catalog,
                              OutboxWriter writer, ScheduledExecutorService timers, long sendQueueBytes, int sendQueueFrames,
                              LiveCounters counters, BroadcastService broadcasts) {

    /** Whether tokens are required (SECURE_CHANNELS). */
    public boolean secure() {
        return verifier != null;
    }

    /** The outcome of checking the token a client presents when it connects. */
    public record Admission(int status, String reason, TokenVerifier.Token token, String rawToken) {
        public boolean admitted() {
            return status == 0;
        }
    }

    /**
     * Checks the connect-time token: the first of the {@code apikey} or {@code token} query
     * parameter, the {@code x-api-key} header or an {@code Authorization: Bearer} header. Without
     * secure channels every client is admitted and tokens are not looked at.
     */
    public Admission admit(String... candidates) {
        if (!secure()) {
            return new Admission(0, null, null, null);
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
            return new Admission(0, null, verifier.verify(raw), raw);
        } catch (TokenVerifier.InvalidToken e) {
            return new Admission(403, e.getMessage(), null, raw);
        }
    }
}
