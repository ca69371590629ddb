package dev.tidings.server.realtime;

import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.server.http.TidingsServer;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;

import dev.tidings.base.TableFilter;
import dev.tidings.base.TableName;
import dev.tidings.server.live.LiveFanOut;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One call that starts what a test needs: a fresh database with a {@code todos} table on the
 * embedded PostgreSQL, and {@code tidings serve} on a free port streaming it — hands back the
 * URLs and a way to write SQL. Waits until the stream is live, so every change written after
 * {@link #start} returns reaches the subscribers.
 */
final class ServeHarness implements AutoCloseable {
    private static final AtomicInteger slots = new AtomicInteger();
    private final AtomicInteger settles = new AtomicInteger();

    final String jdbcUrl;
    final TidingsServer server;

    private ServeHarness(String jdbcUrl, TidingsServer server) {
        this.jdbcUrl = jdbcUrl;
        this.server = server;
    }

    static ServeHarness start() throws Exception {
        return start(Map.of());
    }

    /** @param settings extra settings by canonical path (see ServeConfigLoader.SETTINGS) */
    static ServeHarness start(Map<String, String> settings) throws Exception {
        return start(settings, null);
    }

    /** @param yaml a config file's text, or null */
    static ServeHarness start(Map<String, String> settings, String yaml) throws Exception {
        String url = TestPostgres.newDatabase();
        TestPostgres.execute(url,
                "CREATE TABLE todos (id bigint PRIMARY KEY, title text, done boolean NOT NULL DEFAULT false, "
                        + "inserted_at timestamptz NOT NULL DEFAULT now(), user_id int)",
                "CREATE TABLE notes (id serial PRIMARY KEY, body text)",
                "CREATE TABLE settled (n int)",
                "CREATE PUBLICATION supabase_realtime FOR ALL TABLES");
        Map<String, String> flags = new LinkedHashMap<>();
        flags.put("db.url", url);
        flags.put("server.port", "0");
        flags.put("server.bind", "127.0.0.1");
        flags.put("replication.slot", "serve_test_" + ProcessHandle.current().pid() + "_" + slots.incrementAndGet());
        flags.put("replication.temporary", "true");
        flags.putAll(settings);
        java.nio.file.Path file = null;
        if (yaml != null) {
            file = java.nio.file.Files.createTempFile("tidings-serve", ".yaml");
            java.nio.file.Files.writeString(file, yaml);
            file.toFile().deleteOnExit();
        }
        TidingsServer server = TidingsServer.start(ServeConfigLoader.load(flags, Map.of(), file));
        try {
            Await.until(Duration.ofSeconds(30), "the replication stream to start", server::streaming);
        } catch (AssertionError e) {
            server.close();
            throw e;
        }
        return new ServeHarness(url, server);
    }

    /** The endpoint as realtime-js clients take it: they add {@code /websocket} themselves. */
    String socket() {
        return "ws://127.0.0.1:" + server.port() + "/socket";
    }

    /** The full WebSocket URL, for raw clients. */
    String ws(String query) {
        return socket() + "/websocket" + (query.isEmpty() ? "" : "?" + query);
    }

    String http(String path) {
        return "http://127.0.0.1:" + server.port() + path;
    }

    void sql(String... statements) {
        TestPostgres.execute(jdbcUrl, statements);
    }

    /**
     * Runs {@code statements}, then waits until their changes have passed through the fan-out, so
     * that a client subscribing afterwards sees none of them (a cleanup's deletes would otherwise
     * still be on their way to the next test's subscriber).
     */
    void sqlSettled(String... statements) {
        int n = settles.incrementAndGet();
        AtomicBoolean seen = new AtomicBoolean();
        TableFilter settled = TableFilter.table(new TableName("public", "settled"));
        LiveFanOut.Subscriber marker = (event, bytes) -> {
            if (event.table().equals("settled")) {
                seen.set(true);
            }
        };
        server.fanOut().subscribe(marker, settled);
        try {
            List<String> all = new ArrayList<>(List.of(statements));
            all.add("INSERT INTO settled VALUES (" + n + ")");
            sql(all.toArray(String[]::new));
            Await.until(Duration.ofSeconds(30), "the changes to pass through the fan-out", seen::get);
        } finally {
            server.fanOut().unsubscribe(marker);
        }
    }

    @Override
    public void close() {
        server.close();
    }
}
