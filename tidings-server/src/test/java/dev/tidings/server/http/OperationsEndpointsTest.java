package dev.tidings.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.testing.Await;
import dev.tidings.testing.TcpProxy;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code /health}, {@code /ready}, {@code /api/status} and {@code /metrics} of a running server. */
@Tag("postgres")
class OperationsEndpointsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String SECRET = "operations-endpoints-test-secret-0123456789";

    private final List<AutoCloseable> open = new ArrayList<>();
    private final List<String> slots = new ArrayList<>();
    private volatile int hookStatus = 204;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        for (String slot : slots) {
            TestPostgres.execute(TestPostgres.url("postgres"), "SELECT pg_drop_replication_slot(slot_name) FROM "
                    + "pg_replication_slots WHERE slot_name = '" + slot + "' AND NOT active");
        }
    }

    @Test
    void status_metrics_and_probes_follow_the_stream_its_clients_and_a_sink_outage_with_catch_up() throws Exception {
        String hook = webhookReceiver();
        TidingsServer server = start(Map.of("replication.max_lag_mb", "1", "replication.pause_on_max_lag", "true"), """
                sinks:
                  - {name: hook, type: webhook, url: "%s", batch: 100, queue: 50, retry: {max_backoff: 200ms}}
                """.formatted(hook));
        String db = dbOf(server);
        assertThat(get(server, "/health").statusCode()).isEqualTo(200);
        assertThat(get(server, "/ready").body()).isEqualTo("{\"status\":\"ready\"}");

        WebSocket ws = HTTP.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + server.port()
                + "/socket/websocket?vsn=1.0.0"), new WebSocket.Listener() {}).join();
        open.add(ws::abort);
        HttpResponse<InputStream> sse = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + "/events")).build(), HttpResponse.BodyHandlers.ofInputStream());
        open.add(sse.body());

        TestPostgres.execute(db, "INSERT INTO todos (id, title) VALUES (1, 'a'), (2, 'b')", "INSERT INTO todos (id, title) VALUES (3, 'c')");
        JsonNode status = awaitStatus(server, s -> s.at("/sinks/0/delivered").asLong() == 3 && s.at("/clients/sse").asInt() == 1
                && s.at("/tables/0/events").asLong() == 3);
        assertThat(fieldNames(status)).containsExactly("version", "uptime_seconds", "role", "slot", "catch_up", "clients", "tables", "backfills",
                "sinks");
        assertThat(fieldNames(status.get("slot"))).containsExactly("name", "temporary", "streaming", "confirmed_lsn",
                "lag_bytes", "lag_seconds");
        assertThat(status.at("/role").asText()).as("alone on its slot, a process leads it").isEqualTo("leader");
        assertThat(status.at("/slot/temporary").asBoolean()).isFalse();
        assertThat(status.at("/slot/streaming").asBoolean()).isTrue();
        assertThat(status.at("/slot/confirmed_lsn").asText()).matches("[0-9A-F]+/[0-9A-F]+");
        assertThat(status.get("catch_up").isNull()).isTrue();
        assertThat(status.get("clients").toString()).isEqualTo("{\"websocket\":1,\"sse\":1}");
        assertThat(status.get("tables").toString()).isEqualTo("[{\"schema\":\"public\",\"table\":\"todos\",\"events\":3}]");
        assertThat(fieldNames(status.at("/sinks/0"))).containsExactly("name", "type", "state", "delivered", "retried",
                "failed", "in_flight", "last_error");
        assertThat(status.at("/sinks/0/type").asText()).isEqualTo("webhook");
        assertThat(status.at("/sinks/0/state").asText()).isEqualTo("ok");

        String metrics = get(server, "/metrics").body();
        assertThat(metrics).contains("tidings_events_read_total{schema=\"public\",table=\"todos\"} 3.0",
                "tidings_sink_delivered_total{schema=\"public\",sink=\"hook\",table=\"todos\"} 3.0",
                "tidings_websocket_clients 1.0", "tidings_sse_clients 1.0", "tidings_replication_streaming 1.0",
                "tidings_replication_reconnects_total 0.0", "tidings_decode_errors_total 0.0", "tidings_sink_state{sink=\"hook\"} 0.0",
                "tidings_replication_lag_bytes", "tidings_replication_lag_seconds", "tidings_replication_confirmed_lsn",
                "tidings_sink_latency_max_seconds{sink=\"hook\"}", "tidings_websocket_messages_sent_total",
                "jvm_memory_used_bytes", "jvm_threads_live_threads", "jvm_gc_", "process_uptime_seconds");

        // The sink fails while ~3 MB of WAL is written: nothing is confirmed, the slot falls behind.
        hookStatus = 500;
        // in 20 transactions: the slot's confirmed position may pass the start of an open transaction, not its commit
        TestPostgres.execute(db, IntStream.range(0, 20).mapToObj(t -> "INSERT INTO todos (id, title) SELECT g, "
                + "(SELECT string_agg(md5(i::text || g::text || random()::text), '') FROM generate_series(1, 160) i) "
                + "FROM generate_series(" + (4 + 30 * t) + ", " + (33 + 30 * t) + ") g").toArray(String[]::new));
        status = awaitStatus(server, s -> !s.get("catch_up").isNull() && s.at("/sinks/0/state").asText().equals("retrying"));
        assertThat(status.at("/catch_up/behind_bytes").asLong()).isGreaterThan(1 << 20);
        assertThat(fieldNames(status.get("catch_up"))).containsExactly("behind_bytes", "rate_bytes_per_s", "eta_seconds");
        assertThat(status.at("/slot/lag_seconds").asDouble()).isGreaterThan(0);
        assertThat(status.at("/sinks/0/last_error").asText()).contains("500");
        assertThat(get(server, "/metrics").body()).contains("tidings_live_paused 1.0", "tidings_sink_state{sink=\"hook\"} 1.0");
        assertThat(get(server, "/ready").statusCode()).as("retrying is not failing yet").isEqualTo(200);

        hookStatus = 204;
        status = awaitStatus(server, s -> s.get("catch_up").isNull() && s.at("/sinks/0/delivered").asLong() == 603
                && s.at("/sinks/0/state").asText().equals("ok"));
        assertThat(status.at("/slot/lag_seconds").asDouble()).isZero();
        assertThat(status.at("/sinks/0/retried").asLong()).isPositive();
        awaitMetric(server, "tidings_live_paused 0.0");
    }

    /**
     * The database connection goes silent (a proxy that swallows everything, for the open
     * connections and for new ones): once the server's wal_sender_timeout and a margin passed,
     * /health says the stream is down and /ready answers 503; when the network is back, the stream is.
     */
    @Test
    void health_and_ready_report_a_silent_database_connection_and_recover_when_it_speaks_again() throws Exception {
        assumeTrue(TestPostgres.majorVersion() >= 12, "wal_sender_timeout can be set per connection from PostgreSQL 12 on");
        TcpProxy proxy = new TcpProxy(TestPostgres.port());
        open.add(proxy);
        TidingsServer server = start(Map.of(), "", db -> db.replace(":" + TestPostgres.port() + "/", ":" + proxy.port() + "/")
                + "&options=-c%20wal_sender_timeout=1000&loginTimeout=2");
        assertThat(get(server, "/health").body()).contains("\"streaming\":true");

        long silent = System.nanoTime();
        proxy.blackHole();
        Await.until(Duration.ofSeconds(20), "/health to say the stream is down", () -> {
            HttpResponse<String> health = get(server, "/health");
            return health.statusCode() == 200 && health.body().contains("\"streaming\":false");
        });
        long noticedMs = (System.nanoTime() - silent) / 1_000_000;
        assertThat(get(server, "/ready").statusCode()).isEqualTo(503);
        // wal_sender_timeout 1 s + 1 s margin
        assertThat(noticedMs).as("noticed after the server's timeout and a margin").isBetween(1_000L, 8_000L);

        proxy.restore();
        Await.until(Duration.ofSeconds(30), "the stream back over a new connection", () -> get(server, "/ready").statusCode() == 200);
        TestPostgres.execute(TestPostgres.url(server.config().db().database()), "INSERT INTO todos (id, title) VALUES (1, 'after')");
        awaitStatus(server, s -> s.at("/tables/0/events").asLong() == 1);
    }

    @Test
    void ready_is_503_with_the_reason_once_a_sink_gave_up() throws Exception {
        TidingsServer server = start(Map.of(), """
                sinks:
                  - {name: gone, type: webhook, url: "http://127.0.0.1:9/nothing-listens", retry: {max_attempts: 1, give_up: stop}}
                """);
        TestPostgres.execute(dbOf(server), "INSERT INTO todos (id, title) VALUES (1, 'a')");
        JsonNode status = awaitStatus(server, s -> s.at("/sinks/0/state").asText().equals("failing"));
        assertThat(status.at("/sinks/0/last_error").isNull()).isFalse();
        HttpResponse<String> ready = get(server, "/ready");
        assertThat(ready.statusCode()).isEqualTo(503);
        assertThat(JSON.readTree(ready.body()).get("reason").asText()).isNotBlank();
        assertThat(get(server, "/health").statusCode()).as("still alive").isEqualTo(200);
    }

    @Test
    void with_secure_channels_status_and_metrics_need_a_token_unless_metrics_are_public() throws Exception {
        TidingsServer secure = start(Map.of("auth.jwt_secret", SECRET), "");
        for (String path : List.of("/api/status", "/metrics")) {
            assertThat(get(secure, path).statusCode()).as(path + " without a token").isEqualTo(401);
            assertThat(get(secure, path, "Authorization", "Bearer not.a.token").statusCode()).isEqualTo(403);
            assertThat(get(secure, path, "Authorization", "Bearer " + Tokens.hs256(SECRET, "anon")).statusCode()).isEqualTo(200);
        }
        assertThat(get(secure, "/health").statusCode()).isEqualTo(200);
        assertThat(get(secure, "/ready").statusCode()).isEqualTo(200);

        TidingsServer open = start(Map.of("auth.jwt_secret", SECRET, "metrics.public", "true"), "");
        assertThat(get(open, "/metrics").statusCode()).isEqualTo(200);
        assertThat(get(open, "/api/status").statusCode()).isEqualTo(200);
        assertThat(get(open, "/api/status").body()).contains("\"sinks\":[]");
    }

    private TidingsServer start(Map<String, String> settings, String yaml) throws Exception {
        return start(settings, yaml, UnaryOperator.identity());
    }

    /** Starts a server on a new database, reaching it through the URL {@code via} makes of the database's. */
    private TidingsServer start(Map<String, String> settings, String yaml, UnaryOperator<String> via) throws Exception {
        String db = TestPostgres.newDatabase();
        TestPostgres.execute(db, "CREATE TABLE todos (id bigint PRIMARY KEY, title text)");
        String slot = db.substring(db.lastIndexOf('/') + 1, db.indexOf('?'));
        slots.add(slot);
        Map<String, String> flags = new LinkedHashMap<>(Map.of("db.url", via.apply(db), "server.port", "0", "server.bind", "127.0.0.1",
                "replication.slot", slot, "replication.temporary", "false", "replication.lag_check_seconds", "1"));
        flags.putAll(settings);
        Path file = Files.createTempFile("tidings-ops", ".yaml");
        Files.writeString(file, yaml);
        TidingsServer server;
        try {
            server = TidingsServer.start(ServeConfigLoader.load(flags, Map.of(), file));
        } finally {
            Files.delete(file);
        }
        open.add(server);
        Await.until(Duration.ofSeconds(30), "the stream to start", server::streaming);
        return server;
    }

    private static String dbOf(TidingsServer server) {
        return server.config().db().jdbcUrl() + "?user=postgres";
    }

    private String webhookReceiver() throws Exception {
        HttpServer receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        receiver.createContext("/hook", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(hookStatus, -1);
            exchange.close();
        });
        receiver.start();
        open.add(() -> receiver.stop(0));
        return "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
    }

    private static HttpResponse<String> get(TidingsServer server, String path, String... headers) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
        if (headers.length > 0) {
            r.headers(headers);
        }
        return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode awaitStatus(TidingsServer server, Predicate<JsonNode> wanted) throws Exception {
        return Await.value(Duration.ofSeconds(40), "the wanted /api/status", () -> {
            HttpResponse<String> r = get(server, "/api/status");
            assertThat(r.statusCode()).isEqualTo(200);
            return JSON.readTree(r.body());
        }, wanted);
    }

    /** Live clients resume under 80 % of the limit, which may take a lag check after catching up. */
    private static void awaitMetric(TidingsServer server, String line) throws Exception {
        Await.until(Duration.ofSeconds(30), "metrics to show " + line, () -> get(server, "/metrics").body().contains(line));
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
