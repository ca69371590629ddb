package dev.tidings.server.cli;

import dev.tidings.Tidings;
import dev.tidings.event.EventFormat;
import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.server.http.TidingsServer;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code tidings demo}: the first five minutes. Starts a throw-away PostgreSQL with logical
 * replication on (or uses {@code --db}), creates the tables of a small Reddit-like application
 * (in {@code public} of the throw-away database, so the Realtime walkthrough's
 * {@code realtime:public} channel sees them; in a schema {@code demo} of a database of yours),
 * keeps writing activity to it, serves it all with {@code tidings serve} on port 4000 (console,
 * Realtime WebSocket, SSE), and tails the events to stdout too. Ctrl-C stops it all and removes the
 * embedded database.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start an embedded PostgreSQL with a sample app writing to it, and print its change events.")
final class DemoCommand implements Callable<Integer> {
    /** Without {@code --db}, an embedded PostgreSQL ({@code $DATABASE_URL} is not looked at). */
    @Mixin
    DatabaseOption db;

    @Option(names = "--rate", defaultValue = "5", description = "Application writes per second (default: ${DEFAULT-VALUE})")
    double rate;

    @Option(names = "--format", defaultValue = "tidings", description = "Event format (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--duration", paramLabel = "SECONDS", description = "Stop by itself after this many seconds")
    Long duration;

    @Mixin
    PortOption portOption;

    @Option(names = "--quiet", description = "Do not print events on stdout (the console and clients still get them)")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        EventFormat eventFormat = EventFormat.named(format);
        int port = portOption.orDefault();
        Preflight.port("0.0.0.0", port);
        EmbeddedPostgres embedded = null;
        String url = db.url;
        if (url == null) {
            System.err.println("tidings demo: starting an embedded PostgreSQL with wal_level=logical …");
            embedded = EmbeddedPostgres.builder()
                    .setServerConfig("wal_level", "logical")
                    .setServerConfig("max_replication_slots", "10")
                    .setServerConfig("max_wal_senders", "10")
                    .start();
            url = "postgresql://postgres@localhost:" + embedded.getPort() + "/postgres";
        }
        DatabaseUrl database = DatabaseUrl.parse(url);
        // the embedded database is the demo's own: the app goes to public, as in the Realtime walkthrough
        SampleApp app = new SampleApp(database, embedded == null ? "demo" : "public");
        TidingsServer server;
        try {
            if (embedded == null) {
                Preflight.database(database);
            }
            app.createSchema();
            String tables = String.join(",", app.tables().stream().map(t -> t.schema() + "." + t.table()).toList());
            server = ServeCommand.start(ServeConfigLoader.load(Map.of("db.url", url, "server.port", String.valueOf(port),
                    "replication.publication", "tidings_demo", "replication.tables", tables), Map.of(), null));
        } catch (Exception | Error e) {
            if (embedded != null) {
                embedded.close();
            }
            throw e;
        }
        System.err.println("""

                tidings demo is running.
                  console        http://localhost:%1$d/
                  SSE (curl)     curl -N 'http://localhost:%1$d/events?tables=%8$s.posts'
                  Realtime       ws://localhost:%1$d/socket/websocket — the realtime-js 0.x walkthrough works as written:
                                   const { Socket } = require("@supabase/realtime-js");
                                   const socket = new Socket("http://localhost:%1$d/socket"); socket.connect();
                                   const ch = socket.channel("realtime:%8$s"); ch.join();
                                   ch.on("*", (change) => console.log("DATA UPDATE", change.record));
                  the database   psql -h %2$s -p %3$d -U %4$s %5$s
                                   e.g. UPDATE %8$s.posts SET title = 'hello' WHERE id = 1;
                The sample app (users, posts, comments, votes in schema %8$s) writes %6$s changes/s.%7$s Ctrl-C stops.
                """.formatted(server.port(), database.host(), database.port(), database.user(), database.database(), rate,
                quiet ? "" : " Events also follow on stdout, one JSON line each.", app.schema()));
        OutputStream stdout = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
        SourceConfig config = SourceConfig.of(database).withSlot("tidings_demo_tail", true)
                .withPublication("tidings_demo", app.tables());
        Tidings tidings = quiet ? null : Tidings.start(config, new TailCommand.JsonLines(stdout, eventFormat));
        Thread writer = Thread.ofPlatform().name("demo-app").daemon(true).start(() -> app.run(rate));
        EmbeddedPostgres toClose = embedded;
        Runnable shutdown = () -> {
            app.stop();
            if (tidings != null) {
                tidings.stop();
            }
            server.close();
            if (toClose != null) {
                try {
                    toClose.close();
                } catch (Exception e) {
                    System.err.println("tidings demo: could not stop the embedded PostgreSQL: " + e.getMessage());
                }
            }
        };
        Thread hook = new Thread(shutdown, "tidings-demo-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            if (duration != null) {
                Thread.sleep(duration * 1000);
            } else {
                server.await();
            }
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                return 0; // Ctrl-C or SIGTERM: the hook stops everything
            }
            shutdown.run();
            writer.join(2000);
            stdout.flush();
        }
        return 0;
    }

    static Connection connect(DatabaseUrl database) throws SQLException {
        return DriverManager.getConnection(database.jdbcUrl(), database.properties());
    }

    static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
