package dev.tidings.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.testing.Await;
import dev.tidings.server.realtime.NodeClient;
import dev.tidings.testing.ChildJvm;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tidings demo} as a newcomer runs it: one command brings an embedded PostgreSQL, the sample
 * app's changes (in {@code public}) on stdout, the console and status on the printed port, and the
 * Realtime walkthrough's {@code realtime:public} channel with the published realtime-js client;
 * SIGTERM stops everything, the embedded database included. With {@code --db} the app keeps to a
 * schema of its own.
 */
@Timeout(180)
@Tag("postgres")
@Tag("process")
@Tag("slow")
class DemoCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void the_demo_streams_the_sample_app_in_public_serves_the_walkthrough_and_stops_everything_on_sigterm(@TempDir Path dir)
            throws Exception {
        Path out = dir.resolve("stdout.jsonl");
        Path err = dir.resolve("stderr.log");
        try (ChildJvm jvm = new ChildJvm()) {
            Process demo = jvm.start(List.of("-Xmx256m"), Main.class.getName(),
                    List.of("demo", "--port", "0", "--rate", "20"), out, err);
            String banner = awaitText(err, "The sample app", demo);
            Matcher console = Pattern.compile("console +http://localhost:(\\d+)/").matcher(banner);
            Matcher psql = Pattern.compile("psql -h localhost -p (\\d+)").matcher(banner);
            assertThat(console.find()).as(banner).isTrue();
            assertThat(psql.find()).as(banner).isTrue();
            int port = Integer.parseInt(console.group(1));
            int pgPort = Integer.parseInt(psql.group(1));

            assertThat(get(port, "/")).contains("<title>Tidings console</title>");
            List<String> lines = Await.value(Duration.ofSeconds(60), "10 events on stdout",
                    () -> Files.readAllLines(out).stream().filter(l -> l.endsWith("}")).toList(), l -> l.size() >= 10);
            for (String line : lines.subList(0, 10)) {
                JsonNode event = JSON.readTree(line);
                assertThat(event.get("schema").asText()).isEqualTo("public");
                assertThat(event.get("table").asText()).isIn("users", "posts", "comments", "votes");
            }
            JsonNode status = JSON.readTree(get(port, "/api/status"));
            assertThat(status.get("slot").get("streaming").asBoolean()).isTrue();
            assertThat(status.get("tables").size()).isPositive();

            try (NodeClient walkthrough = NodeClient.run(Map.of("REALTIME_URL", "http://localhost:" + port + "/socket"),
                    "run-walkthrough.js")) {
                walkthrough.await("SchemaListener connected");
                String update = walkthrough.await(l -> l.startsWith("DATA UPDATE {"), Duration.ofSeconds(30));
                JsonNode record = JSON.readTree(update.substring("DATA UPDATE ".length()));
                assertThat(record.has("id") || record.has("post_id")).as("a row of the sample app: %s", update).isTrue();
            }

            demo.destroy();
            ChildJvm.await(demo, 60);
            assertThat(Files.readString(err)).doesNotContain("Exception");
            assertThat(reachable(port)).as("the server stopped").isFalse();
            assertThat(reachable(pgPort)).as("the embedded PostgreSQL stopped").isFalse();
        }
    }

    @Test
    void with_a_database_of_the_users_the_app_keeps_to_the_demo_schema(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("stdout.jsonl");
        Path err = dir.resolve("stderr.log");
        String db = TestPostgres.newDatabase();
        try (ChildJvm jvm = new ChildJvm()) {
            Process demo = jvm.start(List.of("-Xmx256m"), Main.class.getName(),
                    List.of("demo", "--db", db, "--port", "0", "--rate", "20"), out, err);
            assertThat(awaitText(err, "The sample app", demo)).contains("realtime:demo").contains("in schema demo");
            List<String> lines = Await.value(Duration.ofSeconds(60), "5 events on stdout",
                    () -> Files.readAllLines(out).stream().filter(l -> l.endsWith("}")).toList(), l -> l.size() >= 5);
            for (String line : lines) {
                assertThat(JSON.readTree(line).get("schema").asText()).isEqualTo("demo");
            }
            try (var c = TestPostgres.connect(db); var rs = c.createStatement().executeQuery(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")) {
                rs.next();
                assertThat(rs.getInt(1)).as("nothing written to public of the user's database").isZero();
            }
            demo.destroy();
            ChildJvm.await(demo, 60);
        }
    }

    private static String awaitText(Path file, String text, Process p) throws Exception {
        String s = Await.value(Duration.ofSeconds(90), "'" + text + "' in " + file + " (or the demo to exit)",
                () -> Files.exists(file) ? Files.readString(file) : "", t -> t.contains(text) || !p.isAlive());
        assertThat(s).as("demo exited early").contains(text);
        return s;
    }

    private static String get(int port, String path) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path).isEqualTo(200);
        return r.body();
    }

    private static boolean reachable(int port) {
        try (Socket s = new Socket("localhost", port)) {
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
