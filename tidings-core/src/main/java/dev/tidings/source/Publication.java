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
 * ({@code FOR ALL TABLES}, or for the listed tables); when it exists, it must cover every listed
 * table — Tidings never alters a publication someone else may rely on, it says what to run.
 */
public record Publication(String name, List<TableName> tables) {
    private static final Logger log = LoggerFactory.getLogger(Publication.class);

    public Publication {
        tables = List.copyOf(tables);
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
        String sql = "CREATE PUBLICATION " + Identifiers.quote(name)
                + (tables.isEmpty() ? " FOR ALL TABLES" : " FOR TABLE " + joinQuoted(tables));
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
