package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.server.auth.Authenticator;
import dev.tidings.server.auth.ChannelAuthorization;
import dev.tidings.server.auth.RowSecurity;
import dev.tidings.server.auth.TokenVerifier;
import dev.tidings.server.broadcast.BinaryPush;
import dev.tidings.server.broadcast.BroadcastHistory;
import dev.tidings.server.broadcast.BroadcastService;
import dev.tidings.server.broadcast.ClientLimiter;
import dev.tidings.server.broadcast.Member;
import dev.tidings.server.live.LiveService;
import dev.tidings.server.live.Outbox;
import dev.tidings.server.log.LogReader;
import dev.tidings.server.log.EventId;
import org.eclipse.jetty.websocket.api.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import static dev.tidings.server.realtime.PhoenixFrame.NULL;

/**
 * One Realtime WebSocket connection speaking the Phoenix channel protocol as the Supabase Realtime
 * server does (see docs/realtime-protocol.md): {@code heartbeat}, {@code phx_join},
 * {@code phx_leave} (reply, then {@code phx_close}), {@code access_token}; errors as
 * {@code phx_reply} with {@code status:"error"} and a {@code reason} — the connection stays open
 * for anything the client sent wrong, so one bad frame never costs other channels. Broadcast and
 * presence pushes, in JSON or as the binary broadcast frames of vsn 2.0.0, go to the server's
 * {@link BroadcastService}; each channel is a member of its topic's room ({@link RoomMember}).
 *
 * <p>Frames are read one at a time on a Jetty thread (auto-demand after each); everything sent,
 * replies, pongs and changes alike, goes through the connection's bounded {@link Outbox}, which
 * keeps their order. A change is framed once ({@link WireFrames}) and those bytes are what every
 * subscribed connection writes, many frames per gathering write ({@link SocketTransport}).
 * Public only because Jetty looks its listener methods up reflectively; made by {@link RealtimeEndpoint}.
 */
public final class RealtimeSocket implements Session.Listener.AutoDemanding {
    private static final Logger log = LoggerFactory.getLogger(RealtimeSocket.class);
    private static final byte[] REPLY_OK = PhoenixFrame.ascii("{\"status\":\"ok\",\"response\":");
    private static final byte[] REPLY_ERROR = PhoenixFrame.ascii("{\"status\":\"error\",\"response\":");
    private static final byte[] REPLY_END = PhoenixFrame.ascii("}");
    /** The answer to every heartbeat, {@code {"status":"ok","response":{}}}, made once (10,000 clients send 400 a second). */
    private static final byte[] HEARTBEAT_OK = PhoenixFrame.ascii("{\"status\":\"ok\",\"response\":{}}");
    private static final byte[] PHOENIX_TOPIC = PhoenixFrame.quote("phoenix");

    private final LiveService live;
    private final Authenticator auth;
    private final TableCatalog catalog;
    private final BroadcastService broadcasts;
    private final ClientLimiter limiter;
    private final LogReader changeLog;
    private final BroadcastHistory history;
    private final RowSecurity rowSecurity;
    private final ChannelAuthorization channelAuthorization;
    private final PhoenixFrame.Vsn vsn;
    /** The token presented at connect; a join without a token of its own uses it. */
    private final String connectToken;
    private final Map<String, Channel> channels = new ConcurrentHashMap<>();
    /** The room member of each channel, by topic. */
    private final Map<String, RoomMember> members = new ConcurrentHashMap<>();
    /** What channels write to: this connection's send queue. */
    private final Channel.Outlet outlet = this::sendFrame;
    private volatile Outbox outbox;
    /** Made once: {@link #sendFrame} runs per change per connection. */
    private final Supplier<byte[]> farewell = this::farewell;
    private volatile Session session;

