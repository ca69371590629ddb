package dev.tidings.server.sinks;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConnectionFactory;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import io.lettuce.core.RedisClient;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.PushSubscribeOptions;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Guarantee 1 across crashes: the sink runner, and {@code tidings serve}, are killed with SIGKILL
 * at random points while a load commits, restarted each time, and at the end every sink (a file,
 * a Redis stream; a NATS JetStream stream and a RabbitMQ queue) holds every committed change, per
 * table in commit order, duplicated only across a crash and with the same id.
 *
 * <p>Default: 10 kills during 50,000 changes per test. {@code -Dtidings.test.kills=N} and
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
            for (int kills = 0; kills < KILLS; kills++) {
                pauseBeforeKill(random);
                child.kill();
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
                            + "redis %d entries%n", KILLS, total, load.transactions.get(), file.total(), file.distinct(),
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

    @Test
    void nats_jetstream_and_rabbitmq_hold_every_committed_change_after_repeated_sigkill_of_serve() throws Exception {
        String db = TestPostgres.newDatabase();
        String slot = db.substring(db.lastIndexOf('/') + 1, db.indexOf('?'));
        String name = "tidings_kill_" + ProcessHandle.current().pid() + "_" + System.nanoTime();
        Random random = new Random(11);
        List<Path> runFiles = new ArrayList<>();
        ConnectionFactory amqp = new ConnectionFactory();
        amqp.setUri("amqp://guest:guest@127.0.0.1:5672");
        List<Delivered.Message> fromRabbit = new CopyOnWriteArrayList<>();
        try (ChangeLoad load = new ChangeLoad(db, 3);
             io.nats.client.Connection nc = Nats.connect("nats://127.0.0.1:4222");
             com.rabbitmq.client.Connection rabbit = amqp.newConnection()) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            // a duplicate window longer than the test, so every redelivery is one JetStream drops
            jsm.addStream(StreamConfiguration.builder().name(name).subjects(name + ".>").storageType(StorageType.Memory)
                    .duplicateWindow(Duration.ofMinutes(30)).build());
            Channel ch = rabbit.createChannel();
            ch.exchangeDeclare(name, "topic", false, true, null);
            ch.queueDeclare(name, false, false, true, null);
            ch.queueBind(name, name, "#");
            ch.basicConsume(name, true, (tag, m) -> fromRabbit.add(Delivered.parse(new String(m.getBody(), UTF_8))), tag -> { });
            try {
                ServeProcess serve = serve(db, slot, name, runFiles);
                serve.awaitReady(Duration.ofSeconds(60));
                load.start(CHANGES, 40, Math.max(20, KILLS * 2.5));
                for (int kills = 0; kills < KILLS; kills++) {
                    pauseBeforeKill(random);
                    serve.kill();
                    serve = serve(db, slot, name, runFiles);
                }
                load.await();
                load.flushWal();
                int total = (int) load.committed.get();
                serve.awaitReady(Duration.ofSeconds(60));
                awaitDelivered(runFiles, total, Duration.ofSeconds(120), serve.log);
                Await.until(Duration.ofSeconds(60), () -> total + " distinct messages from RabbitMQ, got "
                        + fromRabbit.stream().map(Delivered.Message::id).distinct().count(),
                        () -> fromRabbit.stream().map(Delivered.Message::id).distinct().count() >= total);
                assertThat(serve.terminate(60)).as("graceful stop on SIGTERM; log:\n%s", serve.tail()).isIn(0, 143);

                Delivered file = new Delivered();
                runFiles.forEach(f -> file.run(Delivered.jsonLines(f)));
                file.verify(load.counts(), false);
                List<Delivered.Message> fromNats = natsMessages(nc, name);
                new Delivered().run(fromNats).verify(load.counts(), false);
                assertThat(fromNats).as("JetStream kept each id once (Nats-Msg-Id)").hasSize(total);
                new Delivered().run(fromRabbit).verify(load.counts(), true);
                System.out.printf("serve kill -9 x%d during %d changes: NATS %d messages, RabbitMQ %d (%d distinct)%n",
                        KILLS, total, fromNats.size(), fromRabbit.size(),
                        fromRabbit.stream().map(Delivered.Message::id).distinct().count());
            } finally {
                ch.queueDelete(name);
                ch.exchangeDelete(name);
                jsm.deleteStream(name);
            }
        } finally {
            TestPostgres.execute(TestPostgres.url("postgres"), "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                    + "WHERE slot_name = '" + slot + "' AND active");
            Thread.sleep(200);
            TestPostgres.execute(TestPostgres.url("postgres"), "SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }

    /** Kill at a random moment: sometimes before the process streams, mostly while it delivers. */
    private static void pauseBeforeKill(Random random) throws InterruptedException {
        Thread.sleep(random.nextInt(10) == 0 ? 200 + random.nextInt(600) : 800 + random.nextInt(2200));
    }

    private ServeProcess serve(String db, String slot, String name, List<Path> runFiles) throws Exception {
        Path file = dir.resolve("serve-run-" + runFiles.size() + ".jsonl");
        runFiles.add(file);
        String yaml = """
                db: {url: "%s"}
                replication: {slot: %s, publication: %s}
                sinks:
                  - {name: file, type: file, path: "%s", batch: 1000}
                  - {name: nats, type: nats, url: "nats://127.0.0.1:4222", subject: "%s.${table}", batch: 500}
                  - {name: rabbit, type: rabbitmq, uri: "amqp://guest:guest@127.0.0.1:5672", exchange: "%s", batch: 500}
                """.formatted(db, slot, slot, file, name, name);
        Path config = Files.createTempFile(dir, "serve", ".yaml");
        Files.writeString(config, yaml);
        return new ServeProcess(config, ServeProcess.freePort(), dir.resolve("serve.log"), Map.of());
    }

    /** Every message of a JetStream stream, in stream order, through an ordered consumer. */
    private static List<Delivered.Message> natsMessages(io.nats.client.Connection nc, String stream) throws Exception {
        long count = nc.jetStreamManagement().getStreamInfo(stream).getStreamState().getMsgCount();
        List<Delivered.Message> out = new ArrayList<>();
        JetStreamSubscription sub = nc.jetStream().subscribe(stream + ".>", PushSubscribeOptions.builder().ordered(true).build());
        try {
            while (out.size() < count) {
                Message m = sub.nextMessage(Duration.ofSeconds(10));
                if (m == null) {
                    throw new AssertionError("JetStream stream " + stream + " holds " + count + " messages; read only " + out.size());
                }
                out.add(Delivered.parse(new String(m.getData(), UTF_8)));
            }
        } finally {
            sub.unsubscribe();
        }
        return out;
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
