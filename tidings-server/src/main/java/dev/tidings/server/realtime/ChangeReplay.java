package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.event.ChangeEvent;
import dev.tidings.server.log.LogReader;
import dev.tidings.server.log.EventId;

import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Resume of a {@code postgres_changes} channel: a join whose
 * {@code config.postgres_changes_options.resume_from} is an event id first gets what the change log
 * holds after that id and its bindings match (with its grant, as live changes), then live changes,
 * with no gap and no duplicate.
 *
 * <p>The hand-over, as the SSE resume's: the channel subscribes holding live delivery
 * ({@link Channel#holdLive}), so it ignores live changes while pages of the log are sent on a
 * virtual thread (each change is appended to the log before it is published, so every ignored one
 * is in the log); the last page is read and sent while holding the channel's hand-over lock, which
 * live delivery takes too, and from then on live changes after the last replayed id are sent. A page
 * waits while the connection's send queue is half full, so a long resume does not overflow it.
 *
 * <p>An id the log no longer holds (retention), or any id on a server without a log, gets a
 * {@code system} message with status {@code reset} ({@link SystemMessages#resumeReset}): the client
 * must refetch; its {@code id} is where the channel goes on from.
 */
final class ChangeReplay {
    private static final int PAGE = 500;

    private ChangeReplay() {}

    /**
     * The resume position of a join's {@code config}, or null when it has none.
     *
     * @throws IllegalArgumentException with how to write one, when it is not an event id
     */
    static EventId position(JsonNode config) {
        JsonNode from = config == null ? null : config.path("postgres_changes_options").get("resume_from");
        if (from == null || from.isNull() || from.isMissingNode()) {
            return null;
        }
        if (!from.isTextual()) {
            throw new IllegalArgumentException("config.postgres_changes_options.resume_from must be the id of the last "
                    + "change received (a string such as \"0/1A2B3C4:2\", the ref of each postgres_changes push), not " + from);
        }
        try {
            return EventId.parse(from.asText().strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config.postgres_changes_options.resume_from: " + e.getMessage());
        }
    }

    /**
     * Replays {@code log} after {@code after} to {@code channel}, which holds live delivery, on a
     * virtual thread; {@code room} is false while the connection's send queue is too full for more.
     */
    static void start(LogReader log, Channel channel, EventId after, BooleanSupplier room) {
        if (log == null) {
            synchronized (channel.handover) {
                channel.push("system", SystemMessages.resumeReset(channel.topic, "this server keeps no change log (log.dir),"
                        + " so it cannot resume after " + after + ": refetch", null));
                channel.goLive(null);
            }
            return;
        }
        Thread.ofVirtual().name("tidings-realtime-replay").start(() -> replay(log, channel, after, room));
    }

    private static void replay(LogReader log, Channel channel, EventId after, BooleanSupplier room) {
        EventId cursor = after;
        try {
            while (true) {
                LogReader.Read read = log.readAfter(cursor, PAGE);
                if (read instanceof LogReader.Read.Events(List<ChangeEvent> events) && events.size() == PAGE) {
                    for (ChangeEvent event : events) {
                        while (!room.getAsBoolean() && !channel.closed()) {
                            LockSupport.parkNanos(2_000_000);
                        }
                        if (channel.closed()) {
                            return;
                        }
                        channel.replayed(event);
                        cursor = EventId.of(event);
                    }
                    continue;
                }
                synchronized (channel.handover) {
                    // the last page, read while live delivery waits: nothing falls between the two
                    read = log.readAfter(cursor, Integer.MAX_VALUE);
                    if (read instanceof LogReader.Read.Expired(EventId oldest)) {
                        EventId from = log.last();
                        channel.push("system", SystemMessages.resumeReset(channel.topic, "changes after " + after
                                + " are no longer in the change log (" + (oldest == null ? "it is empty" : "its oldest is " + oldest)
                                + "; log.retention, log.max_bytes): refetch, then resume from the id given here", from));
                        channel.goLive(from);
                    } else {
                        for (ChangeEvent event : ((LogReader.Read.Events) read).events()) {
                            channel.replayed(event);
                            cursor = EventId.of(event);
                        }
                        channel.goLive(cursor);
                    }
                    return;
                }
            }
        } catch (RuntimeException e) {
            synchronized (channel.handover) {
                channel.goLive(log.last());
                channel.streamEnded("the change log could not be read to resume after " + after + ": " + e.getMessage());
            }
        }
    }
}
