package dev.tidings.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.base.Lsn;
import dev.tidings.testing.ChildJvm;
import dev.tidings.testing.Fold;
import dev.tidings.testing.Json;
import dev.tidings.testing.RandomWriter;
import dev.tidings.testing.Streams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fold invariant of {@code tidings tail --snapshot} as a real process: while it backfills a
 * table that a writer keeps changing (inserts, updates, key changes, deletes), it is killed with
 * SIGKILL at least three times in the middle of the snapshot; every start resumes after the last
 * delivered chunk. At the end the events of all runs, folded by key, equal the table as
 * {@code to_jsonb()} shows it.
 *
 * <p>{@code -Dtidings.test.snapshotRows=N} sets the table size (default 100,000, to keep the build short; 200,000 and more for a longer proof);
 * {@code -Dtidings.test.seed=N} the writer and kill points.
 */
class TailSnapshotCrashTest {
    private static final long ROWS = Long.getLong("tidings.test.snapshotRows", 100_000);
    private static final long SEED = Long.getLong("tidings.test.seed", System.nanoTime());
    private static final int KILLS = 3;
    private static final List<String> JVM = List.of("-Xmx256m", "-XX:+UseSerialGC");

    @TempDir
    Path dir;

    @Test
    void tail_snapshot_killed_three_times_folds_to_the_table() throws Exception {
        Random random = new Random(SEED);
        System.out.printf("snapshot crash test seed %d (-Dtidings.test.seed=%d reproduces it)%n", SEED, SEED);
        try (Streams s = Streams.newDatabase(); ChildJvm jvm = new ChildJvm()) {
            s.sql(RandomWriter.createTable(ROWS));
            s.sql("CREATE PUBLICATION tidings FOR ALL TABLES");
            RandomWriter writer = new RandomWriter(s.jdbcUrl, ROWS, random.nextLong(), 3);
            Thread w = Thread.ofPlatform().name("writer").start(writer);
            List<Path> outputs = new ArrayList<>();
            List<Long> resumedAt = new ArrayList<>();
            try {
                long rowsBefore = 0;
                for (int kill = 0; kill < KILLS; kill++) {
                    Process tail = startTail(jvm, s, outputs);
                    long target = rowsBefore + 5_000;
                    awaitProgress(s, target);
                    Thread.sleep(random.nextInt(600));
                    ChildJvm.kill(tail);
                    assertThat(state(s)).as("killed in the middle of the snapshot").isEqualTo("running");
                    rowsBefore = rowsDone(s);
                    resumedAt.add(rowsBefore);
                }
                Process last = startTail(jvm, s, outputs);
                awaitDone(s);
                writer.stopAndJoin(w);
                awaitConfirmed(s, Lsn.parse(s.queryValue("SELECT pg_current_wal_insert_lsn()::text")));
                last.destroy();
                assertThat(ChildJvm.await(last, 30)).isIn(0, 143);
            } finally {
                writer.stop();
                w.join(60_000);
            }

            Fold fold = new Fold();
            List<Long> firstChunkOfRun = new ArrayList<>();
            for (Path output : outputs) {
                long firstChunk = -1;
                String text = Files.readString(output, StandardCharsets.UTF_8);
                String complete = text.substring(0, text.lastIndexOf('\n') + 1);
                for (String line : complete.split("\n")) {
                    if (line.isEmpty()) {
                        continue;
                    }
                    JsonNode event = Json.parse(line);
                    fold.apply(event);
                    if (firstChunk < 0 && event.get("op").asText().equals("read")) {
                        firstChunk = event.get("snapshot").get("chunk").asLong();
                    }
                }
                firstChunkOfRun.add(firstChunk);
            }
            System.out.printf("snapshot crash test: %d rows, %d kills, %d reads, %d changes, rows done before each "
                    + "restart %s, first chunk of each run %s%n", ROWS, KILLS, fold.reads, fold.changes, resumedAt,
                    firstChunkOfRun);
            assertThat(fold.differences(s.toJsonb("SELECT * FROM items ORDER BY id"))).isEmpty();
            for (int run = 1; run <= KILLS; run++) {
                assertThat(firstChunkOfRun.get(run)).as("run %d resumes after the chunks delivered before", run)
                        .isGreaterThan(0);
            }
            assertThat(fold.reads).as("resumed, not started over").isLessThan(ROWS + ROWS / 2);
            assertThat(fold.changes).isGreaterThan(100);
        }
    }

    private Process startTail(ChildJvm jvm, Streams s, List<Path> outputs) throws IOException {
        Path out = dir.resolve("run-" + outputs.size() + ".jsonl");
        outputs.add(out);
        return jvm.start(JVM, Main.class.getName(), List.of("tail", "--db", s.jdbcUrl, "--slot", s.slot, "--snapshot",
                "--snapshot-chunk", "1000", "--snapshot-rate", "20000"), out, dir.resolve("run-" + (outputs.size() - 1) + ".log"));
    }

    private static String state(Streams s) {
        if (s.queryValue("SELECT to_regclass('tidings.backfills')") == null) {
            return "not created";
        }
        return s.queryValue("SELECT string_agg(DISTINCT state, ',') FROM tidings.backfills WHERE slot = '" + s.slot + "'");
    }

    private static long rowsDone(Streams s) {
        return Long.parseLong(s.queryValue("SELECT coalesce(sum(rows), 0) FROM tidings.backfills WHERE slot = '"
                + s.slot + "'"));
    }

    private static void awaitProgress(Streams s, long rows) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!"running".equals(state(s)) || rowsDone(s) < rows) {
            assertThat(System.nanoTime()).as("snapshot never reached %d rows (state %s)", rows, state(s))
                    .isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static void awaitDone(Streams s) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        while (!"done".equals(state(s))) {
            assertThat(System.nanoTime()).as("snapshot not done (state %s)", state(s)).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static void awaitConfirmed(Streams s, Lsn target) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (s.confirmedFlush().compareTo(target) < 0) {
            assertThat(System.nanoTime()).as("slot never confirmed %s (at %s)", target, s.confirmedFlush())
                    .isLessThan(deadline);
            Thread.sleep(100);
        }
    }
}