    RealtimeSocket(RealtimeService service, PhoenixFrame.Vsn vsn, String connectToken) {
        this.live = service.live();
        this.auth = service.auth();
        this.catalog = service.catalog();
        this.broadcasts = service.broadcasts();
        this.limiter = broadcasts.newClient();
        this.changeLog = service.changeLog();
        this.history = service.history();
        this.rowSecurity = service.rowSecurity();
        this.channelAuthorization = service.channels();
        this.vsn = vsn;
        this.connectToken = connectToken;
    }

    @Override
    public void onWebSocketOpen(Session session) {
        this.session = session;
        this.outbox = live.outbox(new SocketTransport(session, live.writer().buffers(), live.counters()));
    }

    @Override
    public void onWebSocketText(String text) {
        try {
            handle(text);
        } catch (RuntimeException e) {
            log.warn("unexpected failure handling a client frame", e);
            reply(NULL, NULL, "phoenix", "error", Map.of("reason", "internal error: " + e));
        }
    }

    ClientLimiter limiter() {
        return limiter;
    }

    /** A binary frame: with vsn 2.0.0, realtime-js sends its broadcasts this way. */
    @Override
    public void onWebSocketBinary(ByteBuffer payload, org.eclipse.jetty.websocket.api.Callback callback) {
        try {
            handleBinary(payload);
        } catch (RuntimeException e) {
            log.warn("unexpected failure handling a binary client frame", e);
            reply(NULL, NULL, "phoenix", "error", Map.of("reason", "internal error: " + e));
        } finally {
            callback.succeed();
        }
    }

    private void handleBinary(ByteBuffer payload) {
        if (vsn != PhoenixFrame.Vsn.V2) {
            reply(NULL, NULL, "phoenix", "error", Map.of("reason", "binary frames need vsn=2.0.0; this connection speaks " + vsn.text));
            return;
        }
        BinaryPush push;
        try {
            push = BinaryPush.parse(payload);
        } catch (BinaryPush.Malformed m) {
            reply(NULL, NULL, "phoenix", "error", Map.of("reason", m.getMessage()));
            return;
        }
        String ref = refText(push.ref());
        RoomMember m = members.get(push.topic());
        if (m == null) {
            reply(refText(push.joinRef()), ref, push.topic(), "error",
                    Map.of("reason", "unmatched topic: join '" + push.topic() + "' first"));
        } else {
            broadcasts.onBroadcast(m, ref, push);
        }
    }

    /** A ref of a binary frame as the JSON text replies carry: a string, or null when empty. */
    private static String refText(String ref) {
        return ref.isEmpty() ? NULL : new String(PhoenixFrame.quote(ref), StandardCharsets.UTF_8);
    }

    /** Answered here rather than by Jetty, so that the pong goes out in order with the rest. */
    @Override
    public void onWebSocketPing(ByteBuffer payload) {
        sendFrame(WireFrames.pong(payload));
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason, org.eclipse.jetty.websocket.api.Callback callback) {
        closeAll();
        callback.succeed();
    }

    @Override
    public void onWebSocketError(Throwable cause) {
        log.debug("websocket error", cause);
        closeAll();
    }

    private void closeAll() {
        unsubscribeAll();
        Outbox o = outbox;
        if (o != null) {
            o.discard();
        }
    }

