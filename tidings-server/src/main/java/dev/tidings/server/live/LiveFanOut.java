package dev.tidings.server.live;

import dev.tidings.base.TableFilter;
import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The live fan-out: hands each committed change to the live subscribers (WebSocket channels, SSE
 * streams) that asked for its table. (The durable fan-out to sinks is the core's
 * {@code SinkFanOut}; {@code ServeDelivery} feeds both.)
 *
 * <p>Design. Runs on the replication stream's delivery thread and never blocks it: subscribers
 * only enqueue into their own bounded {@link Outbox}. Subscriptions are indexed by table, by
 * schema and "everything", so a change costs a look-up plus the subscribers that asked for its
 * table — unrelated subscribers cost nothing. Each subscriber registers under the parts of its
 * {@link TableFilter}, which do not overlap (a channel with a schema-wide binding is not also
 * listed under that schema's tables), so it sees each change once. An event is serialized at most once per format
 * ({@link EventBytes}), lazily, and the same bytes go to every subscriber.
 *
 * <p>This consumer is live, not durable: returning from {@link #publish} acknowledges, whether or
 * not any socket wrote the change out. Registration is thread-safe (copy-on-write lists: joins are
 * rare, changes are many).
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

    private final Map<TableName, List<Subscriber>> byTable = new ConcurrentHashMap<>();
    private final Map<String, List<Subscriber>> bySchema = new ConcurrentHashMap<>();
    private final List<Subscriber> everything = new CopyOnWriteArrayList<>();

    /** Registers {@code subscriber} for the changes of {@code tables}, each change once. */
    public void subscribe(Subscriber subscriber, TableFilter tables) {
        for (List<Subscriber> list : lists(tables)) {
            list.add(subscriber);
        }
    }

    public void unsubscribe(Subscriber subscriber, TableFilter tables) {
        for (List<Subscriber> list : lists(tables)) {
            list.remove(subscriber);
        }
    }

    /** The lists a subscriber to {@code tables} is in: disjoint, as {@link TableFilter} is normalized. */
    private List<List<Subscriber>> lists(TableFilter tables) {
        if (tables.all()) {
            return List.of(everything);
        }
        List<List<Subscriber>> lists = new ArrayList<>();
        for (String schema : tables.schemas()) {
            lists.add(bySchema.computeIfAbsent(schema, k -> new CopyOnWriteArrayList<>()));
        }
        for (TableName table : tables.tables()) {
            lists.add(byTable.computeIfAbsent(table, k -> new CopyOnWriteArrayList<>()));
        }
        return lists;
    }

    /** Hands {@code event} to the subscribers of its table; on the stream's delivery thread, never blocks. */
    public void publish(ChangeEvent event) {
        List<Subscriber> table = byTable.get(event.tableName());
        List<Subscriber> schema = bySchema.get(event.schema());
        if (everything.isEmpty() && (table == null || table.isEmpty()) && (schema == null || schema.isEmpty())) {
            return;
        }
        EventBytes bytes = new EventBytes(event);
        deliver(everything, event, bytes);
        if (schema != null) {
            deliver(schema, event, bytes);
        }
        if (table != null) {
            deliver(table, event, bytes);
        }
    }

    private static void deliver(List<Subscriber> subscribers, ChangeEvent event, EventBytes bytes) {
        for (Subscriber s : subscribers) {
            try {
                s.deliver(event, bytes);
            } catch (RuntimeException e) {
                log.warn("subscriber {} failed on event {}; it is skipped", s, event.id(), e);
            }
        }
    }

    /** Tells every subscriber that the stream ended. */
    public void streamEnded(String reason) {
        Set<Subscriber> all = Collections.newSetFromMap(new IdentityHashMap<>());
        all.addAll(everything);
        bySchema.values().forEach(all::addAll);
        byTable.values().forEach(all::addAll);
        for (Subscriber s : all) {
            s.streamEnded(reason);
        }
    }

    /** How many subscriptions are registered (for tests and health). */
    public int size() {
        int n = everything.size();
        for (List<Subscriber> l : bySchema.values()) {
            n += l.size();
        }
        for (List<Subscriber> l : byTable.values()) {
            n += l.size();
        }
        return n;
    }
}
