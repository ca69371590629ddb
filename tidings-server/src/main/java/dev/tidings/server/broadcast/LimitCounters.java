package dev.tidings.server.broadcast;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** How often each limit refused something, by the limit's setting name (for {@code /metrics}). Thread-safe. */
public final class LimitCounters {
    private final Map<String, LongAdder> hits = new ConcurrentHashMap<>();

    void hit(String limit) {
        hits.computeIfAbsent(limit, k -> new LongAdder()).increment();
    }

    public long hits(String limit) {
        LongAdder a = hits.get(limit);
        return a == null ? 0 : a.sum();
    }
}