    private void handle(String text) {
        PhoenixFrame f;
        try {
            f = PhoenixFrame.parse(text, vsn);
        } catch (PhoenixFrame.Malformed m) {
            reply(NULL, m.ref, m.topic == null ? "phoenix" : m.topic, "error", Map.of("reason", m.getMessage()));
            return;
        }
        if (f.topic().equals("phoenix")) {
            if (f.event().equals("heartbeat")) {
                replyAtOnce(WireFrames.text(vsn.encode(f.joinRef(), f.ref(), PHOENIX_TOPIC, "phx_reply", HEARTBEAT_OK)));
            } else {
                reply(f, "error", Map.of("reason", "unknown event '" + f.event() + "' on topic phoenix"));
            }
            return;
        }
        switch (f.event()) {
            case "phx_join" -> join(f);
            case "phx_leave" -> leave(f);
            default -> {
                Channel c = channels.get(f.topic());
                if (c == null) {
                    reply(f, "error", Map.of("reason", "unmatched topic: join '" + f.topic() + "' first"));
                } else if (f.event().equals("access_token")) {
                    refresh(c, f.payload().get("access_token"));
                } else if (f.event().equals("broadcast") && members.get(f.topic()) instanceof RoomMember m) {
                    broadcasts.onBroadcast(m, f.ref(), f.payload());
                } else if (f.event().equals("presence") && members.get(f.topic()) instanceof RoomMember m) {
                    broadcasts.onPresence(m, f.ref(), f.payload());
                } else {
                    reply(f, "error", Map.of("reason", "unknown event '" + f.event() + "'"));
                }
            }
        }
    }

    private void join(PhoenixFrame f) {
        String topic = f.topic();
        if (topic.equals(SystemMessages.PREFIX)) {
            reply(f, "error", Map.of("reason", "TopicNameRequired: You must provide a topic name"));
            return;
        }
        if (!topic.startsWith(SystemMessages.PREFIX)) {
            reply(f, "error", Map.of("reason", "unknown topic '" + topic + "': topics start with realtime:"));
            return;
        }
        Channel previous = channels.remove(topic);
        if (previous != null) {
            unsubscribe(previous);
        }
        String over = limiter.join(channels.size());
        if (over != null) {
            reply(f, "error", Map.of("reason", over));
            return;
        }
        JsonNode config = f.payload().get("config");
        boolean isPrivate = config != null && config.path("private").asBoolean(false);
        String raw = JoinRequest.token(f.payload());
        String token = raw == null ? connectToken : raw;
        Authenticator.Access access;
        try {
            access = auth.authorize(token);
        } catch (TokenVerifier.InvalidToken e) {
            reply(f, "error", Map.of("reason", coded("InvalidJWTToken", e.getMessage())));
            return;
        }
        JoinRequest join = JoinRequest.parse(topic, f.payload());
        String refusal = JoinRequest.refusal(join.bindings(), access.grant());
        if (refusal != null) {
            reply(f, "error", Map.of("reason", coded("Unauthorized", refusal)));
            return;
        }
        Member.Options options = BroadcastService.options(join.legacy() ? null : config);
        ChannelAuthorization.Permissions permissions = null;
        if (isPrivate) {
            String subTopic = topic.substring(SystemMessages.PREFIX.length());
            String why = null;
            if (channelAuthorization == null) {
                why = "Unauthorized: private channels are authorized by the policies on realtime.messages, and this node "
                        + "reads no database (serve --from): join private channels on a server that reads the database";
            } else {
                try {
                    permissions = channelAuthorization.permissions(access, subTopic);
                    if (!permissions.mayJoin(options.presenceEnabled())) {
                        why = ChannelAuthorization.readRefusal(subTopic);
                    }
                } catch (ChannelAuthorization.Unavailable e) {
                    log.warn("a private join of '{}' could not be authorized: {}", subTopic, e.getMessage());
                    why = ChannelAuthorization.UNAVAILABLE;
                }
            }
            if (why != null) {
                reply(f, "error", Map.of("reason", why));
                return;
            }
        }
        join = join.resolve(catalog);
        EventId resumeFrom;
        try {
            resumeFrom = join.legacy() || join.bindings().isEmpty() ? null : ChangeReplay.position(config);
        } catch (IllegalArgumentException e) {
            reply(f, "error", Map.of("reason", coded("InvalidResumePosition", e.getMessage())));
            return;
        }
        Channel channel = new Channel(outlet, live.timers(), vsn, topic, f.joinRef(), join.legacy(), join.bindings(),
                access.grant(), token, rowSecurity, rowSecurity == null ? null : RowSecurity.Identity.of(access));
        RoomMember member = new RoomMember(channel, this, vsn, options, permissions);
        try {
            BroadcastHistory.Request replay = join.legacy() ? null : BroadcastHistory.request(config);
            if (replay != null && !member.may(Member.Right.READ_BROADCAST)) { // as Supabase: replay needs broadcast read
                reply(f, "error", Map.of("reason", ChannelAuthorization.readRefusal(topic.substring(SystemMessages.PREFIX.length()))));
                return;
            }
            if (replay != null) {
                member.replayed(broadcasts.replay(member, history, isPrivate, replay));
            }
        } catch (BroadcastHistory.Refused e) {
            reply(f, "error", Map.of("reason", e.getMessage()));
            return;
        }
        channels.put(topic, channel);
        members.put(topic, member);
        broadcasts.join(member);
        reply(f, "ok", Map.of("postgres_changes", join.echo()));
        member.joined();
        if (resumeFrom != null) {
            channel.holdLive();
        }
        live.fanOut().subscribe(channel, channel.interests());
        if (resumeFrom != null) {
            Outbox o = outbox;
            ChangeReplay.start(changeLog, channel, resumeFrom, o::belowHalf);
        }
        if (access.token() != null) {
            channel.expireAt(access.expiresAt(), () -> shut(channel, "Token has expired"));
        }
        if (join.problem() != null) {
            channel.push("system", SystemMessages.subscriptionError(topic, join.problem()));
        } else if (!join.legacy() && !join.bindings().isEmpty()) {
            whenLive(channel, SystemMessages.subscribed(topic));
        }
        if (config != null && config.path("broadcast").path("replication_ready").asBoolean(false)) {
            whenLive(channel, SystemMessages.replicationReady(topic));
        }
    }

