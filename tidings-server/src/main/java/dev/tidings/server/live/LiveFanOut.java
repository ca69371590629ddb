package dev.tidings.server.live;

import dev.tidings.base.TableFilter;
import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.event.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The live fan-out: hands each committed change to the live subscribers (WebSocket channels, SSE
 * streams) that asked for its table. (The durable fan-out to sinks is the core's
 * {@code SinkFanOut}; {@code ServeDelivery} feeds both.)
 *
 * <p>Design. Runs on the replication stream's delivery thread and never blocks it: subscribers
 * only enqueue into their own bounded {@link Outbox}. Subscriptions are kept per table, per
 * schema and for "everything" ({@link Audience}), and within each by the values their row filters
 * ask for ({@code id=eq.5} is listed under {@code id} = 5), so a change costs a few look-ups plus
 * the subscribers that may match it — not a test per subscriber of its table. A subscriber may be
 * reached along several ways (two bindings, a table and its schema); a stamp per publish hands it
 * each change once. An event is serialized at most once per format ({@link EventBytes}), lazily,
 * and the same bytes go to every subscriber.
 *
 * <p>This consumer is live, not durable: returning from {@link #publish} acknowledges, whether or
 * not any socket wrote the change out. Registration is thread-safe (copy-on-write lists and
 * arrays: joins are rare, changes are many).
 */
public final class LiveFanOut {
    private static final Logger log = LoggerFactory.getLogger(LiveFanOut.class);

    /** Receives changes on the fan-out thread; must not block. */
    public interface Subscriber {
        void deliver(ChangeEvent event, EventBytes bytes);

        /** The replication stream ended and will not come back in this process. */
        default void streamEnded(String reason) {}
    }

    /** An event's serializations, made on first use and shared by every subscriber. */
    public static final class EventBytes {
        private final ChangeEvent event;
        private final List<EventFormat> formats = new ArrayList<>(2);
        private final List<byte[]> bytes = new ArrayList<>(2);
        private final List<Object> frameKeys = new ArrayList<>(2);
        private final List<byte[]> frames = new ArrayList<>(2);

        EventBytes(ChangeEvent event) {
            this.event = event;
        }

        /** The event in {@code format}; check {@code format.supports(op)} first. */
        public byte[] in(EventFormat format) {
            for (int i = 0; i < formats.size(); i++) {
                if (formats.get(i) == format) {
                    return bytes.get(i);
                }
            }
            byte[] b = format.toBytes(event);
            formats.add(format);
            bytes.add(b);
            return b;
        }

        /**
         * The frame made of this event for {@code key} by an earlier subscriber, or null: channels
         * on the same topic with the same bindings get byte-identical frames, so it is encoded
         * once per distinct key ({@link #keep}) and shared.
         */
        public byte[] frame(Object key) {
            for (int i = 0; i < frameKeys.size(); i++) {
                Object k = frameKeys.get(i);
                if (k == key || k.equals(key)) {
                    return frames.get(i);
                }
            }
            return null;
        }

        /**
         * Remembers the frame encoded for {@code key} and returns it. Only the first few keys are
         * kept: beyond that, each subscriber encodes its own, as without this.
         */
        public byte[] keep(Object key, byte[] frame) {
            if (frameKeys.size() < 8) {
                frameKeys.add(key);
                frames.add(frame);
            }
            return frame;
        }
    }

    /**
     * What a subscriber asks for: the changes of {@code tables} whose rows may pass {@code rows}.
     * The fan-out uses the filter to narrow who is reached; the subscriber still decides.
     */
    public record Interest(TableFilter tables, Filter rows) {}

    /** A subscriber as the audiences list it; {@code reached} is the last publish that reached it (fan-out thread only). */
    static final class Entry {
        final Subscriber subscriber;
        long reached;

        Entry(Subscriber subscriber) {
            this.subscriber = subscriber;
        }
    }

    private record Registration(Entry entry, List<Interest> interests) {}

    private final Map<TableName, Audience> byTable = new ConcurrentHashMap<>();
    private final Map<String, Audience> bySchema = new ConcurrentHashMap<>();
    private final Audience everything = new Audience();
    private final Map<Subscriber, Registration> registrations = new ConcurrentHashMap<>();
    /** Counts publishes; only the fan-out thread touches it. */
    private long published;

    /** Registers {@code subscriber} for every change of {@code tables}. */
    public void subscribe(Subscriber subscriber, TableFilter tables) {
        subscribe(subscriber, List.of(new Interest(tables, Filter.NONE)));
    }

    /**
     * Registers {@code subscriber} for the changes its {@code interests} may want; it gets each
     * change once, however many interests lead to it.
     *
     * @throws IllegalStateException when it is subscribed already
     */
    public void subscribe(Subscriber subscriber, List<Interest> interests) {
        Registration r = new Registration(new Entry(subscriber), List.copyOf(interests));
        if (registrations.putIfAbsent(subscriber, r) != null) {
            throw new IllegalStateException(subscriber + " is subscribed already; unsubscribe it first");
        }
        for (Interest i : r.interests()) {
            for (Audience a : audiences(i.tables())) {
                a.add(r.entry(), i.rows());
            }
        }
    }

    /** Ends {@code subscriber}'s subscription; nothing happens when it has none. */
    public void unsubscribe(Subscriber subscriber) {
        Registration r = registrations.remove(subscriber);
        if (r == null) {
            return;
        }
        for (Interest i : r.interests()) {
            for (Audience a : audiences(i.tables())) {
                a.remove(r.entry(), i.rows());
            }
        }
    }

    private List<Audience> audiences(TableFilter tables) {
        if (tables.all()) {
            return List.of(everything);
        }
        List<Audience> audiences = new ArrayList<>();
        for (String schema : tables.schemas()) {
            audiences.add(bySchema.computeIfAbsent(schema, k -> new Audience()));
        }
        for (TableName table : tables.tables()) {
            audiences.add(byTable.computeIfAbsent(table, k -> new Audience()));
        }
        return audiences;
    }

    /** Hands {@code event} to the subscribers that may want it; on the stream's delivery thread, never blocks. */
    public void publish(ChangeEvent event) {
        Audience table = byTable.get(event.tableName());
        Audience schema = bySchema.get(event.schema());
        if (everything.isEmpty() && (table == null || table.isEmpty()) && (schema == null || schema.isEmpty())) {
            return;
        }
        EventBytes bytes = new EventBytes(event);
        long stamp = ++published;
        Row row = Filter.rowOf(event);
        Consumer<Entry> visit = e -> {
            if (e.reached != stamp) {
                e.reached = stamp;
                deliver(e.subscriber, event, bytes);
            }
        };
        everything.reach(event, row, visit);
        if (schema != null) {
            schema.reach(event, row, visit);
        }
        if (table != null) {
            table.reach(event, row, visit);
        }
    }

    private static void deliver(Subscriber s, ChangeEvent event, EventBytes bytes) {
        try {
            s.deliver(event, bytes);
        } catch (RuntimeException e) {
            log.warn("subscriber {} failed on event {}; it is skipped", s, event.id(), e);
        }
    }

    /** Tells every subscriber that the stream ended. */
    public void streamEnded(String reason) {
        for (Subscriber s : registrations.keySet()) {
            s.streamEnded(reason);
        }
    }

    /** How many subscribers are registered (for tests and health). */
    public int size() {
        return registrations.size();
    }
}
