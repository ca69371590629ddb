package dev.tidings.backfill;

import dev.tidings.base.TableName;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The durable state of backfills, in the database itself: the UNLOGGED table
 * {@code tidings.backfills}, one row per slot, backfill and table, holding the key of the last row
 * of the last chunk whose rows were delivered and acknowledged, counts, and the state
 * ({@code running}, {@code paused}, {@code done}, {@code cancelled}). A Tidings process killed in
 * the middle, or another one taking the slot over, reads the row and goes on after that key.
 *
 * <p>UNLOGGED: progress writes produce no WAL, so they neither show up in the change stream of a
 * {@code FOR ALL TABLES} publication nor cost replication anything. The price: PostgreSQL empties
 * unlogged tables after its own crash and does not copy them to standbys, so after a database
 * crash or failover unfinished backfills and initial snapshots start again from their first chunk
 * (rows are sent again; nothing is missed). All methods run on the caller's connection, in autocommit.
 */
final class BackfillStore {
    static final String TABLE = "tidings.backfills";

    /** One backfill of one table, as stored. {@code lastKey} is the key's text values, null before the first chunk. */
    record Entry(String slot, String backfill, TableName table, String consumer, String condition, String state,
                 String[] lastKey, long chunks, long rows) {}

    /** Whether the state table exists (it is created by the first backfill or snapshot, never before). */
    static boolean exists(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT to_regclass('" + TABLE + "')")) {
            return rs.next() && rs.getString(1) != null;
        }
    }

    static void prepare(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA IF NOT EXISTS tidings");
            s.execute("CREATE UNLOGGED TABLE IF NOT EXISTS " + TABLE + " (slot text NOT NULL, backfill text NOT NULL, "
                    + "table_schema text NOT NULL, table_name text NOT NULL, consumer text NOT NULL DEFAULT '', "
                    + "condition text, state text NOT NULL, last_key text[], chunks bigint NOT NULL DEFAULT 0, "
                    + "rows bigint NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now(), "
                    + "updated_at timestamptz NOT NULL DEFAULT now(), "
                    + "PRIMARY KEY (slot, backfill, table_schema, table_name))");
        }
    }

    /** The stored entry, or a new running one when there is none. */
    static Entry loadOrCreate(Connection c, String slot, String backfill, TableName table, String consumer,
                              String condition) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + TABLE + " (slot, backfill, table_schema, "
                + "table_name, consumer, condition, state) VALUES (?, ?, ?, ?, ?, ?, 'running') ON CONFLICT DO NOTHING")) {
            ps.setString(1, slot);
            ps.setString(2, backfill);
            ps.setString(3, table.schema());
            ps.setString(4, table.table());
            ps.setString(5, consumer);
            ps.setString(6, condition);
            ps.executeUpdate();
        }
        return load(c, slot, backfill, table);
    }

    static Entry load(Connection c, String slot, String backfill, TableName table) throws SQLException {
        List<Entry> found = query(c, " WHERE slot = ? AND backfill = ? AND table_schema = ? AND table_name = ?",
                slot, backfill, table.schema(), table.table());
        return found.isEmpty() ? null : found.get(0);
    }

    /** Every entry of a slot, oldest first. */
    static List<Entry> all(Connection c, String slot) throws SQLException {
        return query(c, " WHERE slot = ?", slot);
    }

    /** Records a delivered chunk: the key it ended at and its rows. */
    static void chunkDone(Connection c, Entry e, String[] lastKey, long rows, boolean last) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE " + TABLE + " SET last_key = ?, chunks = chunks + 1, "
                + "rows = rows + ?, state = CASE WHEN ? THEN 'done' ELSE state END, updated_at = now() "
                + "WHERE slot = ? AND backfill = ? AND table_schema = ? AND table_name = ?")) {
            ps.setArray(1, lastKey == null ? null : c.createArrayOf("text", lastKey));
            ps.setLong(2, rows);
            ps.setBoolean(3, last);
            bindId(ps, 4, e);
            ps.executeUpdate();
        }
    }

    /** Sets the state of every table of a backfill; returns how many were changed. */
    static int setState(Connection c, String slot, String backfill, String state, String fromStates)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE " + TABLE + " SET state = ?, updated_at = now() "
                + "WHERE slot = ? AND backfill = ? AND state = ANY (string_to_array(?, ','))")) {
            ps.setString(1, state);
            ps.setString(2, slot);
            ps.setString(3, backfill);
            ps.setString(4, fromStates);
            return ps.executeUpdate();
        }
    }

    /** Forgets one backfill of a slot. */
    static void forget(Connection c, String slot, String backfill) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + TABLE + " WHERE slot = ? AND backfill = ?")) {
            ps.setString(1, slot);
            ps.setString(2, backfill);
            ps.executeUpdate();
        }
    }

    /** Forgets every backfill of a slot (a temporary slot has nothing to resume). */
    static void forgetSlot(Connection c, String slot) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + TABLE + " WHERE slot = ?")) {
            ps.setString(1, slot);
            ps.executeUpdate();
        }
    }

    private static void bindId(PreparedStatement ps, int from, Entry e) throws SQLException {
        ps.setString(from, e.slot());
        ps.setString(from + 1, e.backfill());
        ps.setString(from + 2, e.table().schema());
        ps.setString(from + 3, e.table().table());
    }

    private static List<Entry> query(Connection c, String where, String... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT slot, backfill, table_schema, table_name, consumer, "
                + "condition, state, last_key, chunks, rows FROM " + TABLE + where + " ORDER BY created_at, backfill")) {
            for (int i = 0; i < params.length; i++) {
                ps.setString(i + 1, params[i]);
            }
            List<Entry> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Array key = rs.getArray(8);
                    out.add(new Entry(rs.getString(1), rs.getString(2), new TableName(rs.getString(3), rs.getString(4)),
                            rs.getString(5), rs.getString(6), rs.getString(7),
                            key == null ? null : (String[]) key.getArray(), rs.getLong(9), rs.getLong(10)));
                }
            }
            return out;
        }
    }
}
