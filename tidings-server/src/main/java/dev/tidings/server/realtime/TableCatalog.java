package dev.tidings.server.realtime;

import dev.tidings.base.Identifiers;
import dev.tidings.source.DatabaseUrl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The columns of a table and their type names (as {@code Column.type()} shows them), so a join
 * can check its filter — unknown column, a value that is no number for an int8 column — and
 * answer with an error at once rather than silently matching nothing. One catalog query per table
 * per half minute, at join time only, never per change. When the database cannot be asked, joins
 * are not checked (null), not refused.
 */
public final class TableCatalog {
    private static final Logger log = LoggerFactory.getLogger(TableCatalog.class);
    private static final long TTL_NANOS = 30_000_000_000L;

    private record Entry(Map<String, String> columns, long at) {}

    private final DatabaseUrl database;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();
    private Connection connection;

    public TableCatalog(DatabaseUrl database) {
        this.database = database;
    }

    /** Column name → type, in order; empty when the table does not exist; null when unknown. */
    public Map<String, String> columns(String schema, String table) {
        String key = schema + "." + table;
        Entry e = cache.get(key);
        if (e != null && System.nanoTime() - e.at < TTL_NANOS) {
            return e.columns;
        }
        Map<String, String> columns = query(schema, table);
        if (columns != null) {
            cache.put(key, new Entry(columns, System.nanoTime()));
        }
        return columns;
    }

    private synchronized Map<String, String> query(String schema, String table) {
        String sql = "SELECT a.attname, n.nspname, t.typname FROM pg_catalog.pg_attribute a "
                + "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
                + "WHERE a.attrelid = pg_catalog.to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                if (connection == null || connection.isClosed()) {
                    connection = database.connect();
                }
                try (PreparedStatement ps = connection.prepareStatement(sql)) {
                    ps.setString(1, Identifiers.quote(schema) + "." + Identifiers.quote(table));
                    Map<String, String> columns = new LinkedHashMap<>();
                    try (ResultSet r = ps.executeQuery()) {
                        while (r.next()) {
                            String ns = r.getString(2);
                            String type = ns.equals("pg_catalog") || ns.equals("public") ? r.getString(3) : ns + "." + r.getString(3);
                            columns.put(r.getString(1), type);
                        }
                    }
                    return columns;
                }
            } catch (SQLException ex) {
                log.debug("catalog query failed", ex);
                close();
            }
        }
        log.warn("could not read the columns of {}.{}; its filters are not checked at join", schema, table);
        return null;
    }

    public synchronized void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // closing a broken connection
            }
            connection = null;
        }
    }
}
