package dev.tidings.server.live;

import java.util.concurrent.ScheduledExecutorService;

/**
 * What every live connection of one server shares, WebSocket and SSE alike: the live fan-out, the
 * stream's liveness, the writer of the connections' queues, timers, the send-queue limits and the
 * counters. Immutable; every part is thread-safe.
 *
 * @param fanOut          where subscriptions are registered
 * @param liveness        whether the replication stream is live, for "subscribed" confirmations
 * @param writer          writes what connections have queued
 * @param timers          for token expiry, slow-client aborts, keepalives
 * @param sendQueueBytes  the most bytes one connection may have waiting to be sent
 * @param sendQueueFrames the most messages one connection may have waiting to be sent
 * @param counters        clients and messages, for metrics
 */
public record LiveService(LiveFanOut fanOut, StreamLiveness liveness, OutboxWriter writer,
                          ScheduledExecutorService timers, long sendQueueBytes, int sendQueueFrames,
                          LiveCounters counters) {

    /** The bounded send queue of a new connection writing to {@code transport}. */
    public Outbox outbox(Outbox.Transport transport) {
        return new Outbox(transport, sendQueueBytes, sendQueueFrames, writer, timers);
    }
}
