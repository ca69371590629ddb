package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.tidings.Tidings;
import dev.tidings.pipeline.SinkFanOut;
import dev.tidings.server.config.SinkConfig;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import dev.tidings.testing.ChildJvm;
import dev.tidings.testing.Await;
import dev.tidings.testing.Streams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Guarantee 4 with a durable sink: 300 rows of a megabyte each behind a webhook that answers 503
 * must not pile up in the sink's queue (8192 messages by default) — the sink's queue is bounded in
 * bytes too, and WAL reading pauses instead. Tidings runs in a JVM of its own with a 128 MB heap
 * that exits on the first OutOfMemoryError; when the webhook recovers it gets every row.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
class SinkMemoryBoundTest {
    private static final int ROWS = 300;

    @TempDir
    Path dir;

    @Test
    void rows_of_a_megabyte_behind_a_stalled_webhook_stay_within_a_128_mb_heap_and_all_arrive_after() throws Exception {
        try (Streams s = Streams.newDatabase(); ChildJvm jvm = new ChildJvm(); Receiver receiver = new Receiver()) {
            s.sql("CREATE TABLE wide (id int PRIMARY KEY, body text)", "CREATE PUBLICATION tidings FOR ALL TABLES",
                    "SELECT pg_create_logical_replication_slot('" + s.slot + "', 'pgoutput')");
            s.sql("INSERT INTO wide SELECT i, repeat(md5(i::text), 32768) FROM generate_series(1, " + ROWS + ") i");

            Path out = dir.resolve("child.out");
            Path err = dir.resolve("child.err");
            Process child = jvm.start(List.of("-Xmx128m", "-XX:+ExitOnOutOfMemoryError", "-XX:+UseSerialGC"),
                    StalledSinkConsumer.class.getName(), List.of(s.jdbcUrl, s.slot, receiver.url()), out, err);
            Await.until(Duration.ofSeconds(60), "the webhook is tried", () -> receiver.refused > 0 || !child.isAlive());
            // the stall: without a byte bound the child would queue every row for the sink meanwhile
            Thread.sleep(15_000);
            assertThat(child.isAlive()).as("the child survived the stall; stderr: %s", tail(err)).isTrue();

            receiver.stalled = false;
            Await.until(Duration.ofSeconds(180), "all " + ROWS + " rows delivered", () -> receiver.rows.size() == ROWS || !child.isAlive());
            assertThat(child.isAlive()).as("the child is alive; stderr: %s", tail(err)).isTrue();
            assertThat(receiver.rows).hasSize(ROWS);
            ChildJvm.kill(child);
        }
    }

    private static String tail(Path file) throws IOException {
        String s = Files.exists(file) ? Files.readString(file) : "";
        return s.length() > 3000 ? "…" + s.substring(s.length() - 3000) : s;
    }

    /** A webhook receiver that answers 503 while stalled, then 204, keeping only the row ids it accepted. */
    private static final class Receiver implements AutoCloseable {
        final Set<Integer> rows = ConcurrentHashMap.newKeySet();
        volatile boolean stalled = true;
        volatile int refused;
        private final HttpServer server;

        Receiver() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
            server.setExecutor(Executors.newFixedThreadPool(2));
            server.createContext("/hook", this::handle);
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
        }

        private void handle(HttpExchange exchange) throws IOException {
            try (InputStream body = exchange.getRequestBody()) {
                if (stalled) {
                    body.transferTo(java.io.OutputStream.nullOutputStream());
                    refused++;
                    exchange.sendResponseHeaders(503, -1);
                } else {
                    JsonNode event = Delivered.MAPPER.readTree(body);
                    rows.add(event.at("/record/id").asInt());
                    exchange.sendResponseHeaders(204, -1);
                }
            }
            exchange.close();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    /** The child: Tidings with one webhook sink (default queue and batch), streaming until killed. Args: JDBC URL, slot, webhook URL. */
    public static final class StalledSinkConsumer {
        public static void main(String[] args) throws Exception {
            SinkFanOut delivery = new SinkFanOut(SinkConfig.openAll(SinkConfig.parseAll(Map.of("sinks", List.of(
                    Map.of("name", "hook", "type", "webhook", "url", args[2],
                            "retry", Map.of("initial_backoff", "100ms", "max_backoff", "500ms")))))));
            Tidings tidings = Tidings.start(SourceConfig.of(DatabaseUrl.parse(args[0])).withSlot(args[1], false), delivery);
            tidings.await();
        }
    }
}
