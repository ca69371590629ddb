package dev.tidings.value;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * The {@link TypeRegistry} backed by a database: built-in types from {@link BuiltinTypes} without
 * any query, every other OID looked up once in {@code pg_type} (with {@code pg_attribute} for a
 * composite's attributes, {@code pg_range} for a range's subtype and a multirange's range) and
 * cached until {@link #invalidate(int)}.
 *
 * <p>Thread-safe. Lookups run outside any lock, so two threads asking for the same new OID at once
 * may both query it; the first answer is kept. A failed lookup is not cached. Only an OID that
 * {@code pg_type} does not hold is an {@link UnknownTypeException}; a lookup that could not be
 * made (connection refused, too many clients) is a {@link CatalogLookupException}.
 *
 * <p>Each lookup takes a connection from the supplier and closes it afterwards (lookups are rare:
 * once per user type per process), so hand it something like {@code dataSource::getConnection},
 * not a shared connection. It must be a normal connection, not the replication one.
 */
public final class PgTypeRegistry implements TypeRegistry {

    /** What the registry knows about a looked-up type beyond {@link PgType}. */
    record Entry(PgType type, String jsonCastFunction) {}

    private final Supplier<Connection> connections;
    private final ConcurrentHashMap<Integer, Entry> cache = new ConcurrentHashMap<>();
    private final List<IntConsumer> invalidationListeners = new CopyOnWriteArrayList<>();

    public PgTypeRegistry(Supplier<Connection> connections) {
        this.connections = connections;
    }

    public PgTypeRegistry(String jdbcUrl, Properties properties) {
        this(() -> {
            try {
                return DriverManager.getConnection(jdbcUrl, properties);
            } catch (SQLException e) {
                throw new IllegalStateException("could not connect to " + jdbcUrl + " to look up types: " + e.getMessage(), e);
            }
        });
    }

    @Override
    public PgType type(int oid) throws UnknownTypeException {
        PgType builtin = BuiltinTypes.lookup(oid);
        return builtin != null ? builtin : entry(oid).type();
    }

    /**
     * The name of the function of the type's cast to json or jsonb, which to_jsonb calls for a
     * non-built-in base type that has one (hstore's {@code hstore_to_json}); null if none.
     */
    String jsonCastFunction(int oid) throws UnknownTypeException {
        return BuiltinTypes.lookup(oid) != null ? null : entry(oid).jsonCastFunction();
    }

    @Override
    public void invalidate(int oid) {
        cache.remove(oid);
        for (IntConsumer listener : invalidationListeners) {
            listener.accept(oid);
        }
    }

    @Override
    public void invalidateAll() {
        cache.clear();
        for (IntConsumer listener : invalidationListeners) {
            listener.accept(0);
        }
    }

    /** Called with the OID on every {@link #invalidate}, so caches built on top can forget it too. */
    void addInvalidationListener(IntConsumer listener) {
        invalidationListeners.add(listener);
    }

    private Entry entry(int oid) throws UnknownTypeException {
        Entry cached = cache.get(oid);
        if (cached != null) {
            return cached;
        }
        Entry loaded;
        try (Connection c = connections.get()) {
            loaded = load(c, oid);
        } catch (SQLException | RuntimeException e) {
            // not an answer about the type: never turn it into "unknown", which would change the JSON
            throw new CatalogLookupException("could not look up type OID " + Integer.toUnsignedString(oid)
                    + " in pg_type: " + e.getMessage(), e);
        }
        Entry raced = cache.putIfAbsent(oid, loaded);
        return raced != null ? raced : loaded;
    }

    static Entry load(Connection c, int oid) throws SQLException, UnknownTypeException {
        int major = c.getMetaData().getDatabaseMajorVersion();
        String isArray = major >= 14
                ? "t.typsubscript = 'pg_catalog.array_subscript_handler'::pg_catalog.regproc"
                : "t.typelem <> 0 AND t.typlen = -1";
        String multirangeOf = major >= 14
                ? "(SELECT r.rngtypid FROM pg_catalog.pg_range r WHERE r.rngmultitypid = t.oid)"
                : "NULL::pg_catalog.oid";
        String sql = "SELECT n.nspname, t.typname, t.typtype, t.typcategory, t.typelem, t.typbasetype, t.typdelim, t.typrelid, "
                + isArray + " AS is_array, "
                + "(SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid) AS range_subtype, "
                + multirangeOf + " AS multirange_of, "
                + "(SELECT p.proname FROM pg_catalog.pg_cast k JOIN pg_catalog.pg_proc p ON p.oid = k.castfunc"
                + "  WHERE k.castsource = t.oid AND k.casttarget IN ('pg_catalog.json'::pg_catalog.regtype, 'pg_catalog.jsonb'::pg_catalog.regtype)"
                + "  AND k.castmethod = 'f' ORDER BY k.casttarget LIMIT 1) AS json_cast "
                + "FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = ?::pg_catalog.oid";
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setLong(1, Integer.toUnsignedLong(oid));
            try (ResultSet r = st.executeQuery()) {
                if (!r.next()) {
                    throw new UnknownTypeException("type OID " + Integer.toUnsignedString(oid)
                            + " is not in pg_type; it was probably dropped after the change was written."
                            + " Values of this type cannot be converted");
                }
                String schema = r.getString("nspname");
                String name = r.getString("typname");
                char typtype = r.getString("typtype").charAt(0);
                char category = r.getString("typcategory").charAt(0);
                char delimiter = r.getString("typdelim").charAt(0);
                int element = 0;
                PgType.Kind kind;
                List<PgType.Field> fields = List.of();
                switch (typtype) {
                    case 'b', 'p' -> { // the pseudo-type record has a true array type too
                        boolean array = r.getBoolean("is_array");
                        kind = array ? PgType.Kind.ARRAY : typtype == 'b' ? PgType.Kind.BASE : PgType.Kind.PSEUDO;
                        element = array ? (int) r.getLong("typelem") : 0;
                    }
                    case 'c' -> {
                        kind = PgType.Kind.COMPOSITE;
                        fields = attributes(c, r.getLong("typrelid"));
                    }
                    case 'd' -> {
                        kind = PgType.Kind.DOMAIN;
                        element = (int) r.getLong("typbasetype");
                    }
                    case 'e' -> kind = PgType.Kind.ENUM;
                    case 'r' -> {
                        kind = PgType.Kind.RANGE;
                        element = (int) r.getLong("range_subtype");
                    }
                    case 'm' -> {
                        kind = PgType.Kind.MULTIRANGE;
                        element = (int) r.getLong("multirange_of");
                    }
                    default -> kind = PgType.Kind.PSEUDO; // 'p' and anything newer
                }
                return new Entry(new PgType(oid, schema, name, kind, category, element, delimiter, fields),
                        r.getString("json_cast"));
            }
        }
    }

    private static List<PgType.Field> attributes(Connection c, long relid) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT attname, atttypid FROM pg_catalog.pg_attribute"
                + " WHERE attrelid = ?::pg_catalog.oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum")) {
            st.setLong(1, relid);
            try (ResultSet r = st.executeQuery()) {
                List<PgType.Field> fields = new ArrayList<>();
                while (r.next()) {
                    fields.add(new PgType.Field(r.getString(1), (int) r.getLong(2)));
                }
                return List.copyOf(fields);
            }
        }
    }
}
