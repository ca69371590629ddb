package dev.tidings.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.Tidings;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * The test harness: one call gives a fresh database and a {@link Tidings} streaming it into an
 * {@link EventCollector}.
 */
public final class Streams implements AutoCloseable {
    public final String jdbcUrl;
    public final DatabaseUrl database;
    public final EventCollector collector = new EventCollector();
    /** The slot this harness streams from: named after its database, as slots are cluster-wide. */
    public final String slot;
    private Tidings tidings;

    private Streams(String jdbcUrl) {
        this.jdbcUrl = jdbcUrl;
        this.database = DatabaseUrl.parse(jdbcUrl);
        this.slot = database.database();
    }

    /** A fresh database; run setup SQL with {@link #sql} before {@link #start}. */
    public static Streams newDatabase() {
        return new Streams(TestPostgres.newDatabase());
    }

    public SourceConfig config() {
        return SourceConfig.of(database).withSlot(slot, false).withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(1));
    }

    public Streams start() {
        return start(config());
    }

    /** Starts streaming and waits until the stream is open. */
    public Streams start(SourceConfig config) {
        tidings = Tidings.start(config, collector);
        Await.until(Duration.ofSeconds(30), "the stream to start", () -> tidings.streaming() || tidings.failure() != null);
        if (tidings.failure() != null) {
            throw new AssertionError("stream failed to start", tidings.failure());
        }
        return this;
    }

    public Tidings tidings() {
        return tidings;
    }

    public void stop() {
        if (tidings != null) {
            tidings.stop();
        }
    }

    /** Runs statements in one connection with autocommit: each statement is its own transaction. */
    public void sql(String... statements) {
        TestPostgres.execute(jdbcUrl, statements);
    }

    /** Runs statements in one transaction. */
    public void transaction(String... statements) {
        try (Connection c = TestPostgres.connect(jdbcUrl); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            for (String sql : statements) {
                s.execute(sql);
            }
            c.commit();
        } catch (SQLException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** {@code to_jsonb} of the rows of a query, in a session with Tidings' pinned settings: the oracle. */
    public JsonNode toJsonb(String query) {
        try (Connection c = database.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]')::text FROM (" + query + ") q")) {
            rs.next();
            return Json.parse(rs.getString(1));
        } catch (SQLException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** A single-value query's result as text. */
    public String queryValue(String query) {
        try (Connection c = database.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            return rs.next() ? rs.getString(1) : null;
        } catch (SQLException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** The slot's confirmed_flush_lsn. */
    public dev.tidings.base.Lsn confirmedFlush() {
        return dev.tidings.base.Lsn.parse(queryValue(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '" + slot + "'"));
    }

    /** The PID streaming from the slot, or null. */
    public String activePid() {
        return queryValue("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" + slot + "'");
    }

    /** Stops streaming and drops the slot, so it retains no WAL for the other tests. */
    @Override
    public void close() {
        stop();
        try {
            Await.until(Duration.ofSeconds(10), "the slot to be released", () -> activePid() == null);
        } catch (AssertionError stillActive) {
            // the drop below skips an active slot; the database goes with the test anyway
        }
        sql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + slot
                + "' AND NOT active");
    }
}
