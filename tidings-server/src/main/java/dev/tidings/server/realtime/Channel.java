package dev.tidings.server.realtime;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.server.broadcast.ClientLimiter;
import dev.tidings.server.broadcast.Framing;
import dev.tidings.server.broadcast.Member;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import static dev.tidings.server.realtime.PhoenixFrame.NULL;
import static dev.tidings.server.realtime.PhoenixFrame.ascii;

/**
 * One joined topic of one connection, subscribed in the {@link FanOut} under its bindings' scopes.
 *
 * <p>A legacy channel ({@code realtime:public:todos}) has one implied binding and gets each change
 * twice, as event {@code *} (what 0.x clients listen to) and as {@code INSERT}/{@code UPDATE}/
 * {@code DELETE}; 1.x clients act on the second only. A {@code postgres_changes} channel gets one
 * {@code postgres_changes} push per change with the ids of every binding it matched. Both carry
 * the {@code supabase} serialization of the change, made once per event for all channels.
 *
 * <p>Every channel is also a {@link Member} of its topic's broadcast room: broadcasts and presence
 * reach it there, framed for its serializer version ({@link #FRAMINGS}).
 *
 * <p>{@link #deliver} runs on the fan-out thread; the rest on the connection's threads. The grant
 * (what the token allows) is replaced whole when the token is refreshed.
 */
final class Channel implements FanOut.Subscriber, Member {
    /** How each serializer version frames a server push; one instance per version, shared. */
    private static final Framing[] FRAMINGS = {framing(PhoenixFrame.Vsn.V1), framing(PhoenixFrame.Vsn.V2)};

    static final EventFormat SUPABASE = EventFormat.named("supabase");
    private static final byte[] IDS = ascii("{\"ids\":[");
    private static final byte[] DATA = ascii("],\"data\":");
    private static final byte[] END = ascii("}");

    private final RealtimeSocket socket;
    final String topic;
    final byte[] topicJson;
    final String joinRef;
    final boolean legacy;
    final List<Binding> bindings;
    final List<FanOut.Scope> scopes;
    /** Frame keys of the common cases, made once: legacy {@code *} and each type; all bindings matched. */
    private final FrameKey legacyStar;
    private final FrameKey[] legacyTyped;
    private final FrameKey allMatched;
    private final Member.Options options;
    /**
     * Broadcast and presence frames that came between joining the room and the join reply, sent
     * after it ({@link #joined}); null once joined. Guarded by this.
     */
    private List<byte[]> early = new java.util.ArrayList<>();
    private volatile AccessPolicy.Grant grant;
    private volatile boolean closed;
    private ScheduledFuture<?> expiry;

    Channel(RealtimeSocket socket, String topic, String joinRef, boolean legacy, List<Binding> bindings,
            AccessPolicy.Grant grant, Member.Options options) {
        this.socket = socket;
        this.options = options;
        // interned: channels on one topic then share the instance and frame keys compare by identity
        this.topic = topic.intern();
        this.topicJson = PhoenixFrame.quote(topic);
        this.joinRef = joinRef;
        this.legacy = legacy;
        this.bindings = List.copyOf(bindings);
        this.scopes = FanOut.Scope.minimal(bindings.stream().map(Binding::scope).toList());
        this.grant = grant;
        PhoenixFrame.Vsn vsn = socket.vsn();
        this.legacyStar = new FrameKey(vsn, this.topic, "*", "");
        this.legacyTyped = new FrameKey[] {new FrameKey(vsn, this.topic, "INSERT", ""),
                new FrameKey(vsn, this.topic, "UPDATE", ""), new FrameKey(vsn, this.topic, "DELETE", "")};
        String ids = String.join(",", this.bindings.stream().map(b -> Integer.toString(b.id())).toList());
        this.allMatched = new FrameKey(vsn, this.topic, "postgres_changes", ids.intern());
    }

    void grant(AccessPolicy.Grant grant) {
        this.grant = grant;
    }

    boolean closed() {
        return closed;
    }

    /** Ends the subscription; no push follows. */
    synchronized void close() {
        closed = true;
        if (expiry != null) {
            expiry.cancel(false);
        }
    }

