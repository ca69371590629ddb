package dev.tidings.server.sse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.server.http.TidingsServer;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code GET /events}: changes as Server-Sent Events with their ids, filtered, in the chosen format. */
@Timeout(60)
@Tag("postgres")
class SseTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static String db;
    private static TidingsServer server;

    @BeforeAll
    static void start() throws Exception {
        db = TestPostgres.newDatabase();
        TestPostgres.execute(db, "CREATE TABLE todos (id bigint PRIMARY KEY, title text, due date)",
                "CREATE TABLE other (id int PRIMARY KEY)");
        server = TidingsServer.start(ServeConfigLoader.load(Map.of("db.url", db, "server.port", "0",
                "server.bind", "127.0.0.1", "replication.publication", "sse_pub"), Map.of(), null));
        Await.until(Duration.ofSeconds(30), "the stream to start", server::streaming);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String url(String query) {
        return "http://127.0.0.1:" + server.port() + "/events?" + query;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** Opens a stream; lines arrive in the returned queue. */
    private static LinkedBlockingQueue<String> open(String query, List<Runnable> closers) throws Exception {
        int before = server.fanOut().size();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        CompletableFuture<HttpResponse<Stream<String>>> response = HTTP.sendAsync(
                HttpRequest.newBuilder(URI.create(url(query))).build(), HttpResponse.BodyHandlers.ofLines());
        HttpResponse<Stream<String>> r = response.get(10, TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        Thread reader = Thread.ofPlatform().daemon(true).start(() -> {
            try (Stream<String> s = r.body()) {
                s.forEach(lines::add);
            } catch (RuntimeException ignored) {
                // closed by the test
            }
        });
        closers.add(() -> {
            r.body().close();
            reader.interrupt();
        });
        Await.until(Duration.ofSeconds(10), "the SSE stream to subscribe", () -> server.fanOut().size() != before);
        return lines;
    }

    /** The next event: its id, event and data lines. */
    private static List<String> next(LinkedBlockingQueue<String> lines) throws InterruptedException {
        List<String> event = new ArrayList<>();
        while (true) {
            String line = lines.poll(10, TimeUnit.SECONDS);
            assertThat(line).as("an SSE line within 10 s").isNotNull();
            if (line.isEmpty()) {
                if (!event.isEmpty()) {
                    return event;
                }
            } else if (!line.startsWith(":") && !line.startsWith("retry:")) {
                event.add(line);
            }
        }
    }

    @Test
    void events_stream_with_their_ids_filtered_and_in_the_chosen_format() throws Exception {
        List<Runnable> closers = new ArrayList<>();
        try {
            LinkedBlockingQueue<String> tidings = open("tables=public.todos&filter=" + enc("due=gte.2025-01-01"), closers);
            LinkedBlockingQueue<String> supabase = open("tables=todos&format=supabase", closers);
            TestPostgres.execute(db, "INSERT INTO todos VALUES (1, 'old', '2024-12-31'), (2, 'new', '2025-06-01')",
                    "INSERT INTO other VALUES (1)", "DELETE FROM todos WHERE id = 1");

            List<String> e = next(tidings);
            assertThat(e.get(0)).matches("id: [0-9A-F]+/[0-9A-F]+:1");
            assertThat(e.get(1)).isEqualTo("event: insert");
            JsonNode data = JSON.readTree(e.get(2).substring("data: ".length()));
            assertThat(data.get("id").asText()).isEqualTo(e.get(0).substring(4));
            assertThat(data.get("record").toString()).isEqualTo("{\"id\":2,\"title\":\"new\",\"due\":\"2025-06-01\"}");

            List<String> s1 = next(supabase);
            assertThat(s1.get(1)).isEqualTo("event: insert");
            assertThat(JSON.readTree(s1.get(2).substring(6)).get("type").asText()).isEqualTo("INSERT");
            next(supabase);
            List<String> s3 = next(supabase);
            assertThat(s3.get(1)).isEqualTo("event: delete");
            assertThat(JSON.readTree(s3.get(2).substring(6)).get("old_record").toString()).isEqualTo("{\"id\":1}");
        } finally {
            closers.forEach(Runnable::run);
        }
    }

    @Test
    void bad_parameters_are_answered_with_400_and_the_reason() throws Exception {
        for (var c : Map.of("tables=todos&filter=" + enc("id=foo.1"), "Error parsing `filter` params",
                "format=avro", "unknown event format 'avro'",
                "tables=" + enc("a.b.c"), "not a table name").entrySet()) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url(c.getKey()))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(c.getKey()).isEqualTo(400);
            assertThat(r.body()).as(c.getKey()).contains(c.getValue());
        }
    }
}
