package dev.tidings.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.base.Lsn;
import dev.tidings.testing.Await;
import dev.tidings.testing.ChildJvm;
import dev.tidings.testing.Json;
import dev.tidings.testing.Streams;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tidings tail} as a real process: killed with SIGKILL at random points while a load runs
 * (guarantees 1 and 3 in docs/architecture.md), and stopped with SIGTERM (everything written is
 * acknowledged, nothing is written twice). Each run writes stdout to a file of its own.
 *
 * <p>{@code -Dtidings.test.crashKills=N} raises the number of kills (default 6);
 * {@code -Dtidings.test.seed=N} changes the load and the kill points.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
class TailProcessTest {
    private static final int KILLS = Integer.getInteger("tidings.test.crashKills", 6);
    private static final int MIN_CHANGES = 20_000;
    private static final long SEED = Long.getLong("tidings.test.seed", System.nanoTime());
    private static final List<String> JVM = List.of("-Xmx256m", "-XX:+UseSerialGC");

    @TempDir
    Path dir;

    @Test
    void tail_killed_at_random_points_during_a_load_loses_nothing_and_repeats_only_across_a_crash() throws Exception {
        Random random = new Random(SEED);
        try (Streams s = Streams.newDatabase(); ChildJvm jvm = new ChildJvm()) {
            s.sql("CREATE TABLE load (id bigint PRIMARY KEY, note text)", "CREATE PUBLICATION tidings FOR ALL TABLES",
                    "SELECT pg_create_logical_replication_slot('" + s.slot + "', 'pgoutput')");
            Load load = new Load(s.jdbcUrl, new Random(random.nextLong()));
            Thread loader = Thread.ofPlatform().name("load").start(load);
            List<Path> outputs = new ArrayList<>();
            try {
                for (int kill = 0; kill < KILLS; kill++) {
                    Process tail = startTail(jvm, s, outputs);
                    Thread.sleep(300 + random.nextInt(2500));
                    ChildJvm.kill(tail);
                }
                load.stop.set(true);
                loader.join(Duration.ofSeconds(60));
                assertThat(load.failure.get()).isNull();
                assertThat(loader.isAlive()).isFalse();

                Process last = startTail(jvm, s, outputs);
                awaitConfirmed(s, load.lastCommitEnd(s));
                last.destroy();
                assertThat(ChildJvm.await(last, 30)).isIn(0, 143);
            } finally {
                load.stop.set(true);
                loader.join(Duration.ofSeconds(60));
            }

            System.out.printf("crash test seed %d (-Dtidings.test.seed=%d reproduces it)%n", SEED, SEED);
            Report report = check(outputs, load.committed);
            System.out.printf("crash test (seed %d): %d kills, %d changes in %d transactions, %d repeated across a "
                    + "crash, %d partial last lines%n", SEED, KILLS, report.changes, load.committed.size(),
                    report.repeated, report.partialLines);
            assertThat(report.changes).isGreaterThanOrEqualTo(MIN_CHANGES);
        }
    }

    @Test
    void sigterm_stops_tail_with_everything_written_acknowledged_and_a_restart_writes_nothing_again() throws Exception {
        try (Streams s = Streams.newDatabase(); ChildJvm jvm = new ChildJvm()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY, note text)", "CREATE PUBLICATION tidings FOR ALL TABLES",
                    "SELECT pg_create_logical_replication_slot('" + s.slot + "', 'pgoutput')");
            List<Path> outputs = new ArrayList<>();
            Process tail = startTail(jvm, s, outputs);
            for (int i = 0; i < 30; i++) {
                s.sql("INSERT INTO t SELECT g, 'tx " + i + "' FROM generate_series(" + (i * 10) + ", " + (i * 10 + 9) + ") g");
            }
            List<JsonNode> written = awaitLines(outputs.get(0), 300);
            Lsn lastCommit = Lsn.parse(written.get(299).get("tx").get("commit_lsn").asText());

            tail.destroy();

            assertThat(ChildJvm.await(tail, 30)).isIn(0, 143);
            String output = Files.readString(outputs.get(0));
            assertThat(output).endsWith("\n");
            assertThat(output.lines()).hasSize(300);
            Lsn confirmed = s.confirmedFlush();
            assertThat(confirmed.isAfter(lastCommit)).as("confirmed %s must pass the last commit %s", confirmed, lastCommit)
                    .isTrue();

