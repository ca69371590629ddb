package dev.tidings.backfill;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.LogicalMessage;
import dev.tidings.event.Op;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * Writes the low and high watermarks of a chunk into the WAL, each in a transaction of its own,
 * and recognises them when they come back in the stream.
 *
 * <p>On PostgreSQL 14 and later a watermark is a transactional logical decoding message (prefix
 * {@value #PREFIX}), which pgoutput delivers in commit order once {@code messages} is on. Before
 * 14 pgoutput has no messages: the watermark is an upsert of the slot's row in the logged table
 * {@code tidings.backfill_watermarks}, which the publication must include. The mark text is
 * {@code <run>:<chunk sequence>:low|high}: {@code run} is random per engine, so marks of an
 * earlier process, seen again after a restart, never match a chunk of this one.
 */
final class Watermarks {
    static final String PREFIX = "tidings.backfill";
    static final String SCHEMA = "tidings";
    static final String TABLE = "backfill_watermarks";

    private final boolean messages;
    private final String slot;

    Watermarks(boolean messages, String slot) {
        this.messages = messages;
        this.slot = slot;
    }

    /** Whether watermarks are logical messages (PostgreSQL 14+) rather than rows of the watermark table. */
    static boolean messagesSupported(int majorVersion) {
        return majorVersion >= 14;
    }

    /** Creates what the watermarks need (the table, before PostgreSQL 14). The connection is in autocommit. */
    void prepare(Connection c) throws SQLException {
        if (!messages) {
            try (var s = c.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS " + SCHEMA + "." + TABLE
                        + " (slot text PRIMARY KEY, mark text NOT NULL)");
            }
        }
    }

    /** Writes {@code mark} in a transaction of its own (the connection is in autocommit). */
    void write(Connection c, String mark) throws SQLException {
        String sql = messages ? "SELECT pg_logical_emit_message(true, '" + PREFIX + "', ?)"
                : "INSERT INTO " + SCHEMA + "." + TABLE + " (mark, slot) VALUES (?, ?) "
                + "ON CONFLICT (slot) DO UPDATE SET mark = EXCLUDED.mark";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, mark);
            if (!messages) {
                ps.setString(2, slot);
            }
            ps.execute();
        }
    }

    /** True for an event of Tidings' own watermark table (whatever this engine's mode). */
    static boolean isWatermarkTable(ChangeEvent e) {
        return e.op() != Op.MESSAGE && SCHEMA.equals(e.schema()) && TABLE.equals(e.table());
    }

    /** The mark an event carries, or null when it is not a watermark. */
    static String mark(ChangeEvent e) {
        if (e.op() == Op.MESSAGE) {
            LogicalMessage m = e.message();
            return m != null && m.transactional() && PREFIX.equals(m.prefix())
                    ? new String(m.content(), StandardCharsets.UTF_8) : null;
        }
        if (isWatermarkTable(e) && e.record() != null) {
            String json = e.record().json("mark");
            return json == null || json.length() < 2 ? null : json.substring(1, json.length() - 1);
        }
        return null;
    }
}
