package dev.tidings.server.http;

import dev.tidings.Tidings;
import dev.tidings.server.config.ServeConfig;
import dev.tidings.server.realtime.AccessPolicy;
import dev.tidings.server.realtime.FanOut;
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

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code tidings serve} as an object: the replication stream feeding a {@link FanOut}, and one HTTP
 * port with the Realtime WebSocket ({@code /socket/websocket}, {@code /realtime/v1/websocket}),
 * Server-Sent Events ({@code /events}) and {@code /health}.
 *
 * <p>Why Jetty 12 (core API, no servlets): its WebSocket stack gives per-message callbacks and
 * exposes the core session, so a frame built from bytes serialized once is written as-is, and a
 * write that does not complete is visible — what a bounded per-connection queue needs. Its async
 * {@code Response.write} serves SSE the same way. Netty would do too, but needs the HTTP/WebSocket
 * plumbing (upgrade, aggregation, close handshake) written by hand.
 *
 * <p>The stream uses the slot of the configuration: temporary by default, as the Realtime image
 * without {@code SLOT_NAME} (a live server has nothing to resume); every change is acknowledged as
 * soon as it was queued to the subscribers, so the slot never holds WAL for a slow client.
 */
public final class TidingsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TidingsServer.class);

    private final ServeConfig config;
    private final ScheduledExecutorService timers;
    private final FanOut fanOut;
    private final TableCatalog catalog;
    private final Server jetty;
    private final Tidings tidings;
    private final Thread watcher;

    private TidingsServer(ServeConfig config) throws Exception {
        this.config = config;
        this.timers = Executors.newScheduledThreadPool(1, r -> Thread.ofPlatform().name("tidings-timers").daemon(true).unstarted(r));
        Tidings[] stream = new Tidings[1];
        this.fanOut = new FanOut(() -> stream[0] != null && stream[0].streaming(), timers);
        this.catalog = new TableCatalog(config.database());
        TokenVerifier verifier = config.secureChannels() ? new TokenVerifier(config.jwtSecret(), config.jwksUrl()) : null;
        RealtimeService service = new RealtimeService(fanOut, verifier, new AccessPolicy(config.roles(), config.rowPolicies()),
                catalog, timers, config.sendQueueBytes(), config.sendQueueFrames());

        this.jetty = new Server();
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
            return new RealtimeSocket(service, q.getValue("vsn"), admission);
        };
        WebSocketUpgradeHandler websockets = WebSocketUpgradeHandler.from(jetty, container -> {
            container.addMapping("/socket/websocket", creator);
            container.addMapping("/realtime/v1/websocket", creator);
            container.setMaxTextMessageSize(config.maxFrameBytes());
            container.setMaxBinaryMessageSize(config.maxFrameBytes());
            container.setIdleTimeout(Duration.ofSeconds(90));
        });
        Handler.Sequence routes = new Handler.Sequence(new ConsoleHandler(), new SseHandler(service, config.sseKeepAlive()), new Health());
        websockets.setHandler(routes);
        jetty.setHandler(websockets);
        jetty.start();

        SourceConfig source = SourceConfig.of(config.database())
                .withSlot(config.slot(), config.temporarySlot())
                .withPublication(config.publication(), config.tables());
        this.tidings = Tidings.start(source, fanOut);
        stream[0] = tidings;
        this.watcher = Thread.ofPlatform().name("tidings-stream-watch").daemon(true).start(this::watch);
        if (config.maxReplicationLagMb() != null && !config.temporarySlot()) {
            timers.scheduleWithFixedDelay(this::checkLag, 30, 30, TimeUnit.SECONDS);
        }
        log.info("tidings serve: listening on {}:{} (Realtime WebSocket /socket/websocket, /realtime/v1/websocket; SSE /events; "
                        + "/health); streaming {} with {} slot {}; secure channels {}", config.bind(), port(),
                config.database(), config.temporarySlot() ? "temporary" : "persistent", config.slot(),
                config.secureChannels() ? "on" : "off");
    }

    /** Starts the HTTP server and the replication stream; returns once the port is bound. */
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

    private void checkLag() {
        try (Connection c = config.database().connect();
             PreparedStatement ps = c.prepareStatement("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) "
                     + "FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, config.slot());
            try (ResultSet r = ps.executeQuery()) {
                if (r.next() && r.getLong(1) > config.maxReplicationLagMb() * 1024L * 1024L) {
                    log.warn("replication slot {} lags {} MB behind, more than MAX_REPLICATION_LAG_MB={}; Tidings does not "
                            + "drop slots by itself: check the stream, or drop the slot to free WAL (changes in it are lost)",
                            config.slot(), r.getLong(1) >> 20, config.maxReplicationLagMb());
                }
            }
        } catch (Exception e) {
            log.debug("lag check failed", e);
        }
    }

    @Override
    public void close() {
        try {
            jetty.stop();
        } catch (Exception e) {
            log.warn("stopping the HTTP server: {}", e.toString());
        }
        tidings.stop();
        watcher.interrupt();
        catalog.close();
        timers.shutdownNow();
    }

    /** {@code GET /health}: 200 while the replication stream is connected, 503 otherwise. */
    private final class Health extends Handler.Abstract.NonBlocking {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String path = Request.getPathInContext(request);
            if (!path.equals("/health")) {
                response.setStatus(404);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
                response.write(true, ByteBuffer.wrap(("not found: " + path + " (endpoints: /socket/websocket, "
                        + "/realtime/v1/websocket, /events, /health)\n").getBytes(StandardCharsets.UTF_8)), callback);
                return true;
            }
            boolean up = tidings.streaming();
            response.setStatus(up ? 200 : 503);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            String body = "{\"status\":\"" + (up ? "ok" : "not streaming") + "\",\"streaming\":" + up
                    + ",\"subscriptions\":" + fanOut.size() + "}";
            response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
