package dev.tidings.server.http;

import dev.tidings.server.auth.AccessPolicy;
import dev.tidings.server.auth.Authenticator;
import dev.tidings.server.auth.TokenVerifier;
import dev.tidings.server.broadcast.BroadcastService;
import dev.tidings.server.broadcast.DatabaseBroadcasts;
import dev.tidings.server.broadcast.RelayedRooms;
import dev.tidings.server.broadcast.Rooms;
import dev.tidings.server.config.ServeConfig;
import dev.tidings.server.edge.EdgeNode;
import dev.tidings.server.live.LiveCounters;
import dev.tidings.server.live.LiveFanOut;
import dev.tidings.server.live.LiveService;
import dev.tidings.server.live.OutboxWriter;
import dev.tidings.server.live.StreamLiveness;
import dev.tidings.server.realtime.RealtimeEndpoint;
import dev.tidings.server.sse.SseHandler;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.IntSupplier;

/**
 * {@code tidings serve --from nats://…} or {@code kafka://…}: an edge node. It never connects to PostgreSQL: an
 * {@link EdgeNode} reads the events the leader's NATS or Kafka sink published and feeds the same live
 * fan-out, Realtime and SSE endpoints a leader has, and they resume from the broker
 * ({@link EdgeNode#log()}) with the ids every node shares. Adding an edge needs no change on
 * the leader. Broadcasts from {@code realtime.messages} reach an edge's clients through the
 * stream, as on the leader; client broadcasts and presence reach the other nodes through {@code broadcast.relay}.
 * {@code /api/consumers} serves consumer groups kept in the broker, shared by every edge: JetStream
 * durable pull consumers of the stream, or Kafka share groups of the topic.
 *
 * <p>{@code /metrics} has the edge's own meters and, with a relay, the relay's. {@code /ready} is 200 while the broker is connected and consumed; {@code /health} and
 * {@code /api/status} say {@code "role":"edge"} and the source position.
 */
