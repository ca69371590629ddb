package dev.tidings.server.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.server.http.TidingsServer;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code tidings tail --server URL --from ID}: a running server's change log after that id, then live. */
@Timeout(60)
@Tag("postgres")
class TailFromServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** Collects the lines written to it. */
    private static final class Lines extends OutputStream {
        final List<String> lines = new CopyOnWriteArrayList<>();
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                lines.add(line.toString(StandardCharsets.UTF_8));
                line.reset();
            } else {
                line.write(b);
            }
        }

        List<Integer> ids() {
            return lines.stream().map(l -> {
                try {
                    return JSON.readTree(l).get("record").get("id").asInt();
                } catch (Exception e) {
                    throw new AssertionError(l, e);
                }
            }).toList();
        }
    }

    private static Thread tail(ServerTail tail) {
        return Thread.ofPlatform().daemon(true).name("server-tail").start(() -> {
            try {
                tail.run();
            } catch (InterruptedException e) {
                // stopped by the test
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void tail_from_an_id_prints_the_events_after_it_from_the_log_then_follows_live() throws Exception {
        String db = TestPostgres.newDatabase();
        TestPostgres.execute(db, "CREATE TABLE notes (id int PRIMARY KEY)", "CREATE TABLE others (id int PRIMARY KEY)");
        try (TidingsServer server = TidingsServer.start(ServeConfigLoader.load(Map.of("db.url", db, "server.port", "0",
                "server.bind", "127.0.0.1", "replication.publication", "tail_pub", "log.dir", dir.toString()), Map.of(), null))) {
            Await.until(Duration.ofSeconds(30), "the stream to start", server::streaming);
            String url = "http://127.0.0.1:" + server.port();
            Lines live = new Lines();
            Thread first = tail(new ServerTail(url, null, "tidings", List.of("public.notes"), null, live));
            Await.until(Duration.ofSeconds(10), "the first tail to subscribe", () -> server.fanOut().size() == 1);
            for (int i = 1; i <= 50; i++) {
                TestPostgres.execute(db, "INSERT INTO notes VALUES (" + i + ")", "INSERT INTO others VALUES (" + i + ")");
            }
            Await.until(Duration.ofSeconds(30), () -> "50 live lines, have " + live.lines.size(), () -> live.lines.size() == 50);
            String twentieth = JSON.readTree(live.lines.get(19)).get("id").asText();

            Lines replayed = new Lines();
            Thread second = tail(new ServerTail(url, twentieth, "tidings", List.of("public.notes"), null, replayed));
            Await.until(Duration.ofSeconds(30), () -> "30 replayed lines, have " + replayed.lines.size(),
                    () -> replayed.lines.size() >= 30);
            for (int i = 51; i <= 60; i++) {
                TestPostgres.execute(db, "INSERT INTO notes VALUES (" + i + ")");
            }
            Await.until(Duration.ofSeconds(30), () -> "40 lines, have " + replayed.lines.size(), () -> replayed.lines.size() >= 40
                    && live.lines.size() >= 60);
            assertThat(replayed.ids()).isEqualTo(IntStream.rangeClosed(21, 60).boxed().toList());
            assertThat(live.ids()).isEqualTo(IntStream.rangeClosed(1, 60).boxed().toList());
            first.interrupt();
            second.interrupt();

            ServerTail tooOld = new ServerTail(url, "0/10:0", "tidings", List.of(), null, new Lines());
            assertThatThrownBy(tooOld::run).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("the server cannot replay after 0/10:0")
                    .hasMessageContaining("start again without --from");
        }
    }

    @Test
    void from_without_a_server_says_what_it_needs() {
        TailCommand tail = new TailCommand();
        new picocli.CommandLine(tail).parseArgs("--db", "postgresql://localhost/db", "--from", "0/16B3748:0");
        assertThatThrownBy(tail::call).hasMessageContaining("--from needs --server URL");
        assertThatThrownBy(() -> new ServerTail("localhost:4000", null, "tidings", List.of(), null, new Lines()))
                .hasMessageContaining("e.g. http://localhost:4000");
        assertThatThrownBy(() -> new ServerTail("http://localhost:4000", "17", "tidings", List.of(), null, new Lines()))
                .hasMessageContaining("an id looks like");
    }
}
