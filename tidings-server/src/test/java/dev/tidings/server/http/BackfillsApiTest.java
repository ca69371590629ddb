package dev.tidings.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code /api/backfills} of a running server: a backfill for one sink with a condition reaches that
 * sink only, its progress shows in the API, {@code /api/status} and {@code /metrics}; control
 * actions answer 404/400 when they cannot apply; with secure channels only a service_role token may
 * use the API.
 */
@Tag("postgres")
class BackfillsApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String SECRET = "backfills-api-test-secret-0123456789abcdef";

    @TempDir
    Path dir;

    private final List<AutoCloseable> open = new ArrayList<>();
    private final List<String> slots = new ArrayList<>();

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
    void a_backfill_for_one_sink_with_a_condition_reaches_only_that_sink_and_reports_progress() throws Exception {
        Path audit = dir.resolve("audit.jsonl");
        Path billing = dir.resolve("billing.jsonl");
        TidingsServer server = start(Map.of(), """
                sinks:
                  - {name: audit, type: file, path: "%s", batch: 1}
                  - {name: billing, type: file, path: "%s", batch: 1}
                """.formatted(audit, billing));
        String db = server.config().db().jdbcUrl() + "?user=postgres";
        TestPostgres.execute(db, "INSERT INTO todos SELECT g, 'row ' || g FROM generate_series(1, 5) g");

        HttpResponse<String> created = post(server, "/api/backfills",
                "{\"tables\":[\"public.todos\"],\"where\":\"id > 2\",\"sink\":\"billing\"}", null);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String id = JSON.readTree(created.body()).get("id").asText();
        JsonNode list = awaitList(server, l -> l.size() == 1 && l.get(0).get("state").asText().equals("done"));
        assertThat(list.get(0).get("backfill").asText()).isEqualTo(id);
        assertThat(list.get(0).get("consumer").asText()).isEqualTo("billing");
        assertThat(list.get(0).get("rows").asLong()).isEqualTo(3);

        TestPostgres.execute(db, "INSERT INTO todos VALUES (6, 'after')");
        List<JsonNode> billed = awaitLines(billing, 8);
        List<JsonNode> audited = awaitLines(audit, 6);
        assertThat(billed.stream().filter(e -> e.get("op").asText().equals("read")).map(e -> e.at("/record/id").asInt()))
                .containsExactly(3, 4, 5);
        assertThat(audited.stream().map(e -> e.get("op").asText())).containsOnly("insert");
        assertThat(audited.get(5).at("/record/id").asInt()).isEqualTo(6);

        JsonNode status = JSON.readTree(get(server, "/api/status").body());
        assertThat(status.at("/backfills/0/backfill").asText()).isEqualTo(id);
        assertThat(status.at("/backfills/0/rows").asLong()).isEqualTo(3);
        assertThat(get(server, "/metrics").body()).contains("tidings_backfill_rows{backfill=\"" + id
                + "\",schema=\"public\",table=\"todos\"} 3.0");

        assertThat(post(server, "/api/backfills/" + id + "/pause", "", null).statusCode()).isEqualTo(404);
        assertThat(post(server, "/api/backfills/" + id + "/explode", "", null).statusCode()).isEqualTo(400);
        HttpResponse<String> noTable = post(server, "/api/backfills", "{\"tables\":[\"public.nope\"]}", null);
        assertThat(noTable.statusCode()).isEqualTo(400);
        assertThat(noTable.body()).contains("public.nope").contains("no such table");
    }

    @Test
    void with_secure_channels_only_a_service_role_token_may_start_a_backfill_or_use_consumer_groups() throws Exception {
        TidingsServer server = start(Map.of("auth.jwt_secret", SECRET, "log.dir", dir.resolve("log").toString()), "{}");
        String body = "{\"tables\":[\"public.todos\"]}";
        assertThat(post(server, "/api/backfills", body, null).statusCode()).isEqualTo(401);
        HttpResponse<String> user = post(server, "/api/backfills", body, Tokens.hs256(SECRET, "authenticated"));
        assertThat(user.statusCode()).isEqualTo(403);
        assertThat(user.body()).contains("service_role");
        assertThat(post(server, "/api/backfills", body, Tokens.hs256(SECRET, "service_role")).statusCode()).isEqualTo(201);

        String group = "{\"name\":\"billing\"}";
        assertThat(post(server, "/api/consumers", group, null).statusCode()).isEqualTo(401);
        HttpResponse<String> userGroup = post(server, "/api/consumers", group, Tokens.hs256(SECRET, "authenticated"));
        assertThat(userGroup.statusCode()).isEqualTo(403);
        assertThat(userGroup.body()).contains("consumer groups need a service_role token");
        assertThat(post(server, "/api/consumers", group, Tokens.hs256(SECRET, "service_role")).statusCode()).isEqualTo(201);
    }

    private TidingsServer start(Map<String, String> settings, String yaml) throws Exception {
        String db = TestPostgres.newDatabase();
        TestPostgres.execute(db, "CREATE TABLE todos (id bigint PRIMARY KEY, title text)",
                "CREATE PUBLICATION supabase_realtime FOR ALL TABLES");
        String slot = db.substring(db.lastIndexOf('/') + 1, db.indexOf('?'));
        slots.add(slot);
        Map<String, String> flags = new LinkedHashMap<>(Map.of("db.url", db, "server.port", "0", "server.bind", "127.0.0.1",
                "replication.slot", slot, "replication.temporary", "false"));
        flags.putAll(settings);
        Path file = dir.resolve("serve-" + slot + ".yaml");
        Files.writeString(file, yaml);
        TidingsServer server = TidingsServer.start(ServeConfigLoader.load(flags, Map.of(), file));
        open.add(server);
        Await.until(Duration.ofSeconds(30), "the stream to start", server::streaming);
        return server;
    }

    private JsonNode awaitList(TidingsServer server, java.util.function.Predicate<JsonNode> done) {
        return Await.value(Duration.ofSeconds(60), "the backfills", () -> JSON.readTree(get(server, "/api/backfills").body()),
                done);
    }

    private static List<JsonNode> awaitLines(Path file, int n) throws Exception {
        List<String> lines = Await.value(Duration.ofSeconds(60), n + " lines in " + file,
                () -> Files.exists(file) ? Files.readAllLines(file) : List.<String>of(), l -> l.size() >= n);
        List<JsonNode> out = new ArrayList<>();
        for (String line : lines) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    private static HttpResponse<String> get(TidingsServer server, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(TidingsServer server, String path, String body, String token) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("content-type", "application/json");
        if (token != null) {
            r.header("authorization", "Bearer " + token);
        }
        return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }
}
