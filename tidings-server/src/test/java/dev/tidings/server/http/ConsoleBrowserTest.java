package dev.tidings.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.server.realtime.NodeClient;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The web console in a real headless Chromium: a change made in PostgreSQL appears in the page,
 * opens to its JSON, counts in the throughput legend; the slot and client panels show the
 * server's /api/status; the page loads nothing from outside the server. The screenshot is kept as {@code target/console.png}.
 */
@Timeout(120)
@Tag("postgres")
@Tag("process")
class ConsoleBrowserTest {

    @Test
    void a_change_made_in_postgres_appears_in_the_console() throws Exception {
        Path chromium = Path.of(System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium"));
        assertThat(Files.isExecutable(chromium)).as("headless Chromium is needed for this test: apt-get install chromium "
                + "(bin/test installs it)").isTrue();
        String db = TestPostgres.newDatabase();
        TestPostgres.execute(db, "CREATE TABLE todos (id bigint PRIMARY KEY, title text, done boolean)");
        try (TidingsServer server = TidingsServer.start(ServeConfigLoader.load(Map.of("db.url", db, "server.port", "0",
                "server.bind", "127.0.0.1", "replication.publication", "console_pub",
                "replication.lag_check_seconds", "1"), Map.of(), null))) {
            Path screenshot = Path.of("target/console.png").toAbsolutePath();
            Files.deleteIfExists(screenshot);
            try (NodeClient page = NodeClient.run(Map.of(), "console-check.js", "http://127.0.0.1:" + server.port() + "/",
                    screenshot.toString(), "buy oat milk")) {
                page.await(l -> l.equals("READY"), Duration.ofSeconds(60));
                TestPostgres.execute(db, "INSERT INTO todos VALUES (7, 'buy oat milk', false)");
                String seen = page.await(l -> l.startsWith("SEEN ") || l.startsWith("FAILED "), Duration.ofSeconds(60));
                assertThat(seen).as(String.join("\n", page.seen())).startsWith("SEEN ");
                JsonNode panels = new ObjectMapper().readTree(seen.substring(5));
                JsonNode event = new ObjectMapper().readTree(panels.get("json").asText());
                assertThat(event.get("op").asText()).isEqualTo("insert");
                assertThat(event.get("record").get("title").asText()).isEqualTo("buy oat milk");
                assertThat(event.get("key").get("id").asInt()).isEqualTo(7);
                assertThat(panels.get("legend").asText()).contains("public.todos");
                assertThat(panels.get("slot").asText()).as("slot panel from /api/status").startsWith("tidings_rt_")
                        .contains("(temporary)").doesNotContain("not streaming");
                assertThat(panels.get("lsn").asText()).matches("[0-9A-F]+/[0-9A-F]+");
                assertThat(panels.get("lag").asText()).contains(" B").contains(" s");
                assertThat(panels.get("sse").asText()).as("the page's own event stream").isEqualTo("1");
                assertThat(panels.get("websocket").asText()).isEqualTo("0");
                assertThat(panels.get("sinks").get(0).asText()).isEqualTo("no durable sinks");
                assertThat(panels.get("external")).as("assets from outside the server").isEmpty();
                assertThat(panels.get("failures")).as("page errors").isEmpty();
            }
            assertThat(screenshot).exists();
        }
    }
}
