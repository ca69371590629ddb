package dev.tidings.server.log;

import dev.tidings.event.ChangeEvent;

import java.util.List;

/**
 * The read side of a log of recent events, by event id: what live consumers (SSE's
 * {@code Last-Event-ID}, Realtime's {@code resume_from}) resume from. The leader's
 * {@link ChangeLog} is one; an edge node reads the same ids from its broker (a JetStream stream,
 * a Kafka topic), so a client resumes on any node with the id it last got from any other.
 *
 * <p>Thread-safe: every method from any thread.
 */
public interface LogReader {

    /**
     * Up to {@code max} events after {@code after}, oldest first ({@code after} null: from the
     * oldest retained); {@link Read.Expired} when events after {@code after} were already removed
     * or were never logged.
     */
    Read readAfter(EventId after, int max);

    /** The newest id, or null when empty. */
    EventId last();

    /** The oldest retained id, or null when empty. */
    EventId first();

    /** What {@link #readAfter} found. */
    sealed interface Read {
        /** The events after the id (empty: nothing newer yet). */
        record Events(List<ChangeEvent> events) implements Read {}

        /** Events after the id are gone (retention) or were never logged: the reader must start over. {@code oldest}: null when the log is empty. */
        record Expired(EventId oldest) implements Read {}
    }
}
