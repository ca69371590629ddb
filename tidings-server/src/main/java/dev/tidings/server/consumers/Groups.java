package dev.tidings.server.consumers;

import dev.tidings.event.EventFormat;
import dev.tidings.server.log.EventId;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Consumer groups as {@code /api/consumers} serves them (docs/consumers.md): on the leader over
 * the change log ({@link ConsumerGroups}), on an edge node over the JetStream stream it reads
 * (durable pull consumers, {@code dev.tidings.server.edge.JetStreamGroups}).
 */
public interface Groups {

    /** What {@link #receive} answers. */
    sealed interface Receipt {
        /** Events (possibly none: the wait ended), in the group's format. */
        record Events(List<Delivery> deliveries, EventFormat format) implements Receipt {}

        /** What follows the group's position is no longer retained; {@code oldest}: the oldest event held, or null. */
        record Reset(EventId oldest) implements Receipt {}
    }

    /** What {@link #ack} and {@link #nack} answer: how many were taken and the ids refused (unknown or expired). */
    record Answer(int done, List<String> refused) {}

    /** A request for a group that does not exist. */
    final class UnknownGroup extends RuntimeException {
        public UnknownGroup(String name) {
            super("no consumer group " + name + "; create it with POST /api/consumers {\"name\": \"" + name + "\", …}");
        }
    }

    /** The engine that holds the groups did not answer (an edge's JetStream): try again later. */
    final class Unavailable extends RuntimeException {
        public Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Creates a group reading from now on ({@code fromOldest}: from the oldest event retained).
     * An existing group of the same definition is left as it is.
     *
     * @return true when created
     * @throws IllegalStateException    when a group of that name exists with another definition
     * @throws IllegalArgumentException when this server cannot serve such a group (what to change is in the message)
     */
    boolean create(GroupSpec spec, boolean fromOldest);

    /** Deletes a group and its state. */
    void delete(String name);

    List<GroupStatus> list();

    GroupStatus status(String name);

    /** Up to {@code max} events, each now with the caller until the visibility timeout; waits up to {@code wait} for some. */
    CompletableFuture<Receipt> receive(String name, int max, Duration wait);

    /** Acknowledges; the answer completes once the acknowledgements are durable. */
    CompletableFuture<Answer> ack(String name, List<String> ackIds);

    /** Hands events back to the group: again at once, or after {@code delay}. */
    Answer nack(String name, List<String> ackIds, Duration delay);

    /** Moves a group to the oldest event retained, or ({@code latest}) to the newest. */
    void reset(String name, boolean latest);
}
