package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.base.Lsn;
import dev.tidings.testing.Fold;
import dev.tidings.testing.Json;
import dev.tidings.testing.RandomWriter;
import dev.tidings.testing.Streams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fold invariant of {@code tidings serve}, for a durable sink with {@code backfill: initial}
 * and for SSE {@code snapshot=true}: serve is killed with SIGKILL three times while the sink's
 * initial snapshot runs and a writer keeps changing the table (inserts, updates, key changes,
 * deletes). The sink's events over all runs, folded by key, equal the table as {@code to_jsonb()}
 * shows it, and so do the events of an SSE stream opened on the last run (a live client has no
 * resume: it starts a fresh snapshot on every connection). A sink added
 * on the last run gets its own snapshot, and the first sink none of its rows.
 *
 * <p>{@code -Dtidings.test.serveSnapshotRows=N} sets the table size (default 30,000).
 */
class ServeSnapshotCrashTest {
    private static final long ROWS = Long.getLong("tidings.test.serveSnapshotRows", 30_000);
    private static final long SENTINEL = 4_000_000_000L;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    private final List<Path> early = new ArrayList<>();
    private final List<Path> late = new ArrayList<>();

    @Test
    void a_sink_and_an_sse_stream_fold_to_the_table_across_three_sigkills() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql(RandomWriter.createTable(ROWS));
            s.sql("CREATE PUBLICATION tidings FOR ALL TABLES");
            RandomWriter writer = new RandomWriter(s.jdbcUrl, ROWS, 11, 3);
            Thread w = Thread.ofPlatform().name("writer").start(writer);
            Sse sse = null;
            ServeProcess serve = null;
            try {
                long before = 0;
                for (int kill = 0; kill < 3; kill++) {
                    serve = start(s, false);
                    awaitRows(s, "initial:early", before + 2_000, serve);
                    serve.kill();
                    assertThat(state(s, "initial:early")).as("killed during the sink's snapshot (kill %d, %d rows); log:\n%s",
                            kill, rows(s, "initial:early"), serve.tail()).isEqualTo("running");
                    before = rows(s, "initial:early");
                }
                serve = start(s, true);
                serve.awaitReady(Duration.ofSeconds(60));
                sse = Sse.open(serve);
                for (String backfill : List.of("initial:early", "initial:late")) {
                    awaitState(s, backfill, "done", serve);
                }
                awaitSseSnapshotDone(s, serve);
                writer.stopAndJoin(w);
                s.sql("INSERT INTO items (id, v) VALUES (" + SENTINEL + ", 0)");
                awaitConfirmed(s);
                sse.awaitId(SENTINEL);
                assertThat(serve.terminate(30)).isIn(0, 143);
            } finally {
                writer.stop();
                w.join(60_000);
                if (serve != null) {
                    serve.close();
                }
            }
            JsonNode table = s.toJsonb("SELECT * FROM items ORDER BY id");

            Fold sink = fold(early);
            assertThat(sink.differences(table)).as("the early sink").isEmpty();
            Fold added = fold(late);
            assertThat(added.differences(table)).as("the sink added later").isEmpty();
            Fold stream = new Fold();
            sse.events.forEach(stream::apply);
            assertThat(stream.differences(table)).as("the SSE stream of the last run").isEmpty();

