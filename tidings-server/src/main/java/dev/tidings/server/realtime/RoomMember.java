package dev.tidings.server.realtime;

import dev.tidings.server.auth.ChannelAuthorization;
import dev.tidings.server.broadcast.ClientLimiter;
import dev.tidings.server.broadcast.Framing;
import dev.tidings.server.broadcast.Member;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static dev.tidings.server.realtime.PhoenixFrame.NULL;

/**
 * A joined channel as a {@link Member} of its topic's broadcast room: broadcasts and presence reach
 * it framed for its connection's serializer version ({@link #FRAMINGS}), replies and shutdowns go
 * through its connection.
 *
 * <p>The room is joined before the join reply is queued, so that a client that got the reply
 * misses nothing sent after it; what the room sends in between (presence_state, diffs,
 * broadcasts) is held here and sent, in order, right after the reply ({@link #joined}).
 * A member of a private channel carries what the database's policies allowed its token at join
 * (replaced when the token is refreshed). Thread-safe.
 */
final class RoomMember implements Member {
    /** How each serializer version frames a server push; one instance per version, shared. */
    private static final Framing[] FRAMINGS = {framing(PhoenixFrame.Vsn.V1), framing(PhoenixFrame.Vsn.V2)};

    private final Channel channel;
    private final RealtimeSocket socket;
    private final PhoenixFrame.Vsn vsn;
    private final Options options;
    /** The ids of the {@code realtime.messages} rows replayed at join; set before the room is joined. */
    private volatile Set<String> replayed = Set.of();
    /** What the policies allow on a private channel; null on a public one. */
    private volatile ChannelAuthorization.Permissions permissions;
    /** Frames held until the join reply is queued; null once it is. Guarded by this. */
    private List<byte[]> early = new ArrayList<>();

    /** @param permissions what the policies allow on a private channel; null for a public one */
    RoomMember(Channel channel, RealtimeSocket socket, PhoenixFrame.Vsn vsn, Options options,
               ChannelAuthorization.Permissions permissions) {
        this.permissions = permissions;
        this.channel = channel;
        this.socket = socket;
        this.vsn = vsn;
        this.options = options;
    }

    Channel channel() {
        return channel;
    }

    @Override
    public String subTopic() {
        return channel.topic.substring(SystemMessages.PREFIX.length());
    }

    @Override
    public boolean isPrivate() {
        return permissions != null;
    }

    @Override
    public boolean may(Right right) {
        ChannelAuthorization.Permissions p = permissions;
        return p == null || switch (right) {
            case READ_BROADCAST -> p.readBroadcast();
            case WRITE_BROADCAST -> p.writeBroadcast();
            case READ_PRESENCE -> p.readPresence();
            case WRITE_PRESENCE -> p.writePresence();
        };
    }

    ChannelAuthorization.Permissions permissions() {
        return permissions;
    }

    /** A refreshed token's permissions on this private channel. */
    void permissions(ChannelAuthorization.Permissions p) {
        permissions = p;
    }

    @Override
    public Options options() {
        return options;
    }

    @Override
    public Framing framing() {
        return FRAMINGS[vsn.ordinal()];
    }

    @Override
    public void send(byte[] frame) {
        synchronized (this) {
            if (early != null) {
                early.add(frame);
                return;
            }
        }
        if (!channel.closed()) {
            socket.sendFrame(frame);
        }
    }

    @Override
    public void push(String event, byte[] payload) {
        send(WireFrames.text(vsn.encode(channel.joinRef, NULL, channel.topicJson, event, payload)));
    }

    @Override
    public void reply(String ref, boolean ok, byte[] response) {
        socket.reply(channel, ref, ok, response);
    }

    @Override
    public void shut(String reason) {
        socket.shut(channel, reason);
    }

    @Override
    public boolean replayed(String id) {
        return replayed.contains(id);
    }

    /** Remembers what {@link dev.tidings.server.broadcast.BroadcastService#replay} sent, so live copies are skipped. */
    void replayed(Set<String> ids) {
        replayed = Set.copyOf(ids);
    }

    @Override
    public ClientLimiter limiter() {
        return socket.limiter();
    }

    /** The join reply is queued: sends what was held, then sends at once from now on. */
    synchronized void joined() {
        for (byte[] frame : early) {
            socket.sendFrame(frame);
        }
        early = null;
    }

    private static Framing framing(PhoenixFrame.Vsn vsn) {
        return new Framing() {
            @Override
            public byte[] text(String topic, String event, byte[] payload) {
                return WireFrames.text(vsn.encode(NULL, NULL, PhoenixFrame.quote(topic), event, payload));
            }

            @Override
            public byte[] binary(byte[] message) {
                return vsn == PhoenixFrame.Vsn.V2 ? WireFrames.binary(message) : null;
            }
        };
    }

    @Override
    public String toString() {
        return "member " + channel;
    }
}
