package dev.tidings.server.edge;

import dev.tidings.event.ChangeEvent;
import dev.tidings.server.consumers.Groups;
import dev.tidings.server.log.EventId;
import dev.tidings.server.log.LogReader;

import java.util.function.Consumer;

/**
 * The broker an edge node reads: where the leader's sink publishes every event (a JetStream stream or a Kafka topic). The
 * broker's retention is the edge's log: {@link #readAfter} finds an event id by its position in
 * the broker (a binary search over stream sequences or offsets, the ids growing with them).
 *
 * <p>Threads: {@link #consume} calls its consumer on one thread of the client library;
 * {@link #readAfter} and the getters from any thread.
 */
interface Broker extends AutoCloseable {

    /**
     * Delivers every event from {@code recent} positions before the newest on, then each new one,
     * in broker order, to {@code events}; reconnects by itself and continues where it was.
     */
    void consume(int recent, Consumer<ChangeEvent> events) throws Exception;

    /** Like {@link LogReader#readAfter}, read from the broker. */
    LogReader.Read readAfter(EventId after, int max);

    /** The oldest event the broker retains, or null when it has none or cannot be asked. */
    EventId first();

    /** Consumer groups served from this broker's own machinery (JetStream consumers, Kafka share groups). */
    Groups groups();

    /** Whether the client is connected and consuming. */
    boolean connected();

    /** The position of the last consumed event as JSON members, e.g. {@code "stream":"T","sequence":12}. */
    String position();

    @Override
    void close();
}
