package dev.tidings.server.live;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.Row;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The live subscriptions of one scope of the {@link LiveFanOut} (a table, a schema, or every
 * table), arranged so that a change reaches the subscriptions that may match it and no others.
 *
 * <p>Design. A subscription whose row filter has an indexable condition (a plain {@code eq} or
 * {@code in} decided in process, see {@link Filter#indexKeys}) is listed under that column, the
 * way the row value is read, and each literal's key: a change looks up its own row value per
 * indexed column and reading — a hash look-up, whatever the number of subscriptions. Every other
 * subscription (no filter, or only {@code neq}, ranges, patterns, {@code not.}, conditions decided
 * by PostgreSQL) is in the scanned list and sees every change. The index only narrows: it never
 * drops a subscription whose filter matches, and the subscriber still tests its whole filter, so
 * what is delivered is exactly what a scan of every subscription would deliver.
 *
 * <p>Thread-safety: {@link #add}/{@link #remove} run on connection threads, {@link #reach} on the
 * fan-out thread. The lists under a key are immutable arrays replaced whole inside
 * {@link ConcurrentHashMap#compute}, so a change sees each list before or after a join, never half.
 */
final class Audience {
    /** column → reading → key → subscriptions. */
    private final Map<String, Map<Filter.Reading, Map<Object, LiveFanOut.Entry[]>>> indexed = new ConcurrentHashMap<>();
    private final List<LiveFanOut.Entry> scanned = new CopyOnWriteArrayList<>();
    private final AtomicInteger size = new AtomicInteger();

    void add(LiveFanOut.Entry entry, Filter rows) {
        size.incrementAndGet();
        List<Filter.IndexKeys> index = rows.indexKeys();
        if (index == null) {
            scanned.add(entry);
            return;
        }
        for (Filter.IndexKeys k : index) {
            Map<Object, LiveFanOut.Entry[]> byKey = indexed.computeIfAbsent(k.column(), c -> new ConcurrentHashMap<>())
                    .computeIfAbsent(k.reading(), r -> new ConcurrentHashMap<>());
            for (Object key : k.keys()) {
                byKey.compute(key, (x, entries) -> with(entries, entry));
            }
        }
    }

    void remove(LiveFanOut.Entry entry, Filter rows) {
        size.decrementAndGet();
        List<Filter.IndexKeys> index = rows.indexKeys();
        if (index == null) {
            scanned.remove(entry);
            return;
        }
        for (Filter.IndexKeys k : index) {
            Map<Object, LiveFanOut.Entry[]> byKey = indexed.getOrDefault(k.column(), Map.of()).get(k.reading());
            if (byKey != null) {
                for (Object key : k.keys()) {
                    byKey.computeIfPresent(key, (x, entries) -> without(entries, entry));
                }
            }
        }
    }

    boolean isEmpty() {
        return size.get() == 0;
    }

    /** Hands {@code visit} every subscription that may match {@code event}, whose filter row is {@code row}. */
    void reach(ChangeEvent event, Row row, Consumer<LiveFanOut.Entry> visit) {
        for (LiveFanOut.Entry e : scanned) {
            visit.accept(e);
        }
        if (row == null || indexed.isEmpty()) {
            return;
        }
        List<Column> columns = event.columns();
        for (var column : indexed.entrySet()) {
            int index = Filter.indexOf(columns, column.getKey());
            String json = index < 0 ? null : row.json(index);
            if (json == null || json.equals("null")) {
                continue; // absent or NULL: eq and in are unknown, no match
            }
            TypedValue.Kind changeType = TypedValue.kind(columns.get(index).type());
            for (var reading : column.getValue().entrySet()) {
                Filter.Reading r = reading.getKey();
                if (r.ofChangeType() && r.kind() != changeType || reading.getValue().isEmpty()) {
                    continue;
                }
                Object key = r.key(json);
                LiveFanOut.Entry[] entries = key == null ? null : reading.getValue().get(key);
                if (entries != null) {
                    for (LiveFanOut.Entry e : entries) {
                        visit.accept(e);
                    }
                }
            }
        }
    }

    private static LiveFanOut.Entry[] with(LiveFanOut.Entry[] entries, LiveFanOut.Entry entry) {
        if (entries == null) {
            return new LiveFanOut.Entry[] {entry};
        }
        LiveFanOut.Entry[] out = Arrays.copyOf(entries, entries.length + 1);
        out[entries.length] = entry;
        return out;
    }

    /** {@code entries} without one occurrence of {@code entry}; null (the key goes) when none is left. */
    private static LiveFanOut.Entry[] without(LiveFanOut.Entry[] entries, LiveFanOut.Entry entry) {
        for (int i = 0; i < entries.length; i++) {
            if (entries[i] == entry) {
                if (entries.length == 1) {
                    return null;
                }
                LiveFanOut.Entry[] out = new LiveFanOut.Entry[entries.length - 1];
                System.arraycopy(entries, 0, out, 0, i);
                System.arraycopy(entries, i + 1, out, i, entries.length - i - 1);
                return out;
            }
        }
        return entries;
    }
}
