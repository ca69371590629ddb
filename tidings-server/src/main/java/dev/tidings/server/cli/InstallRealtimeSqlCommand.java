package dev.tidings.server.cli;

import dev.tidings.server.broadcast.DatabaseBroadcasts;
import dev.tidings.source.DatabaseUrl;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.Callable;

/**
 * {@code tidings install-realtime-sql}: installs Broadcast from the database (opt-in) — the
 * {@code realtime.messages} table and {@code realtime.send}, {@code realtime.broadcast_changes},
 * {@code realtime.topic} — in one transaction, and adds the table to the publication when that
 * publication lists its tables. Row level security is enabled on the table: its policies authorize
 * private channels ({@link dev.tidings.server.auth.ChannelAuthorization}). Idempotent.
 */
@Command(name = "install-realtime-sql", mixinStandardHelpOptions = true,
        description = {
                "Creates realtime.messages and the functions realtime.send(payload, event, topic, private) and",
                "realtime.broadcast_changes(...) (Supabase's signatures). Rows inserted into realtime.messages",
                "reach the channels of their topic as broadcasts, through the replication stream `tidings serve`",
                "reads. Enables row level security on realtime.messages: its policies authorize private channels",
                "(SELECT to join, INSERT to send), as in Supabase. Adds the table to the publication unless it is",
                "FOR ALL TABLES. Safe to run again."})
public final class InstallRealtimeSqlCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOption database;

    @Option(names = "--publication", paramLabel = "NAME", defaultValue = "supabase_realtime",
            description = "the publication `tidings serve` reads (default: ${DEFAULT-VALUE})")
    String publication;

    @Option(names = "--print", description = "print the SQL instead of running it (to apply it with your own migrations)")
    boolean print;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String sql = sql();
        if (print) {
            out.print(sql);
            out.flush();
            return 0;
        }
        String db = database.orEnvironment();
        DatabaseUrl url;
        try {
            url = DatabaseUrl.parse(db);
        } catch (IllegalArgumentException e) {
            err.println("tidings install-realtime-sql: " + e.getMessage() + (db == null ? " (--db or DATABASE_URL)" : ""));
            return 2;
        }
        try (Connection c = url.connect()) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute(sql);
            }
            String added = addToPublication(c);
            c.commit();
            out.println("installed realtime.messages, realtime.send, realtime.broadcast_changes and realtime.topic in "
                    + url.database() + "; " + added);
            out.flush();
            return 0;
        } catch (SQLException e) {
            err.println("tidings install-realtime-sql: " + e.getMessage().lines().findFirst().orElse("")
                    + " (the role needs CREATE on the database; run it as the database owner)");
            return 2;
        }
    }

    /** Adds realtime.messages to the publication when it exists and lists its tables. */
    private String addToPublication(Connection c) throws SQLException {
        try (PreparedStatement p = c.prepareStatement(
                "SELECT puballtables, EXISTS (SELECT 1 FROM pg_publication_tables t WHERE t.pubname = p.pubname "
                        + "AND t.schemaname = ? AND t.tablename = ?) FROM pg_publication p WHERE pubname = ?")) {
            p.setString(1, DatabaseBroadcasts.SCHEMA);
            p.setString(2, DatabaseBroadcasts.TABLE);
            p.setString(3, publication);
            try (ResultSet r = p.executeQuery()) {
                if (!r.next()) {
                    return "publication " + publication + " does not exist yet (tidings serve creates it FOR ALL TABLES)";
                }
                if (r.getBoolean(1) || r.getBoolean(2)) {
                    return "publication " + publication + " already publishes realtime.messages";
                }
            }
        }
        try (Statement s = c.createStatement()) {
            s.execute("ALTER PUBLICATION \"" + publication.replace("\"", "\"\"") + "\" ADD TABLE realtime.messages");
        }
        return "added realtime.messages to publication " + publication;
    }

    static String sql() throws IOException {
        try (InputStream in = DatabaseBroadcasts.class.getResourceAsStream("realtime.sql")) {
            if (in == null) {
                throw new IOException("realtime.sql is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
