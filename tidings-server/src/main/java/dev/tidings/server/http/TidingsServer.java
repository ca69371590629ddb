package dev.tidings.server.http;

import dev.tidings.Tidings;
import dev.tidings.base.Version;
import dev.tidings.pipeline.SinkFanOut;
import dev.tidings.server.broadcast.BroadcastService;
import dev.tidings.server.broadcast.DatabaseBroadcasts;
import dev.tidings.server.broadcast.RelayedRooms;
import dev.tidings.server.broadcast.Rooms;
import dev.tidings.server.config.ServeConfig;
import dev.tidings.server.consumers.ConsumerGroups;
import dev.tidings.server.metrics.ServeMetrics;
import dev.tidings.server.auth.AccessPolicy;
import dev.tidings.server.auth.Authenticator;
import dev.tidings.server.auth.ChannelAuthorization;
import dev.tidings.server.auth.RowSecurity;
import dev.tidings.server.auth.TokenVerifier;
import dev.tidings.server.live.LiveCounters;
import dev.tidings.server.live.LiveFanOut;
import dev.tidings.server.live.LiveService;
import dev.tidings.server.live.OutboxWriter;
import dev.tidings.server.live.StreamLiveness;
import dev.tidings.server.log.ChangeLog;
import dev.tidings.server.log.GroupCommit;
import dev.tidings.server.log.MvStoreChangeLog;
import dev.tidings.server.realtime.RealtimeEndpoint;
import dev.tidings.server.realtime.TableCatalog;
import dev.tidings.server.config.SinkConfig;
import dev.tidings.server.sse.SseHandler;
import dev.tidings.server.stream.ServeDelivery;
import dev.tidings.server.stream.SlotLag;
import dev.tidings.server.stream.StreamStats;
import dev.tidings.sink.SinkMetrics;
import dev.tidings.source.Fence;
import dev.tidings.source.Leadership;
import dev.tidings.source.SourceConfig;
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

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * {@code tidings serve} as an object: one replication stream whose {@link ServeDelivery} feeds the
 * live {@link LiveFanOut} (WebSocket, SSE) and the durable sinks of the configuration, and one HTTP
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
 * durable sink confirmed it (see {@link dev.tidings.pipeline.SinkFanOut}); with a change log
 * ({@code log.dir}), also only once the log made it durable ({@link GroupCommit}) and every durable
 * consumer group acknowledged it ({@link ConsumerGroups}, {@code /api/consumers}, which needs the log). The slot is
 * temporary by default only without durable sinks (see {@code ServeConfigLoader}).
 *
 * <p>With {@code ha.enabled} a {@link Leadership} decides whether this process reads the slot: the
 * HTTP side runs either way (a standby is healthy, not ready), the stream waits until this process
 * leads, and the same leadership fences the durable sinks (see {@link Leadership}).
 *
 * <p>{@link #close()} is the graceful shutdown: stop reading WAL, let the durable sinks confirm what
 * was read, confirm it to PostgreSQL, close the sinks, then stop HTTP, which closes every WebSocket
 * with a close frame (1001, going away) and ends SSE streams.
 */
public final class TidingsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TidingsServer.class);
    /** The version of Tidings ({@link Version}). */
    public static final String VERSION = Version.CURRENT;

    private final ServeState state;
    private final ScheduledExecutorService timers;
    private final ScheduledExecutorService lagTimer;
    private final OutboxWriter writer;
    private final TableCatalog catalog;
    /** The RLS checks in RLS mode, else null. */
    private final RowSecurity rowSecurity;
    /** Authorizes private channels (joins and REST messages). */
    private final ChannelAuthorization channels;
    private final SinkFanOut durable;
    private final GroupCommit changeLog;
    private final ConsumerGroups groups;
    private final Rooms rooms;
    private final Server jetty;
    private final Thread watcher;
    private boolean closed;

    private TidingsServer(ServeState state, ScheduledExecutorService timers, ScheduledExecutorService lagTimer,
                          OutboxWriter writer, TableCatalog catalog, RowSecurity rowSecurity, ChannelAuthorization channels,
                          SinkFanOut durable, GroupCommit changeLog, ConsumerGroups groups, Rooms rooms, Server jetty) {
        this.state = state;
        this.timers = timers;
        this.lagTimer = lagTimer;
        this.writer = writer;
        this.catalog = catalog;
        this.rowSecurity = rowSecurity;
        this.channels = channels;
        this.durable = durable;
        this.changeLog = changeLog;
        this.groups = groups;
        this.rooms = rooms;
        this.jetty = jetty;
        this.watcher = Thread.ofPlatform().name("tidings-stream-watch").daemon(true)
                .unstarted(() -> watch(state.tidings(), state.fanOut()));
    }

    /**
     * Starts the sinks, the replication stream and the HTTP server, in that order; returns once the
     * port is bound. The one place where the server is assembled.
     */
    public static TidingsServer start(ServeConfig config) throws Exception {
        long startedMillis = System.currentTimeMillis();
        Authenticator auth = new Authenticator(
                config.auth().secureChannels() ? new TokenVerifier(config.auth().tokens()) : null,
                new AccessPolicy(config.auth().roles(), config.auth().rows()));
        ScheduledExecutorService timers = Executors.newScheduledThreadPool(1,
                r -> Thread.ofPlatform().name("tidings-timers").daemon(true).unstarted(r));
        ScheduledExecutorService lagTimer = Executors.newSingleThreadScheduledExecutor(
                r -> Thread.ofPlatform().name("tidings-lag").daemon(true).unstarted(r));
        OutboxWriter writer = new OutboxWriter();
        LiveFanOut fanOut = new LiveFanOut();
        LiveCounters counters = new LiveCounters();
        StreamStats stats = new StreamStats();
        TableCatalog catalog = new TableCatalog(config.db());
        Leadership leadership = config.ha().enabled()
                ? new Leadership(config.db(), config.replication().slot(), config.ha().lease()) : null;
        // the log first: it fails fast (a directory in use), before any sink connection is opened
        GroupCommit changeLog = config.changeLog() == null ? null : new GroupCommit(MvStoreChangeLog.open(config.changeLog().dir(),
                new ChangeLog.Retention(config.changeLog().retention(), config.changeLog().maxBytes()), Clock.systemUTC()),
                Duration.ofSeconds(10));
        ConsumerGroups groups = changeLog == null ? null : new ConsumerGroups(changeLog);
        SinkFanOut durable = null;
        Rooms rooms;
        try {
            durable = config.sinks().isEmpty() ? null : new SinkFanOut(SinkConfig.openAll(config.sinks()),
                    leadership == null ? Fence.ALWAYS : leadership);
            rooms = RelayedRooms.open(config.relay());
        } catch (Exception e) {
            if (durable != null) {
                durable.close();
            }
            if (changeLog != null) {
                groups.close();
                changeLog.close();
            }
            throw e;
        }
        BroadcastService broadcasts = new BroadcastService(rooms, config.limits().clients());
        DatabaseBroadcasts fromDatabase = new DatabaseBroadcasts(broadcasts);
        ServeDelivery delivery = new ServeDelivery(fanOut, fromDatabase::onChange, durable, changeLog, groups, stats);
        ServeConfig.Replication replication = config.replication();
        SlotLag lag = new SlotLag(config.db(), replication.slot(), replication.maxLagMb(), replication.pauseOnMaxLag(),
                delivery::pauseLive);

        SourceConfig source = SourceConfig.of(config.db())
                .withSlot(config.replication().slot(), config.replication().temporary())
                .withPublication(config.replication().publication(), config.replication().tables())
                .withSkipOrigins(config.replication().skipOrigins())
                .withSnapshot(config.backfill())
                .withLeadership(leadership)
                .withFailoverSlot(replication.failover());
        Tidings tidings = Tidings.start(source, delivery);
        RowSecurity rowSecurity = config.auth().rls() ? new RowSecurity(config.db()) : null;
        ChannelAuthorization channels = new ChannelAuthorization(config.db());
        TidingsServer server;
        try {
            LiveService live = new LiveService(fanOut, new StreamLiveness(tidings::streaming, timers), writer, timers,
                    config.limits().sendQueueBytes(), config.limits().sendQueueMessages(), counters);
            Server jetty = jetty(config.server());
            RealtimeEndpoint realtime = new RealtimeEndpoint(live, auth, catalog, broadcasts,
                    changeLog == null ? null : changeLog.changeLog(), rowSecurity, channels);
            WebSocketUpgradeHandler websockets = WebSocketUpgradeHandler.from(jetty,
                    container -> realtime.install(container, config.limits().maxFrameBytes()));
            IntSupplier websocketClients = () -> websockets.getServerWebSocketContainer().getOpenSessions().size();
            List<SinkMetrics> sinkMetrics = durable == null ? List.of() : durable.metrics();
            ServeMetrics metrics = new ServeMetrics(tidings, stats, lag, delivery, sinkMetrics, StatusReport::level, counters,
                    websocketClients);
            metrics.bind(broadcasts);
            if (rowSecurity != null) {
                metrics.bind(rowSecurity);
            }
            if (changeLog != null) {
                metrics.bind(changeLog);
                metrics.bind(groups);
            }
            ServeState state = new ServeState(config, tidings, leadership, stats, lag, fanOut, counters, metrics,
                    sinkMetrics, websocketClients, startedMillis);
            websockets.setHandler(new Handler.Sequence(new ConsoleHandler(), new SseHandler(live, auth, config.server().sseKeepAlive(),
                    tidings.backfiller(), changeLog == null ? null : changeLog.changeLog(), rowSecurity != null), new BroadcastEndpoint(auth, broadcasts, channels), new OperationsHandler(state, auth, config.server().metricsPublic()),
                    new BackfillsHandler(tidings.backfiller(), auth), new ConsumersHandler(groups,
                    "consumer groups read the change log, and this server keeps none: set log.dir (--log-dir, TIDINGS_LOG_DIR)", auth), new NotFound()));
            jetty.setHandler(websockets);
            server = new TidingsServer(state, timers, lagTimer, writer, catalog, rowSecurity, channels, durable, changeLog, groups, rooms, jetty);
            jetty.start();
        } catch (Exception e) {
            tidings.stop();
            rooms.close();
            if (rowSecurity != null) {
                rowSecurity.close();
            }
            channels.close();
            if (durable != null) {
                durable.close();
            }
            if (leadership != null) {
                leadership.close();
            }
            if (changeLog != null) {
                groups.close();
                changeLog.close();
            }
            throw e;
        }
        server.watcher.start();
        lagTimer.scheduleWithFixedDelay(lag::check, 0, config.replication().lagCheck().toMillis(), TimeUnit.MILLISECONDS);
        log.info("tidings serve: listening on {}:{} (Realtime WebSocket /socket/websocket, /realtime/v1/websocket; SSE /events; "
                        + "/health /ready /api/status /metrics); {} {} with {} slot {}; {} durable sink{}; secure channels {}",
                config.server().bind(), server.port(), leadership == null ? "streaming" : "leading or standing by for",
                config.db(), config.replication().temporary() ? "temporary" : "persistent",
                config.replication().slot(), config.sinks().size(), config.sinks().size() == 1 ? "" : "s",
                config.auth().secureChannels() ? "on" : "off");
        return server;
    }

    /** A Jetty server with one connector on the configured address, not started. */
    static Server jetty(ServeConfig.Server settings) {
        Server jetty = new Server();
        jetty.setStopTimeout(5_000);
        ServerConnector connector = new ServerConnector(jetty);
        connector.setHost(settings.bind());
        connector.setPort(settings.port());
        connector.setIdleTimeout(Duration.ofSeconds(120).toMillis());
        jetty.addConnector(connector);
        return jetty;
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
    }

    public boolean streaming() {
        return state.streaming();
    }

    /** The live fan-out: its subscriptions, for tests and health. */
    public LiveFanOut fanOut() {
        return state.fanOut();
    }

    ServeConfig config() {
        return state.config();
    }

    /** Waits until the replication stream ends; throws what ended it. */
    public void await() throws Exception {
        state.tidings().await();
    }

    private static void watch(Tidings tidings, LiveFanOut fanOut) {
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
        state.tidings().stop();
        closeSinks();
        if (state.leadership() != null) {
            state.leadership().close(); // a standby takes over at once
        }
        log.info("confirmed {} to PostgreSQL; closing client connections", state.tidings().confirmed());
        try {
            jetty.stop();
        } catch (Exception e) {
            log.warn("stopping the HTTP server: {}", e.toString());
        }
        watcher.interrupt();
        rooms.close();
        catalog.close();
        if (rowSecurity != null) {
            rowSecurity.close();
        }
        channels.close();
        writer.close();
        timers.shutdownNow();
        state.lag().close();
        state.metrics().close();
        log.info("stopped");
    }

    private void closeSinks() {
        if (durable != null) {
            durable.close();
        }
        if (changeLog != null) {
            groups.close();
            changeLog.close();
        }
    }

    /** Last in line: names the endpoints there are. */
    static final class NotFound extends Handler.Abstract.NonBlocking {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            response.setStatus(404);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
            response.write(true, ByteBuffer.wrap(("not found: " + Request.getPathInContext(request) + " (endpoints: "
                    + "/socket/websocket, /realtime/v1/websocket, /events, /api/broadcast, /api/backfills, /api/consumers, /health, /ready, /api/status, /metrics)\n")
                    .getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
