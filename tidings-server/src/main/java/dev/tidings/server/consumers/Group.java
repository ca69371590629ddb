package dev.tidings.server.consumers;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Row;
import dev.tidings.server.log.ChangeLog;
import dev.tidings.server.log.EventId;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Predicate;

/**
 * One consumer group: a cursor in the change log and the events read after it that are not
 * acknowledged yet ({@code pending}, at most {@code max_ack_pending}).
 *
 * <p>State of a pending event: {@code READY} (may be handed out), {@code OUT} (with a worker until
 * its visibility deadline), {@code DELAYED} (nacked with a delay), {@code HELD} (an older event of
 * the same row is pending: per-row order). The events of one row (table and key) wait in a queue
 * of their own, and only its head is ever READY or OUT, so no two workers have the same row at
 * once. Deadlines sit in a priority queue; an entry there whose stamp (delivery number) is stale
 * is skipped, so a redelivery or an acknowledgement needs no removal from it.
 *
 * <p>What survives a restart, in maps of the change log's file: the cursor, and per pending event
 * its delivery count ({@code consumer.pending.<name>}). Everything up to the cursor that is not
 * pending was acknowledged (or did not match). After a restart every pending event is READY again
 * (its worker's lease is gone with the process), and its next delivery counts on.
 *
 * <p>Thread-safety: every method holds the group's lock; none calls out while holding it.
 */
final class Group {
    /** Events scanned per call of {@link #fill}: bounds the time the lock is held. */
    private static final int SCAN = 10_000;
    private static final int PAGE = 500;

    private enum State { READY, OUT, DELAYED, HELD }

    private static final class Entry {
        final EventId id;
        final ChangeEvent event;
        final String row;
        int deliveries;
        State state;

        Entry(EventId id, ChangeEvent event, String row, int deliveries) {
            this.id = id;
            this.event = event;
            this.row = row;
            this.deliveries = deliveries;
        }
    }

    private record Deadline(long nanos, Entry entry, int deliveries, State state) {}

    final GroupSpec spec;
    private final Predicate<ChangeEvent> selection;
    private final ConcurrentMap<EventId, Integer> stored;
    private final ConcurrentMap<String, String> cursors;
    private final TreeMap<EventId, Entry> pending = new TreeMap<>();
    private final Map<String, ArrayDeque<Entry>> rows = new HashMap<>();
    private final TreeSet<Entry> ready = new TreeSet<>(Comparator.comparing((Entry e) -> e.id));
    private final PriorityQueue<Deadline> deadlines = new PriorityQueue<>(Comparator.comparingLong(Deadline::nanos));
    private EventId cursor;
    /** Set when the log no longer holds what follows the cursor: the oldest it holds (null: empty). */
    private ChangeLog.Read.Expired behind;
    private int out;
    private long acked;

    Group(GroupSpec spec, EventId cursor, ConcurrentMap<EventId, Integer> stored, ConcurrentMap<String, String> cursors) {
        this.spec = spec;
        this.selection = spec.selection();
        this.cursor = cursor;
        this.stored = stored;
        this.cursors = cursors;
    }

    /** After a restart: the pending events back from the log (those it no longer holds are dropped). */
    synchronized void restore(ChangeLog log) {
        for (Map.Entry<EventId, Integer> e : new TreeMap<>(stored).entrySet()) {
            ChangeEvent event = log.read(e.getKey());
            if (event == null) {
                stored.remove(e.getKey());
            } else {
                admit(new Entry(e.getKey(), event, rowOf(event), e.getValue()));
            }
        }
    }

    /** Reads from the log after the cursor until {@code max_ack_pending} are pending; true when anything became READY. */
    synchronized boolean fill(ChangeLog log) {
        if (behind != null) {
            return false;
        }
        EventId start = cursor;
        int before = ready.size();
        int scanned = 0;
        while (pending.size() < spec.maxAckPending() && scanned < SCAN) {
            int room = spec.maxAckPending() - pending.size();
            ChangeLog.Read read = log.readAfter(cursor, Math.min(PAGE, room));
            if (read instanceof ChangeLog.Read.Expired expired) {
                behind = expired;
                break;
            }
            List<ChangeEvent> events = ((ChangeLog.Read.Events) read).events();
            for (ChangeEvent event : events) {
                EventId id = EventId.of(event);
                cursor = id;
                if (selection.test(event) && !pending.containsKey(id)) {
                    stored.put(id, 0);
                    admit(new Entry(id, event, rowOf(event), 0));
                }
            }
            scanned += events.size();
            if (events.size() < Math.min(PAGE, room)) {
                break;
            }
        }
        if (cursor != null && !cursor.equals(start)) {
            cursors.put(spec.name(), cursor.toString());
        }
        return ready.size() > before;
    }

    private void admit(Entry e) {
        pending.put(e.id, e);
        if (e.row != null) {
            ArrayDeque<Entry> queue = rows.computeIfAbsent(e.row, r -> new ArrayDeque<>(2));
            queue.add(e);
            if (queue.size() > 1) {
                e.state = State.HELD;
                return;
            }
        }
        e.state = State.READY;
        ready.add(e);
    }