    /** Pushes a system message on {@code channel} once the replication stream is live, unless it closed by then. */
    private void whenLive(Channel channel, Map<String, Object> message) {
        live.liveness().whenLive(() -> {
            if (!channel.closed()) {
                channel.push("system", message);
            }
        });
    }

    /** A join error's reason as Realtime writes it, {@code Code: message}; kept when it carries a code already. */
    static String coded(String code, String message) {
        return message.matches("^[A-Z][A-Za-z]+: .*") ? message : code + ": " + message;
    }

    private void leave(PhoenixFrame f) {
        Channel c = channels.remove(f.topic());
        String joinRef = f.joinRef();
        if (c != null) {
            unsubscribe(c);
            if (joinRef.equals(NULL)) {
                joinRef = c.joinRef;
            }
        }
        reply(f, "ok", Map.of());
        send(vsn.encode(joinRef, joinRef, PhoenixFrame.quote(f.topic()), "phx_close", PhoenixFrame.json(Map.of())));
    }

    /**
     * An {@code access_token} push: a new token is authorized again as at join, and a channel with
     * bindings is told again that it is subscribed, as Realtime re-subscribes; a null token or the
     * current one is ignored (1.x sends one after every heartbeat). On a private channel the
     * policies are asked again for the new token; one that loses a read the old token had ends the
     * channel, with Supabase's words.
     */
    private void refresh(Channel c, JsonNode tokenNode) {
        String raw = JoinRequest.text(tokenNode);
        if (raw == null || !auth.secure() || raw.equals(c.token())) {
            return;
        }
        Authenticator.Access access;
        try {
            access = auth.authorize(raw);
        } catch (TokenVerifier.InvalidToken e) {
            shut(c, e.getMessage());
            return;
        }
        String refusal = JoinRequest.refusal(c.bindings, access.grant());
        if (refusal != null) {
            shut(c, "You no longer have permission to read from this Channel topic: "
                    + c.topic.substring(SystemMessages.PREFIX.length()) + " (" + refusal + ")");
            return;
        }
        RoomMember member = members.get(c.topic);
        if (member != null && member.channel() == c && member.permissions() != null) {
            String subTopic = c.topic.substring(SystemMessages.PREFIX.length());
            ChannelAuthorization.Permissions now;
            try {
                now = channelAuthorization.permissions(access, subTopic);
            } catch (ChannelAuthorization.Unavailable e) {
                log.warn("a token refresh on the private channel '{}' could not be authorized: {}", subTopic, e.getMessage());
                shut(c, ChannelAuthorization.UNAVAILABLE);
                return;
            }
            if (now.revokesReadOf(member.permissions())) {
                shut(c, "You no longer have permission to read from this Channel topic: " + subTopic);
                return;
            }
            member.permissions(now);
        }
        c.grant(access.grant(), raw, rowSecurity == null ? null : RowSecurity.Identity.of(access));
        c.expireAt(access.expiresAt(), () -> shut(c, "Token has expired"));
        if (!c.legacy && !c.bindings.isEmpty()) {
            whenLive(c, SystemMessages.subscribed(c.topic));
        }
    }

