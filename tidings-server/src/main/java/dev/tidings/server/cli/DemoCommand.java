package dev.tidings.server.cli;

import dev.tidings.Tidings;
import dev.tidings.event.EventFormat;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.Callable;

/**
 * {@code tidings demo}: the first five minutes. Starts a throw-away PostgreSQL with logical
 * replication on (or uses {@code --db}), creates the schema of a small Reddit-like application,
 * keeps writing activity to it, and tails the resulting events to stdout. Ctrl-C stops it all and
 * removes the embedded database.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start an embedded PostgreSQL with a sample app writing to it, and print its change events.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--db", paramLabel = "URL", description = "Use this database instead of an embedded one")
    String db;

    @Option(names = "--rate", defaultValue = "5", description = "Application writes per second (default: ${DEFAULT-VALUE})")
    double rate;

    @Option(names = "--format", defaultValue = "tidings", description = "Event format (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--duration", paramLabel = "SECONDS", description = "Stop by itself after this many seconds")
    Long duration;

    @Override
    public Integer call() throws Exception {
        EventFormat eventFormat = EventFormat.named(format);
        EmbeddedPostgres embedded = null;
        String url = db;
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
        SampleApp app = new SampleApp(database);
        app.createSchema();
        System.err.println("""
                tidings demo: the sample app (users, posts, comments, votes) writes %s changes/s to
                  %s
                Change it yourself too, e.g.:  psql -h %s -p %d -U %s %s -c "UPDATE demo.posts SET title = 'hi' WHERE id = 1"
                Events follow on stdout, one JSON line each. Ctrl-C stops.
                """.formatted(rate, database, database.host(), database.port(), database.user(), database.database()));
        OutputStream stdout = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
        SourceConfig config = SourceConfig.of(database).withSlot("tidings_demo", true)
                .withPublication("tidings_demo", SampleApp.TABLES);
        Tidings tidings = Tidings.start(config, new TailCommand.JsonLines(stdout, eventFormat));
        Thread writer = Thread.ofPlatform().name("demo-app").daemon(true).start(() -> app.run(rate));
        EmbeddedPostgres toClose = embedded;
        Runnable shutdown = () -> {
            app.stop();
            tidings.stop();
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
                if (tidings.await(duration * 1000)) {
                    tidings.await();
                }
            } else {
                tidings.await();
            }
        } finally {
            Runtime.getRuntime().removeShutdownHook(hook);
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