    /** Closes the channel when the token expires: a system message, then {@code phx_close}. */
    synchronized void expireAt(Instant at, Runnable onExpiry) {
        if (expiry != null) {
            expiry.cancel(false);
            expiry = null;
        }
        if (at != null && !closed) {
            long ms = Math.max(0, Duration.between(Instant.now(), at).toMillis());
            expiry = socket.service().timers().schedule(onExpiry, ms, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void deliver(ChangeEvent event, FanOut.EventBytes bytes) {
        if (closed || !SUPABASE.supports(event.op()) || !grant.admits(event)) {
            return;
        }
        if (legacy) {
            if (bindings.get(0).matches(event)) {
                FrameKey typed = legacyTyped[switch (event.op()) {
                    case INSERT -> 0;
                    case UPDATE -> 1;
                    default -> 2;
                }];
                socket.sendFrame(frame(legacyStar, bytes, null, null));
                socket.sendFrame(frame(typed, bytes, null, null));
            }
            return;
        }
        FrameKey key = allMatched;
        StringBuilder ids = null;
        for (int i = 0; i < bindings.size(); i++) {
            Binding b = bindings.get(i);
            if (b.matches(event)) {
                if (ids != null) {
                    ids.append(',').append(b.id());
                }
            } else if (ids == null) {
                // not every binding matched: list the ids of those that did
                ids = new StringBuilder();
                for (int j = 0; j < i; j++) {
                    ids.append(ids.isEmpty() ? "" : ",").append(bindings.get(j).id());
                }
            }
        }
        if (ids != null) {
            if (ids.isEmpty()) {
                return;
            }
            key = new FrameKey(allMatched.vsn, topic, allMatched.event, ids.toString());
        }
        socket.sendFrame(frame(key, bytes, IDS, DATA));
    }

    /**
     * The push of the event under {@code key}, encoded by the first channel that asks and shared:
     * the supabase JSON as the payload, or as {@code {"ids":[…],"data":…}} when {@code ids} is given.
     */
    private byte[] frame(FrameKey key, FanOut.EventBytes bytes, byte[] ids, byte[] data) {
        byte[] frame = bytes.frame(key);
        if (frame != null) {
            return frame;
        }
        byte[] payload = bytes.in(SUPABASE);
        return bytes.keep(key, WireFrames.text(ids == null
                ? key.vsn.encode(NULL, NULL, topicJson, key.event, payload)
                : key.vsn.encode(NULL, NULL, topicJson, key.event, payload, concat(ids, ascii(key.ids), data), END)));
    }

    /** What makes two channels' frames of one event byte-identical (see {@link FanOut.EventBytes#frame}). */
    private static final class FrameKey {
        final PhoenixFrame.Vsn vsn;
        final String topic;
        final String event;
        final String ids;

        FrameKey(PhoenixFrame.Vsn vsn, String topic, String event, String ids) {
            this.vsn = vsn;
            this.topic = topic;
            this.event = event;
            this.ids = ids;
        }

        // written out (not a record): this runs per subscriber per change, and the strings of
        // channels on one topic are the same instances, so the comparisons stop at identity
        @Override
        public boolean equals(Object o) {
            return o instanceof FrameKey k && vsn == k.vsn && topic.equals(k.topic) && event.equals(k.event)
                    && ids.equals(k.ids);
        }

        @Override
        public int hashCode() {
            return topic.hashCode() * 31 + ids.hashCode();
        }
    }

    @Override
    public String subTopic() {
        return topic.substring("realtime:".length());
    }

    @Override
    public Member.Options options() {
        return options;
    }

    @Override
    public Framing framing() {
        return FRAMINGS[socket.vsn().ordinal()];
    }

    @Override
    public void send(byte[] frame) {
        synchronized (this) {
            if (early != null) {
                early.add(frame);
                return;
            }
        }
        if (!closed) {
            socket.sendFrame(frame);
        }
    }

    @Override
    public void push(String event, byte[] payload) {
        send(WireFrames.text(socket.vsn().encode(joinRef, NULL, topicJson, event, payload)));
    }

    /**
     * The join reply is queued: sends what the room had for this channel since it joined it
     * (presence_state, diffs, broadcasts), in order, and from now on sends at once. The room is
     * joined before the reply so that a client that got the reply misses nothing sent after it.
     */
    synchronized void joined() {
        for (byte[] frame : early) {
            socket.sendFrame(frame);
        }
        early = null;
    }

    @Override
    public void reply(String ref, boolean ok, byte[] response) {
        socket.reply(this, ref, ok, response);
    }

    @Override
    public void shut(String reason) {
        socket.shut(this, reason);
    }

    @Override
    public ClientLimiter limiter() {
        return socket.limiter();
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
    public void streamEnded(String reason) {
        if (!closed) {
            socket.push(this, "phx_error", Map.of("reason", reason));
        }
    }

    private static byte[] concat(byte[] a, byte[] b, byte[] c) {
        byte[] out = new byte[a.length + b.length + c.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        System.arraycopy(c, 0, out, a.length + b.length, c.length);
        return out;
    }

    @Override
    public String toString() {
        return "channel " + topic;
    }
}
