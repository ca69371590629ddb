package dev.tidings.server.http;

import dev.tidings.Tidings;
import dev.tidings.pipeline.FanOutDelivery;
import dev.tidings.server.broadcast.BroadcastService;
import dev.tidings.server.broadcast.DatabaseBroadcasts;
import dev.tidings.server.broadcast.LocalRooms;
import dev.tidings.server.config.ServeConfig;
import dev.tidings.server.metrics.ServeMetrics;
import dev.tidings.server.realtime.LiveCounters;
import dev.tidings.server.sinks.SinkConfig;
import dev.tidings.server.stream.ServeDelivery;
import dev.tidings.server.stream.SlotLag;
import dev.tidings.server.stream.StreamStats;
import dev.tidings.sink.SinkMetrics;
import dev.tidings.server.realtime.AccessPolicy;
import dev.tidings.server.realtime.FanOut;
import dev.tidings.server.realtime.OutboxWriter;
import dev.tidings.server.realtime.RealtimeService;
import dev.tidings.server.realtime.RealtimeSocket;
import dev.tidings.server.realtime.TableCatalog;
import dev.tidings.server.realtime.TokenVerifier;
import dev.tidings.server.sse.SseHandler;
import dev.tidings.source.SourceConfig;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.websocket.server.WebSocketCreator;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code tidings serve} as an object: one replication stream whose {@link ServeDelivery} feeds the
 * live {@link FanOut} (WebSocket, SSE) and the durable sinks of the configuration, and one HTTP
 * port with the Realtime WebSocket ({@code /socket/websocket}, {@code /realtime/v1/websocket}),
 * Server-Sent Events ({@code /events}), {@code /health}, {@code /ready}, {@code /api/status} and
 * {@code /metrics}.
 *
 * <p>Why Jetty 12 (core API, no servlets): its WebSocket stack gives per-message callbacks and
 * exposes the core session, so a frame built from bytes serialized once is written as-is, and a
 * write that does not complete is visible — what a bounded per-connection queue needs. Its async
 * {@code Response.write} serves SSE the same way. Netty would do too, but needs the HTTP/WebSocket
 * plumbing (upgrade, aggregation, close handshake) written by hand.
 *
 * <p>Acknowledgement: without durable sinks every change is acknowledged as soon as it was queued
 * to the live subscribers, so the slot never holds WAL for a slow client; with them, when every
 * durable sink confirmed it (see {@link dev.tidings.pipeline.FanOutDelivery}). The slot is
 * temporary by default only without durable sinks (see {@code ServeConfigLoader}).
 *
 * <p>{@link #close()} is the graceful shutdown: stop reading WAL, let the durable sinks confirm what
 * was read, confirm it to PostgreSQL, close the sinks, then stop HTTP, which closes every WebSocket
 * with a close frame (1001, going away) and ends SSE streams.
 */
public final class TidingsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TidingsServer.class);
    /** The version of Tidings, from the build. */
    public static final String VERSION = version();

    private final ServeConfig config;
    private final long startedMillis = System.currentTimeMillis();
    private final ScheduledExecutorService timers;
    private final ScheduledExecutorService lagTimer;
    private final OutboxWriter writer = new OutboxWriter();
    private final FanOut fanOut;
    private final TableCatalog catalog;
    private final LiveCounters counters = new LiveCounters();
    private final BroadcastService broadcasts;
    private final StreamStats stats = new StreamStats();
    private final FanOutDelivery durable;
    private final ServeDelivery delivery;
    private final SlotLag lag;
    private final Server jetty;
    private final WebSocketUpgradeHandler websockets;
    private final Tidings tidings;
    private final ServeMetrics metrics;
    private final Thread watcher;
    private boolean closed;

    private TidingsServer(ServeConfig config) throws Exception {
        this.config = config;
        this.timers = Executors.newScheduledThreadPool(1, r -> Thread.ofPlatform().name("tidings-timers").daemon(true).unstarted(r));
        this.lagTimer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("tidings-lag").daemon(true).unstarted(r));
        Tidings[] stream = new Tidings[1];
        this.fanOut = new FanOut(() -> stream[0] != null && stream[0].streaming(), timers);
        this.catalog = new TableCatalog(config.database());
        TokenVerifier verifier = config.secureChannels() ? new TokenVerifier(config.jwtSecret(), config.jwksUrl()) : null;
        this.broadcasts = new BroadcastService(new LocalRooms(), config.limits());
        RealtimeService service = new RealtimeService(fanOut, verifier, new AccessPolicy(config.roles(), config.rowPolicies()),
                catalog, writer, timers, config.sendQueueBytes(), config.sendQueueFrames(), counters, broadcasts);
        DatabaseBroadcasts fromDatabase = new DatabaseBroadcasts(broadcasts);
        fanOut.subscribe((event, bytes) -> fromDatabase.onChange(event),
                List.of(new FanOut.Scope(DatabaseBroadcasts.SCHEMA, DatabaseBroadcasts.TABLE)));

        this.durable = config.sinks().isEmpty() ? null : new FanOutDelivery(SinkConfig.openAll(config.sinks()));
        this.delivery = new ServeDelivery(fanOut, durable, stats);
        this.lag = new SlotLag(config.database(), config.slot(), config.maxReplicationLagMb(), config.pauseOnMaxLag(),
                delivery::pauseLive);

        this.jetty = new Server();
        jetty.setStopTimeout(5_000);
        ServerConnector connector = new ServerConnector(jetty);
        connector.setHost(config.bind());
        connector.setPort(config.port());
        connector.setIdleTimeout(Duration.ofSeconds(120).toMillis());
        jetty.addConnector(connector);
        WebSocketCreator creator = (request, response, callback) -> {
            Fields q = Request.extractQueryParameters(request);
            String problem = RealtimeSocket.checkVsn(q.getValue("vsn"));
            if (problem != null) {
                Response.writeError(request, response, callback, 400, problem);
                return null;
            }
            RealtimeService.Admission admission = service.admit(q.getValue("apikey"), q.getValue("token"),
                    request.getHeaders().get("x-api-key"), request.getHeaders().get(HttpHeader.AUTHORIZATION));
            if (!admission.admitted()) {
                Response.writeError(request, response, callback, admission.status(), admission.reason());
                return null;
            }
            // no permessage-deflate (Supabase Realtime does not compress either): compressing each
            // change once per connection would cost more than everything else the fan-out does
            response.setExtensions(List.of());
            return new RealtimeSocket(service, q.getValue("vsn"), admission);
        };
        this.websockets = WebSocketUpgradeHandler.from(jetty, container -> {
            container.addMapping("/socket/websocket", creator);
            container.addMapping("/realtime/v1/websocket", creator);
            container.setMaxTextMessageSize(config.maxFrameBytes());
            container.setMaxBinaryMessageSize(config.maxFrameBytes());
            container.setIdleTimeout(Duration.ofSeconds(90));
        });
        Handler.Sequence routes = new Handler.Sequence(new ConsoleHandler(), new SseHandler(service, config.sseKeepAlive()),
                new BroadcastEndpoint(service),
                new OperationsHandler(this, service, config.metricsPublic()), new NotFound());
        websockets.setHandler(routes);
        jetty.setHandler(websockets);

        SourceConfig source = SourceConfig.of(config.database())
                .withSlot(config.slot(), config.temporarySlot())
                .withPublication(config.publication(), config.tables());
        this.tidings = Tidings.start(source, delivery);
        stream[0] = tidings;
        this.metrics = new ServeMetrics(tidings, stats, lag, delivery, sinkMetrics(), StatusReport::level, counters,
                this::websocketClients);
        metrics.bind(broadcasts);
        try {
            jetty.start();
        } catch (Exception e) {
            tidings.stop();
            closeSinks();
            throw e;
        }
        this.watcher = Thread.ofPlatform().name("tidings-stream-watch").daemon(true).start(this::watch);
        lagTimer.scheduleWithFixedDelay(lag::check, 0, config.lagCheck().toMillis(), TimeUnit.MILLISECONDS);
        log.info("tidings serve: listening on {}:{} (Realtime WebSocket /socket/websocket, /realtime/v1/websocket; SSE /events; "
                        + "/health /ready /api/status /metrics); streaming {} with {} slot {}; {} durable sink{}; secure channels {}",
                config.bind(), port(), config.database(), config.temporarySlot() ? "temporary" : "persistent", config.slot(),
                config.sinks().size(), config.sinks().size() == 1 ? "" : "s", config.secureChannels() ? "on" : "off");
    }

    /** Starts the HTTP server, the sinks and the replication stream; returns once the port is bound. */
    public static TidingsServer start(ServeConfig config) throws Exception {
        return new TidingsServer(config);
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
    }

    public boolean streaming() {
        return tidings.streaming();
    }

    public FanOut fanOut() {
        return fanOut;
    }

    /** Waits until the replication stream ends; throws what ended it. */
    public void await() throws Exception {
        tidings.await();
    }

    ServeConfig config() {
        return config;
    }

    Tidings tidings() {
        return tidings;
    }

    StreamStats stats() {
        return stats;
    }

    SlotLag lag() {
        return lag;
    }

    LiveCounters counters() {
        return counters;
    }

    ServeMetrics metrics() {
        return metrics;
    }

    long uptimeMillis() {
        return System.currentTimeMillis() - startedMillis;
    }

    int websocketClients() {
        return websockets.getServerWebSocketContainer().getOpenSessions().size();
    }

    /** Per durable sink, in configuration order; empty without sinks. */
    List<SinkMetrics> sinkMetrics() {
        return durable == null ? List.of() : durable.metrics();
    }

    private void watch() {
        try {
            tidings.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.error("the replication stream ended: {}", e.getMessage());
            fanOut.streamEnded("the replication stream ended: " + e.getMessage());
        }
    }

    /**
     * Graceful shutdown (see the class comment). Idempotent; a second caller waits for the first.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        log.info("stopping: reading no more WAL; waiting for the sinks to confirm what was read");
        lagTimer.shutdownNow();
        tidings.stop();
        closeSinks();
        log.info("confirmed {} to PostgreSQL; closing client connections", tidings.confirmed());
        try {
            jetty.stop();
        } catch (Exception e) {
            log.warn("stopping the HTTP server: {}", e.toString());
        }
        watcher.interrupt();
        catalog.close();
        writer.close();
        timers.shutdownNow();
        lag.close();
        metrics.close();
        log.info("stopped");
    }

    private void closeSinks() {
        if (durable != null) {
            durable.close();
        }
    }

    private static String version() {
        try (InputStream in = TidingsServer.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Last in line: names the endpoints there are. */
    private static final class NotFound extends Handler.Abstract.NonBlocking {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            response.setStatus(404);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
            response.write(true, ByteBuffer.wrap(("not found: " + Request.getPathInContext(request) + " (endpoints: "
                    + "/socket/websocket, /realtime/v1/websocket, /events, /api/broadcast, /health, /ready, /api/status, /metrics)\n")
                    .getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