            assertThat(backfillsIn(early)).containsExactly("initial:early");
            assertThat(backfillsIn(late)).containsExactly("initial:late");
            assertThat(sink.reads).as("resumed, not started over").isLessThan(ROWS + ROWS / 2);
            System.out.printf("serve snapshot crash test: %d rows; early sink %d reads %d changes; late sink %d reads; "
                    + "SSE %d reads %d changes%n", ROWS, sink.reads, sink.changes, added.reads, stream.reads, stream.changes);
        }
    }

    private ServeProcess start(Streams s, boolean withLate) throws IOException {
        Path file = dir.resolve("early-" + early.size() + ".jsonl");
        early.add(file);
        String sinks = "  - {name: early, type: file, path: \"" + file + "\", batch: 1000, backfill: initial}\n";
        if (withLate) {
            Path lateFile = dir.resolve("late-" + late.size() + ".jsonl");
            late.add(lateFile);
            sinks += "  - {name: late, type: file, path: \"" + lateFile + "\", batch: 1000, backfill: initial}\n";
        }
        String yaml = """
                db: {url: "%s"}
                replication: {slot: %s, publication: tidings}
                backfill: {chunk_rows: 1000, rows_per_second: 5000}
                sinks:
                """.formatted(s.jdbcUrl, s.slot) + sinks;
        Path config = dir.resolve("serve-" + early.size() + ".yaml");
        Files.writeString(config, yaml);
        return new ServeProcess(config, ServeProcess.freePort(), dir.resolve("serve-" + early.size() + ".log"), Map.of());
    }

    private static Fold fold(List<Path> files) throws IOException {
        Fold fold = new Fold();
        for (Path f : files) {
            if (!Files.exists(f)) {
                continue;
            }
            String text = Files.readString(f, StandardCharsets.UTF_8);
            for (String line : text.substring(0, text.lastIndexOf('\n') + 1).split("\n")) {
                if (!line.isEmpty()) {
                    fold.apply(Json.parse(line));
                }
            }
        }
        return fold;
    }

    private static List<String> backfillsIn(List<Path> files) throws IOException {
        List<String> out = new ArrayList<>();
        for (Path f : files) {
            if (Files.exists(f)) {
                for (String line : Files.readAllLines(f)) {
                    if (line.contains("\"op\":\"read\"")) {
                        String backfill = Json.parse(line).get("snapshot").get("backfill").asText();
                        if (!out.contains(backfill)) {
                            out.add(backfill);
                        }
                    }
                }
            }
        }
        return out;
    }

    private static String state(Streams s, String backfill) {
        if (s.queryValue("SELECT to_regclass('tidings.backfills')") == null) {
            return "not created";
        }
        return s.queryValue("SELECT string_agg(DISTINCT state, ',') FROM tidings.backfills WHERE slot = '" + s.slot
                + "' AND backfill = '" + backfill + "'");
    }

    private static long rows(Streams s, String backfill) {
        return Long.parseLong(s.queryValue("SELECT coalesce(sum(rows), 0) FROM tidings.backfills WHERE slot = '" + s.slot
                + "' AND backfill = '" + backfill + "'"));
    }

    private static void awaitRows(Streams s, String backfill, long target, ServeProcess serve) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!"running".equals(state(s, backfill)) || rows(s, backfill) < target) {
            if ("done".equals(state(s, backfill))) {
                return;
            }
            assertThat(System.nanoTime()).as("%s never reached %d rows; log:\n%s", backfill, target, serve.tail())
                    .isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static void awaitState(Streams s, String backfill, String state, ServeProcess serve) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        while (!state.equals(state(s, backfill))) {
            assertThat(System.nanoTime()).as("%s not %s (is %s); log:\n%s", backfill, state, state(s, backfill),
                    serve.tail()).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static void awaitSseSnapshotDone(Streams s, ServeProcess serve) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        while (!"done".equals(s.queryValue("SELECT string_agg(DISTINCT state, ',') FROM tidings.backfills WHERE slot = '"
                + s.slot + "' AND consumer LIKE 'sse:%'"))) {
            assertThat(System.nanoTime()).as("the SSE snapshot did not finish; log:\n%s", serve.tail()).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static void awaitConfirmed(Streams s) throws InterruptedException {
        Lsn target = Lsn.parse(s.queryValue("SELECT pg_current_wal_insert_lsn()::text"));
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (s.confirmedFlush().compareTo(target) < 0) {
            assertThat(System.nanoTime()).as("slot never confirmed %s", target).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    /** An SSE client of {@code /events?tables=public.items&snapshot=true}: the events of one connection, in order. */
    static final class Sse {
        final List<JsonNode> events = new CopyOnWriteArrayList<>();
        private final Thread reader;

        private Sse(HttpResponse<Stream<String>> response) {
            this.reader = Thread.ofPlatform().name("sse-client").start(() -> {
                try (Stream<String> lines = response.body()) {
                    lines.forEach(line -> {
                        if (line.startsWith("data: ")) {
                            events.add(Json.parse(line.substring(6)));
                        }
                    });
                } catch (RuntimeException e) {
                    // the server was killed: the connection ends
                }
            });
        }

        static Sse open(ServeProcess serve) throws Exception {
            HttpRequest request = HttpRequest.newBuilder(URI.create(serve.url(
                    "/events?tables=public.items&snapshot=true&format=tidings"))).build();
            HttpResponse<Stream<String>> response = HTTP.send(request, HttpResponse.BodyHandlers.ofLines());
            assertThat(response.statusCode()).isEqualTo(200);
            return new Sse(response);
        }

        void awaitId(long id) throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (events.stream().noneMatch(e -> e.get("record") != null && e.get("record").has("id")
                    && e.get("record").get("id").asLong() == id)) {
                assertThat(System.nanoTime()).as("the SSE stream never got row %d", id).isLessThan(deadline);
                Thread.sleep(50);
            }
        }
    }
}
