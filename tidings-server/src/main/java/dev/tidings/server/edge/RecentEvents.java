package dev.tidings.server.edge;

import dev.tidings.event.ChangeEvent;
import dev.tidings.server.log.EventId;
import dev.tidings.server.log.LogReader;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The newest events an edge node consumed, by id, in memory: where almost every resume is served
 * from (a client that moved from another node a moment ago), without a round trip to the broker.
 * A skip list, not a ring, because ids are the order resumes ask in, and a sink's retry can store
 * an event in the broker after a newer one.
 *
 * <p>One adding thread (the consumer), readers from any thread.
 */
final class RecentEvents {
    private final ConcurrentSkipListMap<EventId, ChangeEvent> events = new ConcurrentSkipListMap<>();
    private final int capacity;
    private int size;

    RecentEvents(int capacity) {
        this.capacity = capacity;
    }

    /** Keeps the event; false when an event with its id is already kept (a redelivery). */
    boolean add(ChangeEvent event) {
        if (events.putIfAbsent(EventId.of(event), event) != null) {
            return false;
        }
        if (++size > capacity) {
            events.pollFirstEntry();
            size--;
        }
        return true;
    }

    /**
     * Up to {@code max} events after {@code after}, or null when this window cannot tell (empty,
     * or {@code after} is older than its oldest event: the broker must answer).
     */
    LogReader.Read readAfter(EventId after, int max) {
        Map.Entry<EventId, ChangeEvent> first = events.firstEntry();
        if (after == null || first == null || after.compareTo(first.getKey()) < 0) {
            return null;
        }
        List<ChangeEvent> found = new ArrayList<>(Math.min(max, 1024));
        for (ChangeEvent e : events.tailMap(after, false).values()) {
            if (found.size() >= max) {
                break;
            }
            found.add(e);
        }
        return new LogReader.Read.Events(found);
    }

    EventId last() {
        Map.Entry<EventId, ChangeEvent> e = events.lastEntry();
        return e == null ? null : e.getKey();
    }
}
