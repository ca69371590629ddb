package dev.tidings.source;

import dev.tidings.base.Identifiers;
import dev.tidings.base.Lsn;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * A logical replication slot using pgoutput: where PostgreSQL remembers how far Tidings has
 * confirmed, and the WAL it keeps until then. A missing persistent slot is created at start;
 * an existing one must be a logical pgoutput slot of this database and still valid. A slot that
 * was invalidated (its WAL removed) is reported, never dropped and recreated: that would skip
 * every change in between without anyone noticing.
 */
public record ReplicationSlot(String name, boolean temporary) {
    private static final Logger log = LoggerFactory.getLogger(ReplicationSlot.class);

    public ReplicationSlot {
        if (!name.matches("[a-z0-9_]{1,63}")) {
            throw new IllegalArgumentException("invalid slot name '" + name
                    + "': PostgreSQL allows only lower-case letters, digits and underscores, at most 63 of them");
        }
    }

    /** What the catalog says about an existing slot. */
    record State(String plugin, String database, String type, Integer activePid, String walStatus, Lsn confirmedFlush,
                 Boolean failover) {}

    /**
     * Validates an existing persistent slot or creates it, given its {@link #state} just read ({@code null}:
     * missing), as a failover slot when {@code failover} (PostgreSQL 17+); returns true when it was created.
     */
    boolean ensure(Connection c, State state, boolean failover) throws SQLException {
        int major = c.getMetaData().getDatabaseMajorVersion();
        if (failover && major < 17) {
            throw new SourceException("replication.failover needs PostgreSQL 17 or later (failover slots); this server is "
                    + major + ". Remove replication.failover: on this version a promoted standby has no copy of slot "
                    + name + ", and consumers must re-snapshot after a primary failover");
        }
        if (state == null) {
            create(c, failover);
            return true;
        }
        validate(c, state);
        if (failover && !Boolean.TRUE.equals(state.failover())) {
            log.warn("replication slot {} exists without failover, so a promoted physical standby would not have it. "
                    + "Set it on a replication connection: psql \"dbname=... replication=database\" -c "
                    + "'ALTER_REPLICATION_SLOT {} (FAILOVER true)' (PostgreSQL 17+)", name, name);
        }
        return false;
    }

    State state(Connection c) throws SQLException {
        int major = c.getMetaData().getDatabaseMajorVersion();
        String sql = "SELECT plugin, database, slot_type, active_pid, " + (major >= 13 ? "wal_status" : "NULL")
                + ", confirmed_flush_lsn::text, " + (major >= 17 ? "failover" : "NULL::boolean")
                + " FROM pg_replication_slots WHERE slot_name = ?";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                int pid = rs.getInt(4);
                String confirmed = rs.getString(6);
                Boolean failover = (Boolean) rs.getObject(7);
                return new State(rs.getString(1), rs.getString(2), rs.getString(3), rs.getObject(4) == null ? null : pid,
                        rs.getString(5), confirmed == null ? null : Lsn.parse(confirmed), failover);
            }
        }
    }

    private void validate(Connection c, State s) throws SQLException {
        if (!"logical".equals(s.type())) {
            throw new SourceException("replication slot " + name + " is a " + s.type()
                    + " slot; Tidings needs a logical one. Choose another name with --slot");
        }
        if (!"pgoutput".equals(s.plugin())) {
            throw new SourceException("replication slot " + name + " uses the output plugin " + s.plugin()
                    + ", Tidings needs pgoutput. Choose another name with --slot, or drop it if nobody uses it: "
                    + "SELECT pg_drop_replication_slot('" + name + "');");
        }
        String db = c.getCatalog();
        if (s.database() != null && !s.database().equals(db)) {
            throw new SourceException("replication slot " + name + " belongs to database " + s.database()
                    + ", not " + db + ". Choose another name with --slot");
        }
        if ("lost".equals(s.walStatus()) || s.confirmedFlush() == null) {
            throw invalidated();
        }
    }

    SourceException invalidated() {
        return new SourceException("replication slot " + name + " was invalidated: PostgreSQL removed WAL it still "
                + "needed (max_slot_wal_keep_size or a standby conflict), so changes were lost and cannot be "
                + "streamed. Tidings will not recreate it silently. To recover: drop it with "
                + "SELECT pg_drop_replication_slot('" + name + "'); then start Tidings again, which creates a new "
                + "slot from now, and re-snapshot the consumers (copy the current table contents).");
    }

    private void create(Connection c, boolean failover) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(failover
                ? "SELECT lsn::text FROM pg_create_logical_replication_slot(?, 'pgoutput', false, false, true)"
                : "SELECT lsn::text FROM pg_create_logical_replication_slot(?, 'pgoutput')")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                log.warn("created replication slot {} at {}: changes committed before this point are not streamed. If "
                        + "this slot existed before (dropped, lost in a major upgrade or a failover), consumers must "
                        + "re-snapshot", name, rs.getString(1));
            }
        } catch (SQLException e) {
            if ("53400".equals(e.getSQLState())) {
                throw new SourceException("cannot create replication slot " + name + ": all replication slots are in "
                        + "use (max_replication_slots). Drop an unused one (SELECT slot_name, active FROM "
                        + "pg_replication_slots;) or raise the limit: ALTER SYSTEM SET max_replication_slots = 20; "
                        + "then restart PostgreSQL", e);
            }
            if ("42501".equals(e.getSQLState())) {
                throw new SourceException("not allowed to create replication slot " + name + ": " + e.getMessage()
                        + ". Grant it with: ALTER ROLE " + Identifiers.quote(c.getMetaData().getUserName())
                        + " WITH REPLICATION;", e);
            }
            if ("55000".equals(e.getSQLState())) {
                throw new SourceException("cannot create replication slot " + name + ": " + e.getMessage()
                        + ". Run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL", e);
            }
            throw e;
        }
    }
}