            Process again = startTail(jvm, s, outputs);
            s.sql("INSERT INTO t VALUES (1000, 'after the restart')");
            // a line the first run had confirmed would come again before this one, which is last in the WAL
            List<JsonNode> second = awaitLines(outputs.get(1), 1);
            again.destroy();
            assertThat(ChildJvm.await(again, 30)).isIn(0, 143);
            assertThat(Files.readString(outputs.get(1)).lines()).hasSize(1);
            assertThat(second.get(0).get("record").get("id").asInt()).isEqualTo(1000);
        }
    }

    @Test
    void tail_whose_reader_stops_reading_exits_quietly_and_leaves_the_unread_changes_in_the_slot() throws Exception {
        try (Streams s = Streams.newDatabase(); ChildJvm jvm = new ChildJvm()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY, note text)", "CREATE PUBLICATION tidings FOR ALL TABLES",
                    "SELECT pg_create_logical_replication_slot('" + s.slot + "', 'pgoutput')");
            Path log = dir.resolve("piped.log");
            Process tail = jvm.start(JVM, Main.class.getName(), List.of("tail", "--db", s.jdbcUrl, "--slot", s.slot), null, log);
            for (int i = 0; i < 5; i++) {
                s.sql("INSERT INTO t VALUES (" + i + ", 'read')");
            }
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(tail.getInputStream(), StandardCharsets.UTF_8))) {
                for (int i = 0; i < 3; i++) {
                    assertThat(reader.readLine()).as("line %d", i).contains("\"read\"");
                }
            } // the reader goes away, as `head -3` does
            // tail learns it at its next write
            for (int i = 100; tail.isAlive() && i < 200; i++) {
                s.sql("INSERT INTO t VALUES (" + i + ", 'unread')");
                tail.waitFor(200, TimeUnit.MILLISECONDS);
            }
            assertThat(ChildJvm.await(tail, 30)).isZero();
            assertThat(Files.readString(log)).doesNotContain("Exception").doesNotContain("\tat ");
            long unread = Long.parseLong(s.queryValue("SELECT count(*) FROM pg_logical_slot_peek_binary_changes('" + s.slot
                    + "', NULL, NULL, 'proto_version', '1', 'publication_names', 'tidings') WHERE get_byte(data, 0) = 73"));
            assertThat(unread).as("inserts left in the slot for the next reader").isGreaterThan(0);
        }
    }

    private Process startTail(ChildJvm jvm, Streams s, List<Path> outputs) throws IOException {
        Path out = dir.resolve("run-" + outputs.size() + ".jsonl");
        outputs.add(out);
        return jvm.start(JVM, Main.class.getName(), List.of("tail", "--db", s.jdbcUrl, "--slot", s.slot),
                out, dir.resolve("run-" + (outputs.size() - 1) + ".log"));
    }

    private static List<JsonNode> awaitLines(Path file, int n) throws Exception {
        List<String> lines = Await.value(Duration.ofSeconds(60), n + " lines in " + file,
                () -> Files.readString(file).lines().toList(), l -> l.size() >= n);
        return lines.stream().map(Json::parse).toList();
    }

    private static void awaitConfirmed(Streams s, Lsn target) {
        Await.value(Duration.ofSeconds(120), "the slot confirmed past " + target, s::confirmedFlush,
                confirmed -> confirmed.compareTo(target) >= 0);
    }

    record Report(int changes, int repeated, int partialLines) {}

    /**
     * The checker. Every run's file is complete JSON lines, but for a trailing line cut off by the
     * kill. Within a run ids only grow; a run may begin by repeating ids an earlier run wrote (the
     * transaction the crash cut off, not yet acknowledged), with identical content; everything
     * else is new. The new events, in order, are the committed transactions of the load in commit
     * order, each with exactly its changes and indexes 0..n-1.
     */
    static Report check(List<Path> outputs, List<List<String>> committed) throws IOException {
        Map<String, String> seen = new HashMap<>();
        Map<String, List<JsonNode>> byTx = new LinkedHashMap<>();
        int repeated = 0;
        int partial = 0;
        int changes = 0;
        for (Path output : outputs) {
            String text = Files.readString(output, StandardCharsets.UTF_8);
            int end = text.lastIndexOf('\n') + 1;
            if (end < text.length()) {
                partial++;
            }
            JsonNode previous = null;
            boolean fresh = false;
            for (String line : text.substring(0, end).split("\n", -1)) {
                if (line.isEmpty()) {
                    continue;
                }
                JsonNode event = Json.parse(line);
                String id = event.get("id").asText();
                if (previous != null) {
                    assertThat(compareIds(previous.get("id").asText(), id)).as("%s: %s after %s", output.getFileName(),
                            id, previous.get("id").asText()).isLessThan(0);
                }
                previous = event;
                String before = seen.putIfAbsent(id, line);
                if (before != null) {
                    assertThat(fresh).as("%s repeats %s after new events", output.getFileName(), id).isFalse();
                    assertThat(line).as("a repeated event is identical").isEqualTo(before);
                    repeated++;
                    continue;
                }
                fresh = true;
                changes++;
                byTx.computeIfAbsent(event.get("tx").get("commit_lsn").asText(), k -> new ArrayList<>()).add(event);
            }
        }
        List<List<String>> expected = committed.stream().filter(tx -> !tx.isEmpty()).toList();
        List<List<JsonNode>> actual = new ArrayList<>(byTx.values());
        assertThat(actual).as("transactions delivered").hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            List<JsonNode> events = actual.get(i);
            List<String> got = new ArrayList<>();
            for (int k = 0; k < events.size(); k++) {
                JsonNode e = events.get(k);
                assertThat(e.get("tx").get("index").asInt()).as("index in transaction %d", i).isEqualTo(k);
                JsonNode row = e.get("op").asText().equals("delete") ? e.get("old_record") : e.get("record");
                got.add(e.get("op").asText() + ":" + row.get("id").asLong());
            }
            assertThat(got).as("transaction %d of the load", i).containsExactlyInAnyOrderElementsOf(expected.get(i));
        }
        return new Report(changes, repeated, partial);
    }

    /** Orders ids {@code <commit LSN>:<index>}: by commit LSN, then index. */
    private static int compareIds(String a, String b) {
        int ca = a.lastIndexOf(':');
        int cb = b.lastIndexOf(':');
        int byLsn = Lsn.parse(a.substring(0, ca)).compareTo(Lsn.parse(b.substring(0, cb)));
        return byLsn != 0 ? byLsn : Integer.compare(Integer.parseInt(a.substring(ca + 1)), Integer.parseInt(b.substring(cb + 1)));
    }

    /**
     * Writes transactions of varying size (1 to 1500 rows: inserts, updates and deletes; one in 20
     * rolled back) on one connection until stopped and at least {@link #MIN_CHANGES} changes are
     * committed. One connection, so commit order is the order of {@link #committed}.
     */
    static final class Load implements Runnable {
        final List<List<String>> committed = new ArrayList<>();
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final String url;
        private final Random random;
        private final List<Long> live = new ArrayList<>();
        private long nextId = 1;
        private int changes;

        Load(String url, Random random) {
            this.url = url;
            this.random = random;
        }

        @Override
        public void run() {
            try (Connection c = TestPostgres.connect(url); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                while (!stop.get() || changes < MIN_CHANGES) {
                    List<Long> inserted = new ArrayList<>();
                    List<Long> deleted = new ArrayList<>();
                    List<String> tx = transaction(s, inserted, deleted);
                    if (random.nextInt(20) == 0) {
                        c.rollback();
                    } else {
                        c.commit();
                        committed.add(tx);
                        live.addAll(inserted);
                        live.removeAll(deleted);
                        changes += tx.size();
                    }
                    Thread.sleep(20 + random.nextInt(40));
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }

        /** Runs one transaction's statements and returns its changes as {@code op:id}. */
        private List<String> transaction(Statement s, List<Long> inserted, List<Long> deleted) throws SQLException {
            List<String> changes = new ArrayList<>();
            int pick = random.nextInt(10);
            int rows = pick < 6 ? 1 + random.nextInt(10) : pick < 9 ? 10 + random.nextInt(190) : 300 + random.nextInt(1200);
            long first = nextId;
            nextId += rows;
            s.execute("INSERT INTO load SELECT g, md5(g::text) FROM generate_series(" + first + ", " + (nextId - 1) + ") g");
            for (long id = first; id < nextId; id++) {
                changes.add("insert:" + id);
                inserted.add(id);
            }
            if (!live.isEmpty() && random.nextInt(3) == 0) {
                List<Long> ids = pickLive(1 + random.nextInt(20));
                s.execute("UPDATE load SET note = note || '+' WHERE id IN (" + join(ids) + ")");
                ids.forEach(id -> changes.add("update:" + id));
            }
            if (live.size() > 50 && random.nextInt(5) == 0) {
                List<Long> ids = pickLive(1 + random.nextInt(10));
                s.execute("DELETE FROM load WHERE id IN (" + join(ids) + ")");
                ids.forEach(id -> changes.add("delete:" + id));
                deleted.addAll(ids);
            }
            return changes;
        }

        private List<Long> pickLive(int n) {
            List<Long> ids = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Long id = live.get(random.nextInt(live.size()));
                if (!ids.contains(id)) {
                    ids.add(id);
                }
            }
            return ids;
        }

        private static String join(List<Long> ids) {
            return String.join(",", ids.stream().map(String::valueOf).toList());
        }

        /** The end of the newest commit record: what the slot must confirm once everything is delivered. */
        /**
         * Where the WAL of every committed transaction ends. The insert position, not
         * pg_current_wal_lsn(): the test server commits asynchronously, so the write position can
         * still be short of the last commits, and waiting for it would stop tail too early.
         */
        Lsn lastCommitEnd(Streams s) {
            return Lsn.parse(s.queryValue("SELECT pg_current_wal_insert_lsn()::text"));
        }
    }
}
