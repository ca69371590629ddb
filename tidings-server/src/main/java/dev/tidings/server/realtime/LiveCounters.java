package dev.tidings.server.realtime;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** Counts of the live side, read by metrics and {@code /api/status}. Thread-safe. */
public final class LiveCounters {
    final LongAdder websocketMessages = new LongAdder();
    final LongAdder sseMessages = new LongAdder();
    final AtomicInteger sseClients = new AtomicInteger();

    /** Frames written to WebSocket clients (changes, replies, heartbeats, system messages). */
    public long websocketMessages() {
        return websocketMessages.sum();
    }

    /** Change events written to SSE streams. */
    public long sseMessages() {
        return sseMessages.sum();
    }

    /** Open SSE streams. */
    public int sseClients() {
        return sseClients.get();
    }

    public void sseOpened() {
        sseClients.incrementAndGet();
    }

    public void sseClosed() {
        sseClients.decrementAndGet();
    }

    public void sseMessage() {
        sseMessages.increment();
    }
}
