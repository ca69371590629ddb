package dev.tidings.bench.e2e;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The PostgreSQL every run measures against: embedded binaries, logical WAL, settings that take the
 * disk out of the picture (fsync, synchronous_commit and full_page_writes off, autovacuum off) —
 * the same for every consumer. One database, one table, one publication.
 */
final class BenchPostgres implements AutoCloseable {
    static final String DATABASE = "bench";
    static final String PUBLICATION = "bench_pub";

    private final EmbeddedPostgres server;

    BenchPostgres() throws IOException, SQLException {
        server = EmbeddedPostgres.builder()
                .setServerConfig("wal_level", "logical")
                .setServerConfig("max_replication_slots", "32")
                .setServerConfig("max_wal_senders", "32")
                .setServerConfig("max_connections", "100")
                .setServerConfig("fsync", "off")
                .setServerConfig("synchronous_commit", "off")
                .setServerConfig("full_page_writes", "off")
                .setServerConfig("autovacuum", "off")
                .setServerConfig("shared_buffers", "256MB")
                .setServerConfig("max_wal_size", "4GB")
                .setServerConfig("wal_sender_timeout", "60s")
                .start();
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + DATABASE);
        }
    }

    int port() {
        return server.getPort();
    }

    String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + port() + "/" + DATABASE + "?user=postgres";
    }

    String libpqConninfo() {
        return "host=localhost port=" + port() + " dbname=" + DATABASE + " user=postgres";
    }

    Connection connect() throws SQLException {
        return connect(DATABASE);
    }

    private Connection connect(String db) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://localhost:" + port() + "/" + db + "?user=postgres");
    }

    String version() throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW server_version")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** A fresh table of the given shape (see {@link Load.Table}) and its publication. */
    void resetTable(Load.Table table) throws SQLException {
        execute("DROP PUBLICATION IF EXISTS " + PUBLICATION, "DROP TABLE IF EXISTS bench");
        execute(table.ddl().toArray(String[]::new));
        execute("CREATE PUBLICATION " + PUBLICATION + " FOR TABLE bench", "CHECKPOINT");
    }

    void createSlots(List<String> slots) throws SQLException {
        for (String slot : slots) {
            execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        }
    }

    /** Ends whatever streams from the bench's slots and drops them. */
    void dropSlots() throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE active_pid IS NOT NULL");
            List<String> slots = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("SELECT slot_name FROM pg_replication_slots")) {
                while (rs.next()) {
                    slots.add(rs.getString(1));
                }
            }
            for (String slot : slots) {
                for (int attempt = 0; ; attempt++) {
                    try {
                        s.execute("SELECT pg_drop_replication_slot('" + slot + "')");
                        break;
                    } catch (SQLException e) {
                        if (attempt > 100) {
                            throw e;
                        }
                        sleep(100); // its walsender is still exiting
                    }
                }
            }
        }
    }

    /** True once a consumer streams from {@code slot}. */
    boolean slotActive(String slot) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT active FROM pg_replication_slots WHERE slot_name = '" + slot + "'")) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    /**
     * The LSN a consumer has to reach to have seen the whole load. With synchronous_commit off,
     * {@code pg_current_wal_lsn()} may lag the insert position and unflushed WAL cannot be decoded,
     * so a small transaction takes an xid and commits with synchronous_commit on — flushing the
     * load's WAL — and the insert position read inside it is reachable.
     */
    String endLsn() throws SQLException {
        try (Connection c = connect()) {
            c.setAutoCommit(false);
            String lsn;
            try (Statement s = c.createStatement()) {
                s.execute("SET LOCAL synchronous_commit = on");
                s.execute("SELECT txid_current()");
                try (ResultSet rs = s.executeQuery("SELECT pg_current_wal_insert_lsn()::text")) {
                    rs.next();
                    lsn = rs.getString(1);
                }
            }
            c.commit();
            return lsn;
        }
    }

    void execute(String... statements) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
