package dev.tidings.server.sse;

import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.server.http.TidingsServer;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The change log does not slow live clients: two servers stream the same database, one with a
 * log; one-row transactions are committed one after another and each is timed from before its
 * INSERT to its arrival at an SSE client of each server. The log's fsync is on the
 * acknowledgement path only, so the two latencies should be alike.
 */
@Timeout(120)
@Tag("postgres")
@Tag("slow")
class LiveLatencyWithLogTest {
    private static final int ROWS = 400;

    @TempDir
    Path dir;

    @Test
    void live_latency_with_the_log_stays_close_to_without() throws Exception {
        String db = TestPostgres.newDatabase();
        TestPostgres.execute(db, "CREATE TABLE pings (id int PRIMARY KEY)");
        try (TidingsServer plain = TidingsServer.start(ServeConfigLoader.load(Map.of("db.url", db, "server.port", "0",
                "server.bind", "127.0.0.1", "replication.publication", "ping_pub"), Map.of(), null));
             TidingsServer logged = TidingsServer.start(ServeConfigLoader.load(Map.of("db.url", db, "server.port", "0",
                "server.bind", "127.0.0.1", "replication.publication", "ping_pub", "log.dir", dir.toString()), Map.of(), null));
             SseResumeTest.ResumingClient toPlain = new SseResumeTest.ResumingClient(
                     "http://127.0.0.1:" + plain.port() + "/events?tables=public.pings", null);
             SseResumeTest.ResumingClient toLogged = new SseResumeTest.ResumingClient(
                     "http://127.0.0.1:" + logged.port() + "/events?tables=public.pings", null);
             Connection c = TestPostgres.connect(db); Statement s = c.createStatement()) {
            s.execute("SET synchronous_commit = on"); // the test server's default (off) flushes WAL every 200 ms
            Await.until(Duration.ofSeconds(30), "both servers to stream and both clients to subscribe",
                    () -> plain.streaming() && logged.streaming()
                            && toPlain.connections.get() == 1 && toLogged.connections.get() == 1);
            long[] plainMicros = new long[ROWS];
            long[] loggedMicros = new long[ROWS];
            for (int i = 1; i <= ROWS; i++) {
                int row = i;
                long start = System.nanoTime();
                s.execute("INSERT INTO pings VALUES (" + row + ")");
                Await.until(Duration.ofSeconds(10), "row " + row + " at both clients",
                        () -> toPlain.arrivals.containsKey(row) && toLogged.arrivals.containsKey(row));
                plainMicros[i - 1] = (toPlain.arrivals.get(row) - start) / 1000;
                loggedMicros[i - 1] = (toLogged.arrivals.get(row) - start) / 1000;
            }
            long plainP50 = percentile(plainMicros, 50);
            long plainP99 = percentile(plainMicros, 99);
            long loggedP50 = percentile(loggedMicros, 50);
            long loggedP99 = percentile(loggedMicros, 99);
            System.out.printf("commit → SSE, %d one-row transactions: without log p50 %.2f ms p99 %.2f ms; with log p50 %.2f ms "
                    + "p99 %.2f ms%n", ROWS, plainP50 / 1000.0, plainP99 / 1000.0, loggedP50 / 1000.0, loggedP99 / 1000.0);
            assertThat(loggedP99).as("p99 with the log (µs) against 1.5 × p99 without, plus 2 ms for a shared machine")
                    .isLessThanOrEqualTo(plainP99 * 3 / 2 + 2_000);
        }
    }

    private static long percentile(long[] values, int p) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, sorted.length * p / 100)];
    }
}