    /** Ends a channel from the server's side: a system error message, then {@code phx_close}. */
    void shut(Channel c, String why) {
        if (!channels.remove(c.topic, c)) {
            return;
        }
        unsubscribe(c);
        c.push("system", SystemMessages.error(c.topic, why));
        send(vsn.encode(c.joinRef, c.joinRef, c.topicJson, "phx_close", PhoenixFrame.json(Map.of())));
    }

    private void unsubscribe(Channel c) {
        c.close();
        live.fanOut().unsubscribe(c);
        RoomMember m = members.get(c.topic);
        if (m != null && m.channel() == c && members.remove(c.topic, m)) {
            broadcasts.leave(m);
        }
    }

    /** Replies to a push of channel {@code c}; {@code response} is a JSON object. */
    void reply(Channel c, String ref, boolean ok, byte[] response) {
        send(vsn.encode(c.joinRef, ref, c.topicJson, "phx_reply", response, ok ? REPLY_OK : REPLY_ERROR, REPLY_END));
    }

    private void reply(PhoenixFrame f, String status, Map<String, ?> response) {
        reply(f.joinRef(), f.ref(), f.topic(), status, response);
    }

    private void reply(String joinRef, String ref, String topic, String status, Map<String, ?> response) {
        Map<String, Object> payload = new LinkedHashMap<>();
        payload.put("status", status);
        payload.put("response", response);
        send(vsn.encode(joinRef, ref, PhoenixFrame.quote(topic), "phx_reply", PhoenixFrame.json(payload)));
    }

    /** Queues a Phoenix message; a connection whose queue is full is told why and dropped. */
    private void send(byte[] message) {
        sendFrame(WireFrames.text(message));
    }

    /** Writes the reply to a client's frame from the thread that read it when nothing else waits to be written. */
    private void replyAtOnce(byte[] frame) {
        Outbox o = outbox;
        if (o != null && !o.reply(frame, farewell, "send queue full: the client did not keep up") && o.overflowed()) {
            unsubscribeAll();
        }
    }

    /** Queues a frame made by {@link WireFrames} (shared by every connection that gets it). */
    void sendFrame(byte[] frame) {
        Outbox o = outbox;
        if (o != null && !o.offer(frame, farewell, "send queue full: the client did not keep up") && o.overflowed()) {
            unsubscribeAll();
        }
    }

    private void unsubscribeAll() {
        for (Channel c : channels.values()) {
            unsubscribe(c);
        }
        channels.clear();
    }

    private byte[] farewell() {
        String topic = channels.keySet().stream().findFirst().orElse("phoenix");
        Map<String, Object> system = SystemMessages.slowClient(live.sendQueueBytes(), live.sendQueueFrames());
        return WireFrames.text(vsn.encode(NULL, NULL, PhoenixFrame.quote(topic), "system", PhoenixFrame.json(system)));
    }

    @Override
    public String toString() {
        Session s = session;
        return "realtime connection " + (s == null ? "" : s.getRemoteSocketAddress());
    }
}
