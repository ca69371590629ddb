package dev.tidings.server.sinks;

import dev.tidings.testing.Await;
import dev.tidings.testing.TcpProxy;
import dev.tidings.testing.TestPostgres;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two {@code tidings serve} processes with {@code ha.enabled} on one slot, a file sink and a Redis
 * stream sink: the leader is killed with SIGKILL three times, alternating, and the killed one comes
 * back as the new standby; every change reaches both sinks in commit order per table, and each
 * takeover is measured. A paused leader (SIGSTOP) is replaced, and once resumed writes nothing more
 * and exits with code 3; so does a leader cut off from PostgreSQL. A backfill that a killed leader left half done is finished by the new one
 * from its stored position.
 *
 * <p>Default: 50,000 changes; {@code -Dtidings.test.haChanges=N} scales it.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
class HighAvailabilityTest {
    static final int CHANGES = Integer.getInteger("tidings.test.haChanges", 50_000);
    static final int KILLS = 3;

    @TempDir
    Path dir;

    private final List<ServeProcess> processes = new ArrayList<>();
    private final List<Path> files = new ArrayList<>();

    @AfterEach
    void stopAll() throws Exception {
        for (ServeProcess p : processes) {
            p.process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            signal(p, "CONT");
            p.close();
        }
    }

    @Test
    void every_change_reaches_both_sinks_in_order_across_three_leader_kills() throws Exception {
        String db = TestPostgres.newDatabase();
        String slot = db.substring(db.lastIndexOf('/') + 1, db.indexOf('?'));
        String stream = "tidings-ha-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (ChangeLoad load = new ChangeLoad(db, 3);
             RedisClient redis = RedisClient.create("redis://127.0.0.1:6379");
             StatefulRedisConnection<String, String> conn = redis.connect()) {
            ServeProcess leader = start(db, slot, stream);
            leader.awaitReady(Duration.ofSeconds(60));
            ServeProcess standby = start(db, slot, stream);
            awaitRole(standby, "standby");
            HttpResponse<String> notReady = standby.get("/ready");
            assertThat(notReady.statusCode()).isEqualTo(503);
            assertThat(notReady.body()).contains("standby: another process leads slot " + slot);
            assertThat(standby.get("/health").statusCode()).isEqualTo(200);
            assertThat(standby.get("/api/status").body()).contains("\"role\":\"standby\"").contains("\"leader\":{\"backend_pid\":");

            load.start(CHANGES, 40, 24);
            List<Double> takeovers = new ArrayList<>();
            for (int kill = 0; kill < KILLS; kill++) {
                Thread.sleep(3_000 + kill * 500);
                long killed = System.nanoTime();
                leader.kill();
                standby.awaitReady(Duration.ofSeconds(30));
                takeovers.add((System.nanoTime() - killed) / 1e9);
                leader = standby;
                standby = start(db, slot, stream);
                awaitRole(standby, "standby");
            }
            load.await();
            load.flushWal();
            int total = (int) load.committed.get();
            assertThat(total).isGreaterThanOrEqualTo(CHANGES);
            awaitInFiles(total, leader);
            RedisCommands<String, String> r = conn.sync();
            Await.until(Duration.ofSeconds(60), "every change in the Redis stream", () -> redisIds(r, stream, load.tables) >= total);
            assertThat(leader.terminate(60)).isIn(0, 143);
            assertThat(standby.terminate(60)).isIn(0, 143);

            Delivered file = new Delivered();
            files.forEach(f -> file.run(Delivered.jsonLines(f)));
            file.verify(load.counts(), false);
            Delivered redisStream = new Delivered().run(redisEntries(r, stream, load.tables));
            redisStream.verify(load.counts(), true);
            System.out.printf("HA: %d changes in %d transactions, leader SIGKILLed %d times; takeover (kill → standby "
                            + "ready) s: %s, max %.2f; file %d lines (%d distinct), redis %d entries%n", total,
                    load.transactions.get(), KILLS, takeovers.stream().map(t -> String.format("%.2f", t)).toList(),
                    takeovers.stream().mapToDouble(Double::doubleValue).max().orElse(0), file.total(), file.distinct(),
                    redisStream.total());
            assertThat(takeovers).allSatisfy(t -> assertThat(t).isLessThan(10.0));
            for (int t = 0; t < load.tables; t++) {
                r.del(stream + ":load_" + t);
            }
        } finally {
            dropSlot(slot);
        }
    }

    @Test
    void a_paused_leader_is_replaced_and_once_resumed_delivers_and_confirms_nothing() throws Exception {
        String db = TestPostgres.newDatabase();
        String slot = db.substring(db.lastIndexOf('/') + 1, db.indexOf('?'));
        String stream = "tidings-ha-pause-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (ChangeLoad load = new ChangeLoad(db, 2);
             RedisClient redis = RedisClient.create("redis://127.0.0.1:6379");
             StatefulRedisConnection<String, String> conn = redis.connect()) {
            ServeProcess leader = start(db, slot, stream);
            Path leaderFile = files.getLast();
            leader.awaitReady(Duration.ofSeconds(60));
            ServeProcess standby = start(db, slot, stream);
            awaitRole(standby, "standby");
            load.start(6_000, 10, 14);
            Await.until(Duration.ofSeconds(30), "the leader to deliver", () -> !Delivered.jsonLines(leaderFile).isEmpty());

            signal(leader, "STOP");
            long paused = System.nanoTime();
            Thread.sleep(200); // a write under way when the signal came completes
            int linesWhenPaused = Delivered.jsonLines(leaderFile).size();
            String confirmedWhenPaused = confirmedLsn(slot);
            standby.awaitReady(Duration.ofSeconds(30));
            double takeover = (System.nanoTime() - paused) / 1e9;
            // the new leader delivers and confirms while the old one is still paused
            Await.until(Duration.ofSeconds(30), "the new leader to confirm", () -> !confirmedLsn(slot).equals(confirmedWhenPaused));

            long logBefore = Files.size(leader.log);
            signal(leader, "CONT");
            assertThat(leader.process.waitFor(30, TimeUnit.SECONDS)).as("the resumed leader exits; log:\n%s", leader.tail()).isTrue();
            assertThat(leader.process.exitValue()).as("exit code of a lost leader; log:\n%s", leader.tail()).isEqualTo(3);
            assertThat(Delivered.jsonLines(leaderFile)).as("lines the old leader wrote after it was resumed").hasSize(linesWhenPaused);
            String afterResume = Files.readString(leader.log).substring((int) logBefore);
            assertThat(afterResume).contains("lost the leadership of slot " + slot).doesNotContain("streaming from slot");

            load.await();
            load.flushWal();
            int total = (int) load.committed.get();
            awaitInFiles(total, standby);
            RedisCommands<String, String> r = conn.sync();
            Await.until(Duration.ofSeconds(60), "every change in the Redis stream", () -> redisIds(r, stream, load.tables) >= total);
            Delivered file = new Delivered();
            files.forEach(f -> file.run(Delivered.jsonLines(f)));
            file.verify(load.counts(), false);
            new Delivered().run(redisEntries(r, stream, load.tables)).verify(load.counts(), true);
            System.out.printf("HA: leader paused (SIGSTOP), standby ready after %.2f s; resumed, it wrote nothing more "
                    + "and exited 3%n", takeover);
            assertThat(takeover).isLessThan(10.0);
            assertThat(standby.terminate(60)).isIn(0, 143);
            for (int t = 0; t < load.tables; t++) {
                r.del(stream + ":load_" + t);
            }
        } finally {
            dropSlot(slot);
        }
    }

    /** A file sink (a file per process run) and a Redis stream sink. */
    private ServeProcess start(String db, String slot, String stream) throws Exception {
        Path file = dir.resolve("run-" + files.size() + ".jsonl");
        files.add(file);
        return serve(db, slot, """
                 "sinks": [
                   {"name": "file", "type": "file", "path": "%s", "batch": 1000},
                   {"name": "redis", "type": "redis", "uri": "redis://127.0.0.1:6379", "stream": "%s:${table}", "batch": 500}
                 ]""".formatted(file, stream));
    }

    /** {@code serve} with {@code ha.enabled} and the YAML {@code sections} (a JSON map's members). */
    private ServeProcess serve(String db, String slot, String sections) throws Exception {
        Path yaml = dir.resolve("serve-" + processes.size() + ".yaml");
        Files.writeString(yaml, """
                {"db": {"url": "%s"},
                 "replication": {"slot": "%s", "publication": "%s"},
                 "ha": {"enabled": true},
                 %s}""".formatted(db, slot, slot, sections));
        ServeProcess p = new ServeProcess(yaml, ServeProcess.freePort(), dir.resolve("serve-" + processes.size() + ".log"), Map.of());
        processes.add(p);
        return p;
    }

    @Test
    void a_leader_cut_off_from_the_database_is_replaced_and_exits() throws Exception {
        String db = TestPostgres.newDatabase();
        String slot = db.substring(db.lastIndexOf('/') + 1, db.indexOf('?'));
        String stream = "tidings-ha-cut-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (ChangeLoad load = new ChangeLoad(db, 2);
             TcpProxy proxy = new TcpProxy(TestPostgres.port());
             RedisClient redis = RedisClient.create("redis://127.0.0.1:6379");
             StatefulRedisConnection<String, String> conn = redis.connect()) {
            ServeProcess leader = start(db.replace(":" + TestPostgres.port() + "/", ":" + proxy.port() + "/"), slot, stream);
            leader.awaitReady(Duration.ofSeconds(60));
            ServeProcess standby = start(db, slot, stream);
            awaitRole(standby, "standby");
            load.start(6_000, 10, 12);
            Thread.sleep(2_000);

            proxy.cut();
            long cut = System.nanoTime();
            standby.awaitReady(Duration.ofSeconds(30));
            double takeover = (System.nanoTime() - cut) / 1e9;
            assertThat(leader.process.waitFor(30, TimeUnit.SECONDS)).as("the cut-off leader exits; log:\n%s", leader.tail()).isTrue();
            assertThat(leader.process.exitValue()).as("log:\n%s", leader.tail()).isEqualTo(3);
            proxy.restore();

            load.await();
            load.flushWal();
            int total = (int) load.committed.get();
            awaitInFiles(total, standby);
            RedisCommands<String, String> r = conn.sync();
            Await.until(Duration.ofSeconds(60), "every change in the Redis stream", () -> redisIds(r, stream, load.tables) >= total);
            Delivered file = new Delivered();
            files.forEach(f -> file.run(Delivered.jsonLines(f)));
            file.verify(load.counts(), false);
            new Delivered().run(redisEntries(r, stream, load.tables)).verify(load.counts(), true);
            System.out.printf("HA: leader cut off from PostgreSQL, standby ready after %.2f s; the old leader exited 3%n", takeover);
            assertThat(takeover).isLessThan(10.0);
            assertThat(standby.terminate(60)).isIn(0, 143);
            for (int t = 0; t < load.tables; t++) {
                r.del(stream + ":load_" + t);
            }
        } finally {
            dropSlot(slot);
        }
    }

    @Test
    void a_backfill_continues_on_the_new_leader_from_its_persisted_state() throws Exception {
        String db = TestPostgres.newDatabase();
        String slot = db.substring(db.lastIndexOf('/') + 1, db.indexOf('?'));
        int rows = 20_000;
        TestPostgres.execute(db, "CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, " + rows + ") i");
        try {
            ServeProcess leader = startWithBackfill(db, slot);
            leader.awaitReady(Duration.ofSeconds(60));
            ServeProcess standby = startWithBackfill(db, slot);
            awaitRole(standby, "standby");
            Await.until(Duration.ofSeconds(60), () -> "a third of the backfill; log:\n" + leader.tail(),
                    () -> backfilledRows(db, slot) >= rows / 3);
            leader.kill();
            long atKill = backfilledRows(db, slot);
            standby.awaitReady(Duration.ofSeconds(30));
            Await.until(Duration.ofSeconds(90), () -> "the backfill done on the new leader; log:\n" + standby.tail(),
                    () -> "done".equals(single(db, "SELECT string_agg(DISTINCT state, ',') FROM tidings.backfills WHERE slot = '"
                            + slot + "'")));
            assertThat(standby.terminate(60)).isIn(0, 143);

            Set<Integer> ids = new HashSet<>();
            int reads = 0;
            for (Path f : files) {
                for (String line : Files.exists(f) ? Files.readAllLines(f) : List.<String>of()) {
                    if (line.contains("\"op\":\"read\"")) {
                        reads++;
                        ids.add(Delivered.MAPPER.readTree(line).get("record").get("id").asInt());
                    }
                }
            }
            assertThat(ids).as("every row read once at least").hasSize(rows);
            assertThat(reads).as("the new leader resumed after the %d rows stored, not from the start", atKill)
                    .isLessThan(rows + (int) atKill / 2);
            System.out.printf("HA backfill: %d rows, leader killed after %d were stored; %d read events in all%n", rows, atKill,
                    reads);
        } finally {
            dropSlot(slot);
        }
    }

    private ServeProcess startWithBackfill(String db, String slot) throws Exception {
        Path file = dir.resolve("run-" + files.size() + ".jsonl");
        files.add(file);
        return serve(db, slot, """
                 "backfill": {"chunk_rows": 500, "rows_per_second": 2000},
                 "sinks": [{"name": "file", "type": "file", "path": "%s", "batch": 1000, "backfill": "initial"}]"""
                .formatted(file));
    }

    private static long backfilledRows(String db, String slot) throws Exception {
        String n = single(db, "SELECT coalesce(sum(rows), 0) FROM tidings.backfills WHERE slot = '" + slot + "'");
        return n == null ? 0 : Long.parseLong(n);
    }

    private static String single(String db, String sql) throws Exception {
        try (var c = TestPostgres.connect(db); var s = c.createStatement()) {
            try (var check = s.executeQuery("SELECT to_regclass('tidings.backfills') IS NOT NULL")) {
                check.next();
                if (!check.getBoolean(1)) {
                    return null;
                }
            }
            try (var rs = s.executeQuery(sql)) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static void awaitRole(ServeProcess p, String role) {
        Await.until(Duration.ofSeconds(60), () -> "role " + role + "; log:\n" + p.tail(), () -> {
            HttpResponse<String> r = p.get("/health");
            return r != null && r.body().contains("\"role\":\"" + role + "\"");
        });
    }

    private void awaitInFiles(int total, ServeProcess leader) {
        Await.value(Duration.ofSeconds(120), () -> total + " changes in the files; log:\n" + leader.tail(), () -> {
            Set<String> ids = new HashSet<>();
            for (Path f : files) {
                Delivered.jsonLines(f).forEach(m -> ids.add(m.id()));
            }
            return ids.size();
        }, n -> n >= total);
    }

    private static List<Delivered.Message> redisEntries(RedisCommands<String, String> r, String stream, int tables) {
        List<Delivered.Message> entries = new ArrayList<>();
        for (int t = 0; t < tables; t++) {
            for (StreamMessage<String, String> m : r.xrange(stream + ":load_" + t, Range.create("-", "+"))) {
                entries.add(Delivered.parse(m.getBody().get("event")));
            }
        }
        return entries;
    }

    private static int redisIds(RedisCommands<String, String> r, String stream, int tables) {
        Set<String> ids = new HashSet<>();
        redisEntries(r, stream, tables).forEach(m -> ids.add(m.id()));
        return ids.size();
    }

    private static String confirmedLsn(String slot) throws Exception {
        try (var c = TestPostgres.connect(TestPostgres.url("postgres")); var s = c.createStatement();
             var rs = s.executeQuery("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '" + slot + "'")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void signal(ServeProcess p, String signal) throws Exception {
        if (p.process.isAlive()) {
            new ProcessBuilder("kill", "-" + signal, String.valueOf(p.process.pid())).start().waitFor();
        }
    }

    private static void dropSlot(String slot) throws InterruptedException {
        TestPostgres.execute(TestPostgres.url("postgres"), "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                + "WHERE slot_name = '" + slot + "' AND active");
        Thread.sleep(200);
        TestPostgres.execute(TestPostgres.url("postgres"), "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                + "WHERE slot_name = '" + slot + "'");
    }
}
