package dev.tidings.server.realtime;

import dev.tidings.base.Identifiers;
import dev.tidings.server.live.ColumnType;
import dev.tidings.server.live.DatabaseConditions;
import dev.tidings.source.DatabaseUrl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The columns of a table and their types ({@link ColumnType}: name, collation, enum labels), so a
 * join can check its filter — unknown column, a value that is no number for an int8 column — and
 * answer with an error at once rather than silently matching nothing, and so the filter compares
 * as PostgreSQL does. One catalog query per table per half minute, at join time only, never per
 * change. When the database cannot be asked, joins are not checked (null), not refused. Also
 * holds the {@link DatabaseConditions} that filters ask what Java cannot decide.
 */
public final class TableCatalog {
    private static final Logger log = LoggerFactory.getLogger(TableCatalog.class);
    private static final long TTL_NANOS = 30_000_000_000L;

    private record Entry(Map<String, ColumnType> columns, long at) {}

    private final DatabaseUrl database;
    private final DatabaseConditions conditions;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();
    private Connection connection;
    /** Whether the database's default collation sorts by code point; read with the first table. */
    private Boolean defaultCodePoint;

    public TableCatalog(DatabaseUrl database) {
        this.database = database;
        this.conditions = new DatabaseConditions(database);
    }

    /** The database this catalog reads. */
    DatabaseUrl database() {
        return database;
    }

    public DatabaseConditions conditions() {
        return conditions;
    }

    /** Column name → type, in order; empty when the table does not exist; null when unknown. */
    public Map<String, ColumnType> columns(String schema, String table) {
        String key = schema + "." + table;
        Entry e = cache.get(key);
        if (e != null && System.nanoTime() - e.at < TTL_NANOS) {
            return e.columns;
        }
        Map<String, ColumnType> columns = query(schema, table);
        if (columns != null) {
            cache.put(key, new Entry(columns, System.nanoTime()));
        }
        return columns;
    }

    private synchronized Map<String, ColumnType> query(String schema, String table) {
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                if (connection == null || connection.isClosed()) {
                    connection = database.connect();
                }
                if (defaultCodePoint == null) {
                    defaultCodePoint = defaultCodePoint();
                }
                try (PreparedStatement ps = connection.prepareStatement(COLUMNS)) {
                    ps.setString(1, Identifiers.quote(schema) + "." + Identifiers.quote(table));
                    Map<String, ColumnType> columns = new LinkedHashMap<>();
                    try (ResultSet r = ps.executeQuery()) {
                        while (r.next()) {
                            columns.put(r.getString(1), columnType(r));
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

    private static final String COLUMNS = """
            SELECT a.attname, n.nspname, t.typname, pg_catalog.format_type(a.atttypid, -1), t.typcategory = 'A',
                   CASE WHEN t.typtype = 'e' THEN (SELECT pg_catalog.array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
                        FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) END,
                   a.attcollation,
                   pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname),
                   co.collprovider = 'b' OR (co.collprovider = 'c' AND co.collcollate IN ('C', 'POSIX'))
                       OR co.collname IN ('C', 'POSIX', 'ucs_basic'),
                   COALESCE((pg_catalog.to_jsonb(co) ->> 'collisdeterministic')::boolean, true)
            FROM pg_catalog.pg_attribute a
            JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
            JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
            LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
            LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
            WHERE a.attrelid = pg_catalog.to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""";

    private ColumnType columnType(ResultSet r) throws SQLException {
        String ns = r.getString(2);
        String name = ns.equals("pg_catalog") || ns.equals("public") ? r.getString(3) : ns + "." + r.getString(3);
        java.sql.Array labels = r.getArray(6);
        List<String> enumLabels = labels == null ? null : Arrays.asList((String[]) labels.getArray());
        long collation = r.getLong(7);
        if (collation == 0 || collation == DEFAULT_COLLATION) {
            return new ColumnType(name, r.getString(4), null, collation == 0 || defaultCodePoint, true, enumLabels,
                    r.getBoolean(5));
        }
        return new ColumnType(name, r.getString(4), r.getString(8), r.getBoolean(9), r.getBoolean(10), enumLabels,
                r.getBoolean(5));
    }

    private static final long DEFAULT_COLLATION = 100;

    /** True when the database's default collation is C, POSIX or of the builtin provider (code point order). */
    private boolean defaultCodePoint() throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT d.datcollate, pg_catalog.to_jsonb(d) ->> 'datlocprovider'"
                + " FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()");
             ResultSet r = ps.executeQuery()) {
            r.next();
            String provider = r.getString(2);
            return "b".equals(provider)
                    || ((provider == null || provider.equals("c")) && List.of("C", "POSIX").contains(r.getString(1)));
        }
    }

    public synchronized void close() {
        conditions.close();
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
