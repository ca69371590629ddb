package dev.tidings.server.realtime;

import dev.tidings.server.log.EventId;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The payloads of the {@code system} pushes Realtime sends on a channel: the confirmation that a
 * {@code postgres_changes} subscription is live or why it cannot be, the replication-ready notice a
 * client may ask for, and the error that precedes the server closing a channel or a connection.
 * {@code channel} is the topic without its {@code realtime:} prefix. Wording as Supabase Realtime's.
 */
final class SystemMessages {
    static final String PREFIX = "realtime:";

    private SystemMessages() {}

    /** {@code postgres_changes} of {@code topic} will be delivered from now on. */
    static Map<String, Object> subscribed(String topic) {
        return message("postgres_changes", "ok", "Subscribed to PostgreSQL", topic);
    }

    /** Why the {@code postgres_changes} bindings of {@code topic} are not subscribed (the channel stays joined). */
    static Map<String, Object> subscriptionError(String topic, String why) {
        return message("postgres_changes", "error", why, topic);
    }

    /** The answer to {@code config.broadcast.replication_ready}: the replication stream is live. */
    static Map<String, Object> replicationReady(String topic) {
        return message("system", "ok", "Replication connection established", topic);
    }

    /**
     * A resume that cannot be served: the changes after the client's id are gone, so it must refetch;
     * {@code id} is the position the channel goes on from (what to resume from next), null when none.
     * Status {@code reset}, as SSE's {@code event: reset}: the channel stays subscribed.
     */
    static Map<String, Object> resumeReset(String topic, String why, EventId id) {
        Map<String, Object> system = message("postgres_changes", "reset", "ResumeExpired: " + why, topic);
        system.put("id", id == null ? null : id.toString());
        return system;
    }

    /** Why the server ends the channel of {@code topic}. */
    static Map<String, Object> error(String topic, String why) {
        return message("system", "error", why, topic);
    }

    /** Why the server drops a whole connection that fell behind (no channel: it is all of them). */
    static Map<String, Object> slowClient(long sendQueueBytes, int sendQueueFrames) {
        return message("system", "error", "Disconnected: this client did not read changes as fast as they came (more than "
                + sendQueueBytes + " bytes or " + sendQueueFrames + " messages waiting)", null);
    }

    private static Map<String, Object> message(String extension, String status, String message, String topic) {
        Map<String, Object> system = new LinkedHashMap<>();
        system.put("extension", extension);
        system.put("status", status);
        system.put("message", message);
        if (topic != null) {
            system.put("channel", topic.substring(PREFIX.length()));
        }
        return system;
    }
}
