package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.Tidings;
import dev.tidings.pipeline.SinkFanOut;
import dev.tidings.server.config.SinkConfig;
import dev.tidings.server.sinks.FakeWebhookReceiver.Answer;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.base.Identifiers;
import dev.tidings.base.Lsn;
import dev.tidings.source.SourceConfig;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * PostgreSQL restarts (immediate shutdown, as in a crash or a failover) while a webhook sink is
 * stalled and WAL reading is paused: the source thread
 * is waiting for room in the pipeline's queue, sending keepalives, when the connection dies. What
 * it was handing over must not be lost track of: delivery resumes, "everything acknowledged" comes
 * true again (so an idle database's position is confirmed), and a stop does not wait in vain.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
class RestartUnderBackpressureTest {

    @TempDir
    Path dir;

    @Test
    void a_restart_while_a_stalled_sink_holds_back_reading_resumes_delivery_idle_confirmation_and_a_prompt_stop()
            throws Exception {
        int port = ServeProcess.freePort();
        Path data = dir.resolve("pgdata");
        EmbeddedPostgres pg = SourceFaultsTest.privateServer(data, port);
        String url = "jdbc:postgresql://localhost:" + port + "/postgres?user=postgres";
        TestPostgres.execute(url, "CREATE TABLE watched (id int PRIMARY KEY)", "CREATE TABLE other (id int PRIMARY KEY)");
        try (FakeWebhookReceiver receiver = new FakeWebhookReceiver()) {
            receiver.answer = r -> new Answer(503, Map.of()); // stalled: retried until it answers 2xx
            SinkFanOut delivery = new SinkFanOut(SinkConfig.openAll(SinkConfig.parseAll(Map.of("sinks", List.of(
                    Map.of("name", "hook", "type", "webhook", "url", receiver.url(), "queue", 10,
                            "retry", Map.of("initial_backoff", "100ms", "max_backoff", "500ms")))))));
            SourceConfig config = SourceConfig.of(DatabaseUrl.parse(url)).withSlot("stalled", false)
                    .withPublication("tidings", List.of(Identifiers.parseTable("watched")))
                    .withTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(1));
            Tidings tidings = Tidings.start(config, delivery);
            try {
                Await.until(Duration.ofSeconds(30), "streaming", tidings::streaming);
                // one transaction per row: far more commits than the sink's and the pipeline's queues hold
                for (int i = 1; i <= 300; i += 50) {
                    String[] rows = new String[50];
                    for (int j = 0; j < 50; j++) {
                        rows[j] = "INSERT INTO watched VALUES (" + (i + j) + ")";
                    }
                    TestPostgres.execute(url, rows);
                }
                Await.until(Duration.ofSeconds(30), "the sink is being retried", () -> receiver.all.size() >= 3);
                Thread.sleep(2000); // the source thread fills the pipeline's queue and waits, sending keepalives

                // immediate shutdown: a fast one would wait for the walsender, which waits for Tidings to confirm
                SourceFaultsTest.restart(data, url, "-QUIT");
                Await.until(Duration.ofSeconds(30), "the loss is noticed", () -> tidings.reconnects() > 0);
                receiver.answer = r -> Answer.OK;

                Await.until(Duration.ofSeconds(60), "all 300 rows delivered", () -> rows(receiver).size() == 300);
                assertThat(tidings.failure()).isNull();

                TestPostgres.execute(url, "INSERT INTO other SELECT generate_series(1, 100)");
                Lsn idle = Lsn.parse(query(url, "SELECT pg_current_wal_insert_lsn()::text"));
                // what Tidings confirmed, not the slot: after an immediate restart the server was seen moving
                // the slot's confirmed_flush_lsn past skipped (unpublished) transactions on its own
                Await.until(Duration.ofSeconds(30), () -> "the idle position " + idle + " confirmed by Tidings (it confirmed "
                        + tidings.confirmed() + "): everything acknowledged again", () -> tidings.confirmed().compareTo(idle) >= 0);

                long start = System.nanoTime();
                tidings.stop();
                long stopMillis = (System.nanoTime() - start) / 1_000_000;
                assertThat(tidings.await(0)).as("stopped").isTrue();
                assertThat(stopMillis).as("stop does not wait for a transaction that will never be acknowledged")
                        .isLessThan(10_000);
            } finally {
                tidings.stop();
                delivery.close();
                pg.close();
            }
        }
    }

    private static Set<Integer> rows(FakeWebhookReceiver receiver) {
        Set<Integer> rows = new TreeSet<>();
        for (FakeWebhookReceiver.Request r : receiver.accepted) {
            try {
                JsonNode event = Delivered.MAPPER.readTree(r.body());
                rows.add(event.at("/record/id").asInt());
            } catch (java.io.IOException e) {
                throw new AssertionError("not JSON: " + r.body(), e);
            }
        }
        return rows;
    }

    private static String query(String url, String sql) {
        try (var c = TestPostgres.connect(url); var s = c.createStatement(); var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
