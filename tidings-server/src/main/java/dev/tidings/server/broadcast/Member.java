package dev.tidings.server.broadcast;

/**
 * One joined channel as the broadcast and presence side sees it: where its frames go and what it
 * asked for at join. Implemented by the Realtime connection's channel. Every method may be called
 * from any thread and must not block (it queues into the connection's bounded send queue).
 */
public interface Member {
    /** The topic without the {@code realtime:} prefix. */
    String subTopic();

    /** What the client asked for in {@code config.broadcast} and {@code config.presence} at join. */
    Options options();

    /** How this member's connection frames server pushes (shared by all connections of its vsn). */
    Framing framing();

    /** Queues a WebSocket frame made by {@link Framing} (after the join reply, when sent before it). */
    void send(byte[] frame);

    /** Queues a push on this channel with its join_ref, e.g. {@code presence_state}. */
    void push(String event, byte[] payload);

    /** Replies to the client's push with {@code ref}: {@code phx_reply} with a status and a response object. */
    void reply(String ref, boolean ok, byte[] response);

    /** Ends the channel from the server's side: a {@code system} error with {@code reason}, then {@code phx_close}. */
    void shut(String reason);

    /** Whether the {@code realtime.messages} row {@code id} was replayed to this member at join (then it is not sent again). */
    boolean replayed(String id);

    /**
     * Whether this member joined a private channel ({@code config.private: true}): its room is apart
     * from the public channel of the same topic, as in Supabase Realtime.
     */
    default boolean isPrivate() {
        return false;
    }

    /** On a private channel, whether the database's policies allow {@code right}; always true on a public one. */
    default boolean may(Right right) {
        return true;
    }

    /** What the policies on {@code realtime.messages} decide for a private channel: SELECT (read) and INSERT (write) per extension. */
    enum Right { READ_BROADCAST, WRITE_BROADCAST, READ_PRESENCE, WRITE_PRESENCE }

    /** The per-connection counters that limits are checked against. */
    ClientLimiter limiter();

    /**
     * @param self            {@code config.broadcast.self}: the sender gets its own broadcasts
     * @param ack             {@code config.broadcast.ack}: a broadcast push is answered with a reply
     * @param presenceKey     {@code config.presence.key}, or a generated one when the client gave none
     * @param presenceEnabled {@code config.presence.enabled}: {@code presence_state} is pushed at join
     */
    record Options(boolean self, boolean ack, String presenceKey, boolean presenceEnabled) {}
}
