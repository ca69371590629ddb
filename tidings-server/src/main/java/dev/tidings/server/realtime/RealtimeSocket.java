package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidings.server.broadcast.BinaryPush;
import dev.tidings.server.broadcast.BroadcastService;
import dev.tidings.server.broadcast.ClientLimiter;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.eclipse.jetty.websocket.common.WebSocketSession;
import org.eclipse.jetty.websocket.core.CoreSession;
import org.eclipse.jetty.websocket.core.WebSocketCoreSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

import static dev.tidings.server.realtime.PhoenixFrame.NULL;

/**
 * One Realtime WebSocket connection speaking the Phoenix channel protocol as the Supabase Realtime
 * server does (see docs/realtime-protocol.md): {@code heartbeat}, {@code phx_join},
 * {@code phx_leave} (reply, then {@code phx_close}), {@code access_token}; errors as
 * {@code phx_reply} with {@code status:"error"} and a {@code reason} — the connection stays open
 * for anything the client sent wrong, so one bad frame never costs other channels. Broadcast and
 * presence pushes, in JSON or as the binary broadcast frames of vsn 2.0.0, are handed to the
 * server's {@link BroadcastService}.
 *
 * <p>Frames are read one at a time on a Jetty thread (auto-demand after each); everything sent,
 * replies, pongs and changes alike, goes through the connection's bounded {@link Outbox}, which
 * keeps their order. A change is framed once ({@link WireFrames}) and those bytes are what every
 * subscribed connection writes, many frames per gathering write.
 */
public final class RealtimeSocket implements Session.Listener.AutoDemanding {
    private static final Logger log = LoggerFactory.getLogger(RealtimeSocket.class);

    private final RealtimeService service;
    private final PhoenixFrame.Vsn vsn;
    private final RealtimeService.Admission admission;
    private final ClientLimiter limiter;
    private static final byte[] REPLY_OK = PhoenixFrame.ascii("{\"status\":\"ok\",\"response\":");
    private static final byte[] REPLY_ERROR = PhoenixFrame.ascii("{\"status\":\"error\",\"response\":");
    private static final byte[] END = PhoenixFrame.ascii("}");
    private final Map<String, Channel> channels = new ConcurrentHashMap<>();
    private volatile Outbox outbox;
    /** Made once: {@link #sendFrame} runs per change per connection. */
    private final Supplier<byte[]> farewell = this::farewell;
    private volatile Session session;

    public RealtimeSocket(RealtimeService service, String vsn, RealtimeService.Admission admission) {
        this.service = service;
        this.vsn = PhoenixFrame.Vsn.parse(vsn);
        this.admission = admission;
        this.limiter = service.broadcasts().newClient();
    }

    /** Null when {@code vsn} is not a serializer version this server speaks. */
    public static String checkVsn(String vsn) {
        return PhoenixFrame.Vsn.parse(vsn) == null ? "unsupported vsn '" + vsn + "': use 1.0.0 or 2.0.0" : null;
    }

    RealtimeService service() {
        return service;
    }

    PhoenixFrame.Vsn vsn() {
        return vsn;
    }

    ClientLimiter limiter() {
        return limiter;
    }

    @Override
    public void onWebSocketOpen(Session session) {
        this.session = session;
        CoreSession core = ((WebSocketSession) session).getCoreSession();
        // Frames made by WireFrames go to the socket as they are, many per write (copied into one
        // direct buffer of the writer's, see WriteBuffers), past
        // Jetty's frame objects and flushers (which cost more per frame than the write itself). Jetty
        // still reads and answers the close handshake; pings are answered here, in order with the
        // rest. No extension is negotiated (see TidingsServer), so the bytes need no transformation.
        EndPoint endPoint = ((WebSocketCoreSession) core).getConnection().getEndPoint();
        WriteBuffers buffers = service.writer().buffers();
        this.outbox = new Outbox(new Outbox.Transport() {
            private final MergedWrite inFlight = new MergedWrite(buffers);
            private final ByteBuffer[] one = new ByteBuffer[1];

            @Override
            public void write(List<byte[]> frames, Runnable done, Consumer<Throwable> failed) {
                if (!core.isOutputOpen()) {
                    failed.accept(new ClosedChannelException());
                    return;
                }
                service.counters().websocketMessages.add(frames.size());
                ByteBuffer merged = buffers.merge(frames);
                try {
                    if (merged != null) {
                        // one write in flight at a time: the callback and array are reused
                        inFlight.start(merged, done, failed);
                        one[0] = merged;
                        endPoint.write(inFlight, one);
                    } else {
                        ByteBuffer[] gather = new ByteBuffer[frames.size()];
                        for (int i = 0; i < gather.length; i++) {
                            gather[i] = ByteBuffer.wrap(frames.get(i));
                        }
                        endPoint.write(Callback.from(done, failed), gather);
                    }
                } catch (RuntimeException e) {
                    inFlight.release(); // refused before it started: no callback follows
                    failed.accept(e);
                }
            }

            @Override
            public void close(String reason) {
                session.close(StatusCode.TRY_AGAIN_LATER, reason, org.eclipse.jetty.websocket.api.Callback.NOOP);
            }

            @Override
            public void abort() {
                core.abort();
            }
        }, service.sendQueueBytes(), service.sendQueueFrames(), service.writer(), service.timers());
    }

