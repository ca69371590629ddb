package dev.tidings.source;

import dev.tidings.base.Identifiers;
import dev.tidings.base.TableName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The publication that decides which tables' changes pgoutput sends. Created when missing
 * ({@code FOR ALL TABLES}, or for the listed tables) — but only when the caller says it may: a
 * publication that existed before is never recreated, since one created later does not cover the
 * changes written while it was missing. When it exists, it must cover every listed table — Tidings
 * never alters a publication someone else may rely on, it says what to run.
 *
 * <p>{@link #state} reads what the publication publishes, and {@link #changed} compares two such
 * readings: a publication dropped or narrowed while Tidings streams from it would otherwise make
 * changes vanish without a word.
 */
public record Publication(String name, List<TableName> tables) {
    private static final Logger log = LoggerFactory.getLogger(Publication.class);

    public Publication {
        tables = List.copyOf(tables);
    }

    /**
     * What a publication publishes: every table or the listed ones, and which operations.
     * {@code tables} holds the tables published when it was read; empty for every table.
     */
    public record State(boolean allTables, Set<TableName> tables, boolean inserts, boolean updates, boolean deletes,
                        boolean truncates) {}

    /** Validates or creates the publication; {@code mayCreate} false makes a missing one an error. */
    public void ensure(Connection c, boolean mayCreate, String slot) throws SQLException {
        if (!mayCreate && state(c) == null) {
            throw missing(slot);
        }
        ensure(c);
    }

    /** The error for a publication that is missing although it existed (or the slot that needs it does). */
    SourceException missing(String slot) {
        String create = createSql();
        return new SourceException("publication " + Identifiers.quote(name) + " does not exist, but replication slot "
                + slot + " streamed with it: it was dropped. Tidings does not recreate it, since changes written while"
                + " it was missing cannot be streamed with a new one. To go on from now: " + create
                + "; SELECT pg_drop_replication_slot('" + slot + "'); then start Tidings again and re-snapshot the"
                + " consumers");
    }

    /** What the publication publishes now; null when it does not exist. */
    public State state(Connection c) throws SQLException {
        boolean truncateColumn = c.getMetaData().getDatabaseMajorVersion() >= 11;
        Boolean all = null;
        boolean[] ops = new boolean[4];
        try (PreparedStatement ps = c.prepareStatement("SELECT puballtables, pubinsert, pubupdate, pubdelete, "
                + (truncateColumn ? "pubtruncate" : "false") + " FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                all = rs.getBoolean(1);
                for (int i = 0; i < 4; i++) {
                    ops[i] = rs.getBoolean(i + 2);
                }
            }
        }
        return new State(all, all ? Set.of() : publishedTables(c), ops[0], ops[1], ops[2], ops[3]);
    }

    /**
     * What was lost between two readings of the publication, as a sentence for the operator, or
     * null when nothing was: it was dropped, stopped publishing an operation, or stopped publishing
     * a table that still exists. Tables added, and tables dropped with DROP TABLE, are no loss.
     */
    public String changed(State before, State now, Connection c) throws SQLException {
        String pub = Identifiers.quote(name);
        String restart = " Start Tidings again to stream with the publication as it is now";
        if (now == null) {
            return "publication " + pub + " was dropped while Tidings was streaming with it. Changes written since"
                    + " then cannot be streamed: Tidings does not recreate it. To go on from now, create it again ("
                    + createSql() + "), drop the replication slot, start Tidings again and re-snapshot the consumers";
        }
        List<String> ops = new ArrayList<>();
        if (before.inserts() && !now.inserts()) {
            ops.add("insert");
        }
        if (before.updates() && !now.updates()) {
            ops.add("update");
        }
        if (before.deletes() && !now.deletes()) {
            ops.add("delete");
        }
        if (before.truncates() && !now.truncates()) {
            ops.add("truncate");
        }
        if (!ops.isEmpty()) {
            return "publication " + pub + " was altered while Tidings was streaming with it: it no longer publishes "
                    + String.join(", ", ops) + ", so those changes were not streamed since. Undo it with ALTER"
                    + " PUBLICATION " + pub + " SET (publish = 'insert, update, delete, truncate'), or accept it." + restart;
        }
        if (before.allTables() && !now.allTables()) {
            return "publication " + pub + " was altered while Tidings was streaming with it: it no longer publishes"
                    + " all tables, so changes of the others were not streamed since." + restart;
        }
        List<TableName> removed = new ArrayList<>();
        for (TableName t : before.tables()) {
            if (!now.tables().contains(t) && exists(c, t)) {
                removed.add(t);
            }
        }
        if (!removed.isEmpty()) {
            return "publication " + pub + " was altered while Tidings was streaming with it: it no longer publishes "
                    + join(removed) + ", whose changes were not streamed since. Undo it with ALTER PUBLICATION " + pub
                    + " ADD TABLE " + joinQuoted(removed) + ", or accept it." + restart;
        }
        return null;
    }

    private static boolean exists(Connection c, TableName t) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
            ps.setString(1, t.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private Set<TableName> publishedTables(Connection c) throws SQLException {
        Set<TableName> published = new LinkedHashSet<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    published.add(new TableName(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return published;
    }

    private String createSql() {
        return "CREATE PUBLICATION " + Identifiers.quote(name)
                + (tables.isEmpty() ? " FOR ALL TABLES" : " FOR TABLE " + joinQuoted(tables));
    }

    public void ensure(Connection c) throws SQLException {
        Boolean allTables = null;
        try (PreparedStatement ps = c.prepareStatement("SELECT puballtables FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    allTables = rs.getBoolean(1);
                }
            }
        }
        if (allTables == null) {
            if (create(c)) {
                return;
            }
            ensure(c); // another process created it meanwhile: validate theirs
            return;
        }
        if (allTables || tables.isEmpty()) {
            return;
        }
        Set<TableName> published = publishedTables(c);
        List<TableName> missing = new ArrayList<>();
        for (TableName t : tables) {
            if (!published.contains(t)) {
                missing.add(t);
            }
        }
        if (!missing.isEmpty()) {
            throw new SourceException("publication " + Identifiers.quote(name) + " does not publish " + join(missing)
                    + "; run: ALTER PUBLICATION " + Identifiers.quote(name) + " ADD TABLE " + joinQuoted(missing)
                    + "; (or name another publication with --publication)");
        }
    }

    /** Creates the publication; false when it appeared meanwhile (created by another process). */
    private boolean create(Connection c) throws SQLException {
        String sql = createSql();
        try (Statement s = c.createStatement()) {
            s.execute(sql);
            log.info("created publication {}: {}", name, sql);
            return true;
        } catch (SQLException e) {
            String state = e.getSQLState();
            if ("42710".equals(state)) {
                return false;
            }
            if ("42501".equals(state)) {
                throw new SourceException("not allowed to create publication " + Identifiers.quote(name) + ": "
                        + e.getMessage() + ". Ask a superuser to run: " + sql + ";", e);
            }
            if ("42P01".equals(state)) {
                throw new SourceException("cannot publish " + joinQuoted(tables) + ": " + e.getMessage()
                        + ". Check the table names given with --tables (schema.table, quoted if they have capitals)", e);
            }
            throw e;
        }
    }

    private static String join(List<TableName> names) {
        return String.join(", ", names.stream().map(TableName::toString).toList());
    }

    private static String joinQuoted(List<TableName> names) {
        return String.join(", ", names.stream().map(TableName::quoted).toList());
    }
}
