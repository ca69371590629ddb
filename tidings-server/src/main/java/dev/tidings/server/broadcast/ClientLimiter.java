package dev.tidings.server.broadcast;

/**
 * The limits of one Realtime connection ({@link ClientLimits}), counted as its frames are handled. A
 * client over a limit gets the error; nothing is counted against anyone else. Thread-safe.
 */
public final class ClientLimiter {
    private final ClientLimits limits;
    private final LimitCounters hits;
    private final RateWindow joins;
    private final RateWindow events;
    private final RateWindow bytes;
    private final RateWindow presence;
    private final RateWindow serverJoins;
    private final RateWindow serverEvents;

    /** @param serverJoins, serverEvents the counts of the whole server, shared by every connection */
    ClientLimiter(ClientLimits limits, LimitCounters hits, RateWindow serverJoins, RateWindow serverEvents) {
        this.serverJoins = serverJoins;
        this.serverEvents = serverEvents;
        this.limits = limits;
        this.hits = hits;
        this.joins = new RateWindow(limits.joinsPerSecond(), 1000);
        this.events = new RateWindow(limits.eventsPerSecond(), 1000);
        this.bytes = new RateWindow(limits.bytesPerSecond(), 1000);
        this.presence = new RateWindow(limits.presenceEventsPerWindow(), limits.presenceWindowMillis());
    }

    /**
     * Counts a join of a connection that has {@code joined} other channels; returns the error
     * reason to reply with, or null when the join may go ahead.
     */
    public String join(int joined) {
        if (limits.channelsPerClient() > 0 && joined >= limits.channelsPerClient()) {
            hits.hit("channels_per_client");
            return ClientLimits.TOO_MANY_CHANNELS;
        }
        if (!joins.take(1)) {
            hits.hit("joins_per_second");
            return ClientLimits.TOO_MANY_JOINS;
        }
        if (!serverJoins.take(1)) {
            hits.hit("server_joins_per_second");
            return ClientLimits.TOO_MANY_JOINS;
        }
        return null;
    }

    /** Counts one broadcast of {@code size} bytes; the reason the channel is shut, or null. */
    String broadcast(int size) {
        if (!events.take(1)) {
            hits.hit("events_per_second");
            return ClientLimits.TOO_MANY_MESSAGES;
        }
        if (!bytes.take(size)) {
            hits.hit("bytes_per_second");
            return ClientLimits.TOO_MANY_BYTES;
        }
        if (!serverEvents.take(1)) {
            hits.hit("server_events_per_second");
            return ClientLimits.TOO_MANY_MESSAGES;
        }
        return null;
    }

    /** Counts one presence message; the reason the channel is shut, or null. */
    String presence() {
        if (!presence.take(1)) {
            hits.hit("client_presence_events");
            return ClientLimits.CLIENT_PRESENCE;
        }
        return null;
    }
}