public final class EdgeServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EdgeServer.class);

    private final EdgeNode node;
    private final LiveFanOut fanOut;
    private final ScheduledExecutorService timers;
    private final OutboxWriter writer;
    private final Rooms rooms;
    private final Server jetty;
    private final CountDownLatch closed = new CountDownLatch(1);

    private EdgeServer(EdgeNode node, LiveFanOut fanOut, ScheduledExecutorService timers, OutboxWriter writer, Rooms rooms, Server jetty) {
        this.node = node;
        this.fanOut = fanOut;
        this.timers = timers;
        this.writer = writer;
        this.rooms = rooms;
        this.jetty = jetty;
    }

    /** Connects to the broker, fills the window, then opens the HTTP port; returns once it is bound. */
    public static EdgeServer start(ServeConfig config) throws Exception {
        ServeConfig.Edge edge = config.edge();
        Authenticator auth = new Authenticator(
                config.auth().secureChannels() ? new TokenVerifier(config.auth().tokens()) : null,
                new AccessPolicy(config.auth().roles(), config.auth().rows()));
        ScheduledExecutorService timers = Executors.newScheduledThreadPool(1,
                r -> Thread.ofPlatform().name("tidings-timers").daemon(true).unstarted(r));
        OutboxWriter writer = new OutboxWriter();
        LiveFanOut fanOut = new LiveFanOut();
        Rooms rooms = RelayedRooms.open(config.relay());
        BroadcastService broadcasts = new BroadcastService(rooms, config.limits().clients());
        DatabaseBroadcasts fromDatabase = new DatabaseBroadcasts(broadcasts);
        EdgeNode node;
        try {
            node = EdgeNode.start(edge.from(), edge.window(), event -> {
                fanOut.publish(event);
                fromDatabase.onChange(event);
            });
        } catch (Exception e) {
            rooms.close();
            throw e;
        }
        EdgeServer server;
        try {
            LiveCounters counters = new LiveCounters();
            LiveService live = new LiveService(fanOut, new StreamLiveness(node::live, timers), writer, timers,
                    config.limits().sendQueueBytes(), config.limits().sendQueueMessages(), counters);
            Server jetty = TidingsServer.jetty(config.server());
            RealtimeEndpoint realtime = new RealtimeEndpoint(live, auth, null, broadcasts, node.log(), null, null);
            WebSocketUpgradeHandler websockets = WebSocketUpgradeHandler.from(jetty,
                    container -> realtime.install(container, config.limits().maxFrameBytes()));
            websockets.setHandler(new Handler.Sequence(new ConsoleHandler(),
                    new SseHandler(live, auth, config.server().sseKeepAlive(), null, node.log(), false),
                    new BroadcastEndpoint(auth, broadcasts, null),
                    new ConsumersHandler(node.groups(), null, auth),
                    new Operations(node, fanOut, metrics(node, counters, broadcasts,
                            () -> websockets.getServerWebSocketContainer().getOpenSessions().size()), auth,
                            config.server().metricsPublic() || !auth.secure()), new TidingsServer.NotFound()));
            jetty.setHandler(websockets);
            server = new EdgeServer(node, fanOut, timers, writer, rooms, jetty);
            jetty.start();
        } catch (Exception e) {
            node.close();
            rooms.close();
            throw e;
        }
        log.info("tidings serve: edge node listening on {}:{} (Realtime WebSocket, SSE /events, /health /ready /api/status), "
                + "reading {}", config.server().bind(), server.port(), edge.from());
        return server;
    }

    /**
     * An edge's {@code /metrics}: what it read from the broker, its clients, Broadcast and Presence
     * (with the relay's meters when {@code broadcast.relay} is set), JVM memory and threads.
     */
    private static PrometheusMeterRegistry metrics(EdgeNode node, LiveCounters counters, BroadcastService broadcasts,
                                                   IntSupplier websocketClients) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        FunctionCounter.builder("tidings.edge.events", node, EdgeNode::events)
                .description("events this edge read from the broker").register(registry);
        Gauge.builder("tidings.edge.connected", node, n -> n.live() ? 1 : 0)
                .description("1 while the edge is connected to the broker and consuming").strongReference(true).register(registry);
        Gauge.builder("tidings.websocket.clients", websocketClients, IntSupplier::getAsInt).description("open WebSocket connections")
                .strongReference(true).register(registry);
        FunctionCounter.builder("tidings.websocket.messages.sent", counters, LiveCounters::websocketMessages)
                .description("frames written to WebSocket clients").register(registry);
        Gauge.builder("tidings.sse.clients", counters, LiveCounters::sseClients).description("open Server-Sent Events streams")
                .strongReference(true).register(registry);
        FunctionCounter.builder("tidings.sse.messages.sent", counters, LiveCounters::sseMessages)
                .description("events written to SSE streams").register(registry);
        broadcasts.bindTo(registry);
        return registry;
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
    }

    /** Waits until {@link #close()}. An edge has no stream that ends: the broker client reconnects by itself. */
    public void await() throws InterruptedException {
        closed.await();
    }

    @Override
    public synchronized void close() {
        if (closed.getCount() == 0) {
            return;
        }
        node.close();
        try {
            jetty.stop();
        } catch (Exception e) {
            log.warn("stopping the HTTP server: {}", e.toString());
        }
        rooms.close();
        writer.close();
        timers.shutdownNow();
        closed.countDown();
        log.info("stopped");
    }

    /** {@code /health}, {@code /ready}, {@code /api/status}, {@code /metrics} of an edge: its role, whether it consumes, where it is. */
    private static final class Operations extends Handler.Abstract {
        private final EdgeNode node;
        private final LiveFanOut fanOut;
        private final PrometheusMeterRegistry metrics;
        private final Authenticator auth;
        private final boolean open;

        /** @param open whether {@code /api/status} and {@code /metrics} need no token (as on the leader: {@code metrics.public} or no secure channels) */
        Operations(EdgeNode node, LiveFanOut fanOut, PrometheusMeterRegistry metrics, Authenticator auth, boolean open) {
            this.node = node;
            this.fanOut = fanOut;
            this.metrics = metrics;
            this.auth = auth;
            this.open = open;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String body;
            int status = 200;
            switch (Request.getPathInContext(request)) {
                case "/health" -> body = "{\"status\":\"ok\",\"role\":\"edge\",\"streaming\":" + node.live()
                        + ",\"subscriptions\":" + fanOut.size() + "}";
                case "/ready" -> {
                    status = node.live() ? 200 : 503;
                    body = node.live() ? "{\"status\":\"ready\",\"role\":\"edge\",\"source\":" + node.positionJson() + "}"
                            : "{\"status\":\"not ready\",\"role\":\"edge\",\"reason\":\"not connected to " + node.from()
                            + "; the client reconnects by itself\"}";
                }
                case "/api/status" -> {
                    if (!OperationsHandler.admitted(auth, open, request, response, callback)) {
                        return true;
                    }
                    body = "{\"version\":\"" + TidingsServer.VERSION + "\",\"role\":\"edge\",\"ready\":"
                            + node.live() + ",\"subscriptions\":" + fanOut.size() + ",\"source\":" + node.positionJson() + "}";
                }
                case "/metrics" -> {
                    if (!OperationsHandler.admitted(auth, open, request, response, callback)) {
                        return true;
                    }
                    response.setStatus(200);
                    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
                    response.write(true, ByteBuffer.wrap(metrics.scrape().getBytes(StandardCharsets.UTF_8)), callback);
                    return true;
                }
                default -> {
                    return false;
                }
            }
            response.setStatus(status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
            response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
