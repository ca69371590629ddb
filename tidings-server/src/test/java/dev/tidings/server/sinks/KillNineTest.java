package dev.tidings.server.sinks;

import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import io.lettuce.core.RedisClient;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Guarantee 1 across crashes: the sink runner is killed with SIGKILL at random points while a
 * load commits, restarted each time, and at the end the file sink and a Redis stream hold every
 * committed change, per table in commit order, duplicated only across a crash and with the same id.
 *
 * <p>Default: 10 kills during 50,000 changes. {@code -Dtidings.test.kills=N} and
 * {@code -Dtidings.test.killChanges=N} make it heavier.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
class KillNineTest {
    static final int KILLS = Integer.getInteger("tidings.test.kills", 10);
    static final int CHANGES = Integer.getInteger("tidings.test.killChanges", 50_000);

    @TempDir
    Path dir;

    @Test
    void every_committed_change_survives_repeated_sigkill_in_order_with_stable_ids() throws Exception {
        String db = TestPostgres.newDatabase();
        String slot = db.substring(db.lastIndexOf('/') + 1, db.indexOf('?'));
        String stream = "tidings-kill-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        Path log = dir.resolve("runner.log");
        Random random = new Random(7);
        List<Path> runFiles = new ArrayList<>();
        try (ChangeLoad load = new ChangeLoad(db, 3);
             RedisClient redis = RedisClient.create("redis://127.0.0.1:6379");
             StatefulRedisConnection<String, String> conn = redis.connect()) {
            RedisCommands<String, String> r = conn.sync();
            // a first start creates slot and publication, so the load is captured from its first row
            Child first = start(db, slot, stream, runFiles);
            assertThat(first.awaitStreaming(60)).as("runner streams; log: %s", tail(log)).isTrue();
            load.start(CHANGES, 40, Math.max(20, KILLS * 2.5));
            Child child = first;
            int kills = 0;
            while (kills < KILLS) {
                // kill at a random moment: sometimes before it streams, mostly while it delivers
                Thread.sleep(random.nextInt(10) == 0 ? 200 + random.nextInt(600) : 800 + random.nextInt(2200));
                child.kill();
                kills++;
                child = start(db, slot, stream, runFiles);
            }
            load.await();
            load.flushWal();
            int total = (int) load.committed.get();
            assertThat(total).isGreaterThanOrEqualTo(CHANGES);
            assertThat(child.awaitStreaming(60)).isTrue();
            awaitDelivered(runFiles, total, Duration.ofSeconds(120), log);
            assertThat(child.stop()).as("graceful stop on SIGTERM; log: %s", tail(log)).isIn(0, 143);

            Delivered file = new Delivered();
            runFiles.forEach(f -> file.run(Delivered.jsonLines(f)));
            file.verify(load.counts(), false);

            Delivered redisStream = new Delivered();
            List<Delivered.Message> entries = new ArrayList<>();
            for (int t = 0; t < load.tables; t++) {
                for (StreamMessage<String, String> m : r.xrange(stream + ":load_" + t, io.lettuce.core.Range.create("-", "+"))) {
                    entries.add(Delivered.parse(m.getBody().get("event")));
                }
            }
            redisStream.run(entries).verify(load.counts(), true);
            System.out.printf("kill -9 x%d during %d changes in %d transactions: file %d lines (%d distinct), "
                            + "redis %d entries%n", kills, total, load.transactions.get(), file.total(), file.distinct(),
                    redisStream.total());
            for (int t = 0; t < load.tables; t++) {
                r.del(stream + ":load_" + t);
            }
        } finally {
            TestPostgres.execute(TestPostgres.url("postgres"), "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                    + "WHERE slot_name = '" + slot + "' AND active");
            Thread.sleep(200);
            TestPostgres.execute(TestPostgres.url("postgres"), "SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }

    private Child start(String db, String slot, String stream, List<Path> runFiles) throws Exception {
        Path file = dir.resolve("run-" + runFiles.size() + ".jsonl");
        runFiles.add(file);
        String config = """
                {"sinks": [
                  {"name": "file", "type": "file", "path": "%s", "batch": 1000},
                  {"name": "redis", "type": "redis", "uri": "redis://127.0.0.1:6379", "stream": "%s:${table}", "batch": 500}
                ]}""".formatted(file, stream);
        return new Child(db, slot, Child.config(dir, config), dir.resolve("runner.log"));
    }

    private static void awaitDelivered(List<Path> runFiles, int total, Duration timeout, Path log) throws Exception {
        Await.value(timeout, () -> total + " changes in the file; log: " + tail(log), () -> {
            java.util.Set<String> ids = new java.util.HashSet<>();
            for (Path f : runFiles) {
                Delivered.jsonLines(f).forEach(m -> ids.add(m.id()));
            }
            return ids.size();
        }, n -> n >= total);
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (Exception e) {
            return "(no log)";
        }
    }
}
