package dev.tidings.server.broadcast;

/**
 * Counts against a limit per fixed window of time: {@link #take} succeeds while the window's total
 * stays within the limit. A limit of 0 never refuses. Thread-safe.
 */
final class RateWindow {
    private final long limit;
    private final long windowNanos;
    private long windowStart = System.nanoTime();
    private long used;

    RateWindow(long limit, long windowMillis) {
        this.limit = limit;
        this.windowNanos = windowMillis * 1_000_000L;
    }

    /** Counts {@code n}; false (and nothing counted) when that would exceed the limit in this window. */
    synchronized boolean take(long n) {
        if (limit <= 0) {
            return true;
        }
        long now = System.nanoTime();
        if (now - windowStart >= windowNanos) {
            windowStart = now;
            used = 0;
        }
        if (used + n > limit) {
            return false;
        }
        used += n;
        return true;
    }
}
