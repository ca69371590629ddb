package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.server.auth.Authenticator;
import dev.tidings.server.auth.TokenVerifier;
import dev.tidings.server.live.LiveService;
import dev.tidings.server.live.Outbox;
import org.eclipse.jetty.websocket.api.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
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
 * for anything the client sent wrong, so one bad frame never costs other channels.
 *
 * <p>Frames are read one at a time on a Jetty thread (auto-demand after each); everything sent,
 * replies, pongs and changes alike, goes through the connection's bounded {@link Outbox}, which
 * keeps their order. A change is framed once ({@link WireFrames}) and those bytes are what every
 * subscribed connection writes, many frames per gathering write ({@link SocketTransport}).
 * Public only because Jetty looks its listener methods up reflectively; made by {@link RealtimeEndpoint}.
 */
public final class RealtimeSocket implements Session.Listener.AutoDemanding {
    private static final Logger log = LoggerFactory.getLogger(RealtimeSocket.class);

    private final LiveService live;
    private final Authenticator auth;
    private final TableCatalog catalog;
    private final PhoenixFrame.Vsn vsn;
    /** The token presented at connect; a join without a token of its own uses it. */
    private final String connectToken;
    private final Map<String, Channel> channels = new ConcurrentHashMap<>();
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
        for (Channel c : channels.values()) {
            unsubscribe(c);
        }
        channels.clear();
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
                reply(f, "ok", Map.of());
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
                } else if (f.event().equals("broadcast") || f.event().equals("presence")) {
                    reply(f, "error", Map.of("reason", f.event() + " is not supported by this server (only postgres_changes)"));
                } else {
                    reply(f, "error", Map.of("reason", "unknown event '" + f.event() + "'"));
                }
            }
        }
    }

    private void join(PhoenixFrame f) {
        String topic = f.topic();
        if (!topic.startsWith(SystemMessages.PREFIX)) {
            reply(f, "error", Map.of("reason", "unknown topic '" + topic + "': topics start with realtime:"));
            return;
        }
        Channel previous = channels.remove(topic);
        if (previous != null) {
            unsubscribe(previous);
        }
        String raw = JoinRequest.token(f.payload());
        Authenticator.Access access;
        try {
            access = auth.authorize(raw == null ? connectToken : raw);
        } catch (TokenVerifier.InvalidToken e) {
            reply(f, "error", Map.of("reason", e.getMessage()));
            return;
        }
        JoinRequest join;
        try {
            join = JoinRequest.parse(topic, f.payload());
            join.check(access.grant(), catalog);
        } catch (IllegalArgumentException e) {
            reply(f, "error", Map.of("reason", e.getMessage()));
            return;
        }
        Channel channel = new Channel(outlet, live.timers(), vsn, topic, f.joinRef(), join.legacy(), join.bindings(),
                access.grant());
        channels.put(topic, channel);
        reply(f, "ok", Map.of("postgres_changes", join.echo()));
        live.fanOut().subscribe(channel, channel.tables);
        if (access.token() != null) {
            channel.expireAt(access.expiresAt(), () -> shut(channel, "Token has expired"));
        }
        if (!join.legacy() && !join.bindings().isEmpty()) {
            live.liveness().whenLive(() -> {
                if (!channel.closed()) {
                    channel.push("system", SystemMessages.subscribed(topic));
                }
            });
        }
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

    /** An {@code access_token} push: a null token is tolerated (1.x sends one after every heartbeat). */
    private void refresh(Channel c, JsonNode tokenNode) {
        String raw = JoinRequest.text(tokenNode);
        if (raw == null || !auth.secure()) {
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
            shut(c, refusal);
            return;
        }
        c.grant(access.grant());
        c.expireAt(access.expiresAt(), () -> shut(c, "Token has expired"));
    }

    /** Ends a channel from the server's side: a system error message, then {@code phx_close}. */
    private void shut(Channel c, String why) {
        if (!channels.remove(c.topic, c)) {
            return;
        }
        unsubscribe(c);
        c.push("system", SystemMessages.error(c.topic, why));
        send(vsn.encode(c.joinRef, c.joinRef, c.topicJson, "phx_close", PhoenixFrame.json(Map.of())));
    }

    private void unsubscribe(Channel c) {
        c.close();
        live.fanOut().unsubscribe(c, c.tables);
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

    /** Queues a frame made by {@link WireFrames} (shared by every connection that gets it). */
    private void sendFrame(byte[] frame) {
        Outbox o = outbox;
        if (o != null && !o.offer(frame, farewell, "send queue full: the client did not keep up") && o.overflowed()) {
            for (Channel c : channels.values()) {
                unsubscribe(c);
            }
            channels.clear();
        }
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
