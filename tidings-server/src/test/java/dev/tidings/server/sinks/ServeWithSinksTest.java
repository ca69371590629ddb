package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tidings serve} as a user runs it, in a JVM of its own: one replication stream feeding a
 * file sink, a Redis stream and WebSocket clients; killed with SIGKILL and stopped with SIGTERM.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
class ServeWithSinksTest {
    private static final String JWT_SECRET = "jwt-secret-that-must-never-be-logged-0123456789";
    private static final String WEBHOOK_SECRET = "whsec_bmV2ZXItbG9nLXRoaXMtd2ViaG9vay1zZWNyZXQ=";
    private static final String DB_PASSWORD = "db-password-never-logged-42";

    @TempDir
    Path dir;
    private String slot;
    private String stream;
    private final List<Path> runFiles = new ArrayList<>();

    @AfterEach
    void dropSlotAndStreams() {
        if (slot != null) {
            TestPostgres.execute(TestPostgres.url("postgres"), "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                    + "WHERE slot_name = '" + slot + "' AND active");
            TestPostgres.execute(TestPostgres.url("postgres"), "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    + "WHERE slot_name = '" + slot + "' AND NOT active");
        }
        if (stream != null) {
            try (RedisClient redis = RedisClient.create("redis://127.0.0.1:6379");
                 StatefulRedisConnection<String, String> c = redis.connect()) {
                c.sync().del(stream + ":load_0", stream + ":load_1");
            }
        }
    }

    @Test
    void file_redis_and_websocket_get_every_change_and_kill_9_loses_nothing_in_the_sinks() throws Exception {
        String db = TestPostgres.newDatabase();
        slot = db.substring(db.lastIndexOf('/') + 1, db.indexOf('?'));
        stream = "tidings-serve-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        int port = ServeProcess.freePort();
        try (ChangeLoad load = new ChangeLoad(db, 2)) {
            ServeProcess first = start(db, port, Map.of());
            first.awaitReady(Duration.ofSeconds(60));
            try (LiveClient live = new LiveClient("ws://127.0.0.1:" + port + "/socket/websocket?vsn=1.0.0")) {
                load.start(2_000, 20, 3).await();
                load.flushWal();
                awaitInFile(load.committed.get(), first);
                int[] counts = load.counts();
                Await.until(Duration.ofSeconds(20), "the WebSocket client receives every change",
                        () -> live.changes.size() >= counts[0] + counts[1]);
                for (int t = 0; t < 2; t++) {
                    assertThat(live.rows("load_" + t)).as("WebSocket rows of load_%d in commit order", t)
                            .containsExactlyElementsOf(IntStream.rangeClosed(1, counts[t]).boxed().toList());
                }
            }
            load.start(6_000, 20, 4);
            Thread.sleep(1_500);
            first.kill();
            ServeProcess second = start(db, port, Map.of());
            second.awaitReady(Duration.ofSeconds(60));
            load.await();
            load.flushWal();
            awaitInFile(load.committed.get(), second);
            assertThat(second.terminate(60)).as("exit code after SIGTERM; log:\n%s", second.tail()).isZero();
            Delivered file = new Delivered();
            runFiles.forEach(f -> file.run(Delivered.jsonLines(f)));
            file.verify(load.counts(), false);
            Delivered redis = new Delivered();
            redis.run(redisEntries()).verify(load.counts(), true);
        }
    }

    @Test
    void sigterm_drains_to_the_sinks_confirms_closes_websockets_and_exits_0_with_no_secret_in_json_logs() throws Exception {
        String db = TestPostgres.newDatabase();
        slot = db.substring(db.lastIndexOf('/') + 1, db.indexOf('?'));
        int port = ServeProcess.freePort();
        Map<String, String> env = Map.of("JWT_SECRET", JWT_SECRET, "LOG_FORMAT", "json");
        String dbWithPassword = db + "&password=" + DB_PASSWORD;
        try (ChangeLoad load = new ChangeLoad(db, 2)) {
            ServeProcess first = start(dbWithPassword, port, env);
            first.awaitReady(Duration.ofSeconds(60));
            LiveClient live = new LiveClient("ws://127.0.0.1:" + port + "/socket/websocket?vsn=1.0.0&apikey="
                    + dev.tidings.server.http.Tokens.hs256(JWT_SECRET, "anon"));
            load.start(4_000, 20, 4);
            Thread.sleep(1_500);
            assertThat(first.terminate(60)).as("exit code after SIGTERM; log:\n%s", first.tail()).isZero();
            assertThat(live.closeStatus.get(10, java.util.concurrent.TimeUnit.SECONDS)).as("close frame status").isEqualTo(1001);
            live.close();
            ServeProcess second = start(dbWithPassword, port, env);
            second.awaitReady(Duration.ofSeconds(60));
            load.await();
            load.flushWal();
            awaitInFile(load.committed.get(), second);
            assertThat(second.terminate(60)).isZero();

            Delivered file = new Delivered();
            runFiles.forEach(f -> file.run(Delivered.jsonLines(f)));
            file.verify(load.counts(), false);
            Set<String> before = new HashSet<>();
            Delivered.jsonLines(runFiles.get(0)).forEach(m -> before.add(m.id()));
            assertThat(Delivered.jsonLines(runFiles.get(1))).as("after a graceful stop nothing is delivered twice")
                    .noneMatch(m -> before.contains(m.id()));

            String log = Files.readString(first.log);
            assertThat(log).doesNotContain(JWT_SECRET).doesNotContain(WEBHOOK_SECRET).doesNotContain(DB_PASSWORD)
                    .contains("stopping");
            for (String line : log.split("\n")) {
                if (!line.isBlank()) {
                    JsonNode json = Delivered.MAPPER.readTree(line);
                    assertThat(json.has("level") && json.has("formattedMessage")).as("a JSON log line: %s", line).isTrue();
                }
            }
        }
    }

    private ServeProcess start(String db, int port, Map<String, String> env) throws Exception {
        Path file = dir.resolve("run-" + runFiles.size() + ".jsonl");
        runFiles.add(file);
        String redis = stream == null ? "" : """
                  - {name: redis, type: redis, uri: "redis://127.0.0.1:6379", stream: "%s:${table}", batch: 500}
                """.formatted(stream);
        String webhook = env.isEmpty() ? "" : """
                  - {name: hook, type: webhook, url: "http://127.0.0.1:9/never", secret: "%s", tables: [public.nothing]}
                """.formatted(WEBHOOK_SECRET);
        String yaml = """
                db: {url: "%s"}
                replication: {slot: %s, publication: %s, lag_check_seconds: 1}
                sinks:
                  - {name: file, type: file, path: "%s", batch: 1000}
                """.formatted(db, slot, slot, file) + redis + webhook;
        Path config = Files.createTempFile(dir, "serve", ".yaml");
        Files.writeString(config, yaml);
        return new ServeProcess(config, port, dir.resolve("serve-" + runFiles.size() + ".log"), env);
    }

    private void awaitInFile(long total, ServeProcess serve) throws Exception {
        Await.value(Duration.ofSeconds(60), () -> total + " changes in the file; log:\n" + serve.tail(), () -> {
            Set<String> ids = new HashSet<>();
            for (Path f : runFiles) {
                Delivered.jsonLines(f).forEach(m -> ids.add(m.id()));
            }
            return ids.size();
        }, n -> n >= total);
    }

    private List<Delivered.Message> redisEntries() {
        List<Delivered.Message> out = new ArrayList<>();
        try (RedisClient redis = RedisClient.create("redis://127.0.0.1:6379");
             StatefulRedisConnection<String, String> c = redis.connect()) {
            for (int t = 0; t < 2; t++) {
                for (StreamMessage<String, String> m : c.sync().xrange(stream + ":load_" + t, Range.create("-", "+"))) {
                    out.add(Delivered.parse(m.getBody().get("event")));
                }
            }
        }
        return out;
    }
}