    /** The callback of a write from a {@link WriteBuffers} buffer: gives the buffer back, then reports. */
    private static final class MergedWrite implements Callback {
        private final WriteBuffers buffers;
        private ByteBuffer buffer;
        private Runnable done;
        private Consumer<Throwable> failed;

        MergedWrite(WriteBuffers buffers) {
            this.buffers = buffers;
        }

        void start(ByteBuffer buffer, Runnable done, Consumer<Throwable> failed) {
            this.buffer = buffer;
            this.done = done;
            this.failed = failed;
        }

        @Override
        public void succeeded() {
            release();
            done.run();
        }

        @Override
        public void failed(Throwable x) {
            release();
            failed.accept(x);
        }

        /** Gives the buffer back once (twice would hand one buffer to two writes). */
        void release() {
            ByteBuffer b = buffer;
            buffer = null;
            if (b != null) {
                buffers.release(b);
            }
        }
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
        String joinRef = refText(push.joinRef());
        String ref = refText(push.ref());
        Channel c = channels.get(push.topic());
        if (c == null) {
            reply(joinRef, ref, push.topic(), "error", Map.of("reason", "unmatched topic: join '" + push.topic() + "' first"));
        } else {
            service.broadcasts().onBroadcast(c, ref, push);
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
                } else if (f.event().equals("broadcast")) {
                    service.broadcasts().onBroadcast(c, f.ref(), f.payload());
                } else if (f.event().equals("presence")) {
                    service.broadcasts().onPresence(c, f.ref(), f.payload());
                } else {
                    reply(f, "error", Map.of("reason", "unknown event '" + f.event() + "'"));
                }
            }
        }
    }

    private void join(PhoenixFrame f) {
        String topic = f.topic();
        if (!topic.startsWith("realtime:")) {
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
        JsonNode payload = f.payload();
        String raw = text(payload.get("access_token"));
        if (raw == null) {
            raw = text(payload.get("user_token"));
        }
        if (raw == null) {
            raw = admission.rawToken();
        }
        TokenVerifier.Token token = null;
        if (service.secure()) {
            try {
                token = service.verifier().verify(raw);
            } catch (TokenVerifier.InvalidToken e) {
                reply(f, "error", Map.of("reason", e.getMessage()));
                return;
            }
        }
        AccessPolicy.Grant grant = service.policy().grant(token == null ? Map.of() : token.claims());
        JsonNode config = payload.get("config");
        boolean legacy = config == null || !config.isObject();
        if (!legacy && config.path("private").asBoolean(false)) {
            reply(f, "error", Map.of("reason", BroadcastService.privateRefusal(topic.substring("realtime:".length()))));
            return;
        }
        List<Binding> bindings = new ArrayList<>();
        ArrayNode echo = PhoenixFrame.mapper().createArrayNode();
        try {
            if (legacy) {
                String[] parts = topic.substring("realtime:".length()).split(":", 3);
                Binding b = Binding.of("*", parts[0], parts.length > 1 ? parts[1] : null, parts.length > 2 ? parts[2] : null);
                bindings.add(b);
                ObjectNode e = echo.addObject();
                if (b.schema() != null) {
                    e.put("schema", b.schema());
                }
                if (b.table() != null) {
                    e.put("table", b.table());
                }
                if (!b.filter().isEmpty()) {
                    e.put("filter", b.filter().toString());
                }
                e.put("id", b.id());
            } else {
                JsonNode pg = config.get("postgres_changes");
                if (pg != null && !pg.isNull() && !pg.isArray()) {
                    throw new IllegalArgumentException("config.postgres_changes must be a list of {event, schema, table, filter}");
                }
                for (JsonNode spec : pg == null || pg.isNull() ? List.<JsonNode>of() : iterable(pg)) {
                    if (!spec.isObject()) {
                        throw new IllegalArgumentException("each postgres_changes binding must be an object {event, schema, table, filter}");
                    }
                    Binding b = Binding.of(text(spec.get("event")), text(spec.get("schema")), text(spec.get("table")),
                            text(spec.get("filter")));
                    bindings.add(b);
                    ObjectNode e = spec.deepCopy();
                    e.put("id", b.id());
                    echo.add(e);
                }
            }
            for (Binding b : bindings) {
                check(b, grant);
            }
        } catch (IllegalArgumentException e) {
            reply(f, "error", Map.of("reason", e.getMessage()));
            return;
        }
        Channel channel = new Channel(this, topic, f.joinRef(), legacy, bindings, grant,
                BroadcastService.options(legacy ? null : config));
        channels.put(topic, channel);
        service.broadcasts().join(channel);
        reply(f, "ok", Map.of("postgres_changes", echo));
        channel.joined();
        service.fanOut().subscribe(channel, channel.scopes);
        if (token != null) {
            channel.expireAt(token.expiresAt(), () -> shut(channel, "Token has expired"));
        }
        if (!legacy && !bindings.isEmpty()) {
            service.fanOut().whenLive(() -> {
                if (!channel.closed()) {
                    Map<String, Object> system = new LinkedHashMap<>();
                    system.put("extension", "postgres_changes");
                    system.put("status", "ok");
                    system.put("message", "Subscribed to PostgreSQL");
                    system.put("channel", topic.substring("realtime:".length()));
                    push(channel, "system", system);
                }
            });
        }
    }

    /** Refuses a binding the grant does not allow, or whose filter cannot apply to its table. */
    private void check(Binding b, AccessPolicy.Grant grant) {
        if (b.table() == null) {
            if (!grant.anyTable()) {
                throw new IllegalArgumentException("role '" + grant.role() + "' may not subscribe to any table");
            }
            return;
        }
        String refusal = grant.refusal(b.schema(), b.table());
        if (refusal != null) {
            throw new IllegalArgumentException(refusal);
        }
        if (service.catalog() == null) {
            return;
        }
        Map<String, String> columns = service.catalog().columns(b.schema(), b.table());
        if (columns == null) {
            return;
        }
        if (columns.isEmpty()) {
            throw new IllegalArgumentException("table " + b.schema() + "." + b.table() + " does not exist");
        }
        for (Filter.Condition c : b.filter().conditions()) {
            String type = columns.get(c.column());
            if (type == null) {
                throw new IllegalArgumentException("invalid filter '" + b.filter() + "': column '" + c.column()
                        + "' does not exist in " + b.schema() + "." + b.table());
            }
            String problem = c.checkAgainst(type);
            if (problem != null) {
                throw new IllegalArgumentException("invalid filter '" + b.filter() + "': " + problem);
            }
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
        String raw = text(tokenNode);
        if (raw == null || !service.secure()) {
            return;
        }
        TokenVerifier.Token token;
        try {
            token = service.verifier().verify(raw);
        } catch (TokenVerifier.InvalidToken e) {
            shut(c, e.getMessage());
            return;
        }
        AccessPolicy.Grant grant = service.policy().grant(token.claims());
        for (Binding b : c.bindings) {
            String refusal = b.table() == null ? (grant.anyTable() ? null : "role '" + grant.role() + "' may not subscribe to any table")
                    : grant.refusal(b.schema(), b.table());
            if (refusal != null) {
                shut(c, refusal);
                return;
            }
        }
        c.grant(grant);
        c.expireAt(token.expiresAt(), () -> shut(c, "Token has expired"));
    }

    /** Ends a channel from the server's side: a system error message, then {@code phx_close}. */
    void shut(Channel c, String why) {
        if (!channels.remove(c.topic, c)) {
            return;
        }
        unsubscribe(c);
        Map<String, Object> system = new LinkedHashMap<>();
        system.put("extension", "system");
        system.put("status", "error");
        system.put("message", why);
        system.put("channel", c.topic.substring("realtime:".length()));
        push(c, "system", system);
        send(vsn.encode(c.joinRef, c.joinRef, c.topicJson, "phx_close", PhoenixFrame.json(Map.of())));
    }

    private void unsubscribe(Channel c) {
        c.close();
        service.fanOut().unsubscribe(c, c.scopes);
        service.broadcasts().leave(c);
    }

    /** Replies to a push of channel {@code c}; {@code response} is a JSON object. */
    void reply(Channel c, String ref, boolean ok, byte[] response) {
        send(vsn.encode(c.joinRef, ref, c.topicJson, "phx_reply", response, ok ? REPLY_OK : REPLY_ERROR, END));
    }

    void push(Channel c, String event, Map<String, ?> payload) {
        send(vsn.encode(c.joinRef, NULL, c.topicJson, event, PhoenixFrame.json(payload)));
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
    void sendFrame(byte[] frame) {
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
        Map<String, Object> system = new LinkedHashMap<>();
        system.put("extension", "system");
        system.put("status", "error");
        system.put("message", "Disconnected: this client did not read changes as fast as they came (more than "
                + service.sendQueueBytes() + " bytes or " + service.sendQueueFrames() + " messages waiting)");
        return WireFrames.text(vsn.encode(NULL, NULL, PhoenixFrame.quote(topic), "system", PhoenixFrame.json(system)));
    }

    private static String text(JsonNode n) {
        return n != null && n.isTextual() && !n.asText().isEmpty() ? n.asText() : null;
    }

    private static Iterable<JsonNode> iterable(JsonNode array) {
        List<JsonNode> out = new ArrayList<>();
        array.forEach(out::add);
        return out;
    }

    @Override
    public String toString() {
        Session s = session;
        return "realtime connection " + (s == null ? "" : s.getRemoteSocketAddress());
    }
}
