package dev.tidings.server.log;

import dev.tidings.event.ChangeEvent;

import java.time.Duration;
import java.util.concurrent.ConcurrentMap;

/**
 * A bounded, durable log of recent events, read by event id: what live consumers resume from.
 * {@code tidings serve} appends every streamed event before live clients get it; a group-commit
 * thread makes appends durable ({@link #sync}) and only then acknowledges their transactions, so
 * the slot is never confirmed past what the log holds.
 *
 * <p>Threads: one appending thread ({@link #append}), one syncing thread ({@link #sync},
 * {@link #trim}); {@link #readAfter} and the getters from any thread, concurrently with both.
 * An appended event is readable at once, before it is durable: a live client may see it before
 * the log has synced it, as it sees it before any sink confirmed it.
 *
 * <p>The single-node implementation is {@link MvStoreChangeLog}; edge nodes read the broker the
 * leader's sinks publish to behind the read side of the same calls ({@link LogReader}).
 */
public interface ChangeLog extends LogReader, AutoCloseable {

    /**
     * Appends one event. An event whose id is not after {@link #last()} is a redelivery (after a
     * restart or reconnect the slot sends again what was not confirmed) and is skipped.
     */
    void append(ChangeEvent event);

    /** Makes everything appended so far durable; returns the last durable id, or null when empty. */
    EventId sync();

    /**
     * Removes the oldest events beyond the retention, never {@code keepFrom} or a newer one (null:
     * no such limit; a durable consumer group's unacknowledged events); returns how many.
     */
    long trim(EventId keepFrom);

    /** The event with this id, or null when the log does not hold it. */
    ChangeEvent read(EventId id);

    /**
     * A map of its own stored in the log's file: written with the log and made durable by the
     * same {@link #sync} (consumer groups keep their definitions and positions there). Thread-safe.
     */
    ConcurrentMap<String, String> textMap(String name);

    /** As {@link #textMap}, from event ids to whole numbers. */
    ConcurrentMap<EventId, Integer> idMap(String name);

    /** Removes a map of {@link #textMap} or {@link #idMap}. */
    void removeMap(String name);

    /** Events and bytes retained, for metrics. */
    Size size();

    @Override
    void close();

    /**
     * @param maxAge   events older than this are removed
     * @param maxBytes the most bytes of records kept; the oldest go first
     */
    record Retention(Duration maxAge, long maxBytes) {
        public static final Retention DEFAULT = new Retention(Duration.ofHours(24), 1L << 30);
    }

    record Size(long events, long bytes) {}
}
