package dev.tidings.server.live;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** Counts of the live side, read by metrics and {@code /api/status}. Thread-safe. */
public final class LiveCounters {
    private final LongAdder websocketMessages = new LongAdder();
    private final LongAdder sseMessages = new LongAdder();
    private final AtomicInteger sseClients = new AtomicInteger();

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

    /** {@code frames} were handed to one WebSocket in one write. */
    public void websocketWritten(int frames) {
        websocketMessages.add(frames);
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