    /** Up to {@code max} READY events, oldest first, each now OUT until its visibility deadline. */
    synchronized List<Delivery> take(int max, long now) {
        List<Delivery> taken = new ArrayList<>(Math.min(max, ready.size()));
        long deadline = now + spec.visibilityTimeout().toNanos();
        while (taken.size() < max && !ready.isEmpty()) {
            Entry e = ready.pollFirst();
            e.state = State.OUT;
            e.deliveries++;
            out++;
            stored.put(e.id, e.deliveries);
            deadlines.add(new Deadline(deadline, e, e.deliveries, State.OUT));
            taken.add(new Delivery(new AckId(e.id, e.deliveries).toString(), e.deliveries, e.event));
        }
        return taken;
    }

    /** Whether events are READY. */
    synchronized boolean hasReady() {
        return !ready.isEmpty();
    }

    /** The event an ack id names while it is OUT with that delivery, else null (unknown, acknowledged, or handed out again). */
    private Entry handedOut(AckId a) {
        Entry e = pending.get(a.event());
        return e != null && e.state == State.OUT && e.deliveries == a.delivery() ? e : null;
    }

    /** The ack ids that are not OUT with that delivery (unknown, acknowledged already, or expired and handed out again). */
    synchronized List<String> ack(List<AckId> ids) {
        List<String> refused = new ArrayList<>();
        for (AckId a : ids) {
            Entry e = handedOut(a);
            if (e == null) {
                refused.add(a.toString());
                continue;
            }
            pending.remove(e.id);
            stored.remove(e.id);
            out--;
            acked++;
            if (e.row != null) {
                ArrayDeque<Entry> queue = rows.get(e.row);
                queue.poll(); // e was its head: only heads are handed out
                Entry next = queue.peek();
                if (next == null) {
                    rows.remove(e.row);
                } else {
                    next.state = State.READY;
                    ready.add(next);
                }
            }
        }
        return refused;
    }

    /** Hands OUT events back: at once, or after {@code delayNanos}; returns the ack ids refused as {@link #ack} does. */
    synchronized List<String> nack(List<AckId> ids, long delayNanos, long now) {
        List<String> refused = new ArrayList<>();
        for (AckId a : ids) {
            Entry e = handedOut(a);
            if (e == null) {
                refused.add(a.toString());
                continue;
            }
            out--;
            if (delayNanos <= 0) {
                e.state = State.READY;
                ready.add(e);
            } else {
                e.state = State.DELAYED;
                deadlines.add(new Deadline(now + delayNanos, e, e.deliveries, State.DELAYED));
            }
        }
        return refused;
    }

    /** OUT events past their visibility deadline and DELAYED ones past their delay become READY; true when any did. */
    synchronized boolean expire(long now) {
        boolean any = false;
        while (!deadlines.isEmpty() && deadlines.peek().nanos() - now <= 0) {
            Deadline d = deadlines.poll();
            Entry e = d.entry();
            if (e.state == d.state() && e.deliveries == d.deliveries() && pending.get(e.id) == e) {
                if (e.state == State.OUT) {
                    out--;
                }
                e.state = State.READY;
                ready.add(e);
                any = true;
            }
        }
        return any;
    }

    /** True when the group is done with every event up to {@code through}: read, and acknowledged or not matching. */
    synchronized boolean doneThrough(EventId through) {
        if (!pending.isEmpty()) {
            return pending.firstKey().isAfter(through);
        }
        return cursor != null && !through.isAfter(cursor);
    }

    /** The oldest id the log must keep for this group: its oldest pending event, else its cursor (null: from the oldest). */
    synchronized EventId keepFrom() {
        return pending.isEmpty() ? cursor : pending.firstKey();
    }

    /** The oldest id the log holds when it no longer holds what follows the cursor; null when reading goes on. */
    synchronized ChangeLog.Read.Expired behind() {
        return behind;
    }

    /** Moves the cursor to {@code to} (null: the oldest retained) after the group fell behind the retention, or on request. */
    synchronized void reset(EventId to) {
        behind = null;
        cursor = to;
        cursors.put(spec.name(), to == null ? "" : to.toString());
    }

    synchronized GroupStatus status(long nowMillis) {
        long lagMillis = 0;
        if (!pending.isEmpty()) {
            var commit = pending.firstEntry().getValue().event.tx().commitTime();
            lagMillis = commit == null ? 0 : Math.max(0, nowMillis - commit.toEpochMilli());
        }
        return new GroupStatus(spec, pending.size(), out, acked, cursor, behind != null, lagMillis / 1000.0);
    }

    /** Table and key of the event's row; null when it has none (messages, truncates, tables without a key). */
    private static String rowOf(ChangeEvent event) {
        Row key = event.key();
        if (key == null || event.record() == null && event.oldRecord() == null) {
            return null;
        }
        StringBuilder b = new StringBuilder(event.schema()).append('.').append(event.table());
        for (int i = 0; i < key.size(); i++) {
            b.append('\u0000').append(key.json(i));
        }
        return b.toString();
    }
}
