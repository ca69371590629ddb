package dev.tidings.server.broadcast;

/**
 * The limits of the Realtime side, with the Supabase Realtime server's defaults. Zero turns a
 * limit off. Supabase counts joins and broadcasts per tenant; here they are counted per connection,
 * and the server-wide counts are there to cap a whole server, off by default (a server is one
 * tenant whose clients should not throttle each other). See docs/from-supabase-realtime.md.
 *
 * @param channelsPerClient        channels one connection may have joined at once (100)
 * @param joinsPerSecond           joins one connection may make per second (100)
 * @param eventsPerSecond          broadcasts one connection may send per second (100)
 * @param bytesPerSecond           broadcast payload bytes one connection may send per second (100,000)
 * @param presenceEventsPerWindow  presence track/untrack one connection may send per window (5)
 * @param presenceWindowMillis     that window (30,000 ms)
 * @param serverPresenceEventsPerSecond presence track/untrack the whole server accepts per second (1,000)
 * @param payloadBytes             the largest broadcast or presence payload (3,000 kB)
 * @param serverJoinsPerSecond     joins the whole server accepts per second (off)
 * @param serverEventsPerSecond    broadcasts (from clients, REST and the database) the whole server accepts per second (off)
 */
public record ClientLimits(int channelsPerClient, int joinsPerSecond, int eventsPerSecond, int bytesPerSecond,
                           int presenceEventsPerWindow, int presenceWindowMillis, int serverPresenceEventsPerSecond,
                           int payloadBytes, int serverJoinsPerSecond, int serverEventsPerSecond) {

    public static final ClientLimits SUPABASE = new ClientLimits(100, 100, 100, 100_000, 5, 30_000, 1_000, 3_000_000, 0, 0);

    /** The texts a client gets, Supabase's where it has one. */
    static final String TOO_MANY_CHANNELS = "ChannelRateLimitReached: Too many channels";
    static final String TOO_MANY_JOINS = "ClientJoinRateLimitReached: Too many joins per second";
    static final String TOO_MANY_MESSAGES = "Too many messages per second";
    /** What REST gets over the server's broadcast rate (HTTP 429). */
    static final String REST_RATE = "You have exceeded your rate limit";
    static final String TOO_MANY_BYTES = "Too many bytes per second";
    static final String CLIENT_PRESENCE = "Client presence rate limit exceeded";
    static final String SERVER_PRESENCE = "Too many presence messages per second";
    static final String PAYLOAD_TOO_LARGE = "Payload size exceeded";
    static final String TRACK_TOO_LARGE = "Track message size exceeded";
}
