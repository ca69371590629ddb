package dev.tidings.backfill;

import dev.tidings.event.Column;
import dev.tidings.event.ColumnList;
import dev.tidings.base.Identifiers;
import dev.tidings.base.TableName;
import dev.tidings.source.SourceException;
import dev.tidings.value.TypeRegistry;
import dev.tidings.value.UnknownTypeException;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * A table as a backfill reads it: its published columns (as the stream's Relation message lists
 * them: no dropped or generated columns) and the key it is read in order of — the primary key, or
 * else a unique index over NOT NULL columns without expressions or predicate (the replica identity
 * index first, then the narrowest). A table with neither is refused: without a total order by a
 * key, a chunk cannot be told apart from the next and a changed row cannot be matched.
 */
record BackfillTable(TableName name, ColumnList columns, String[] castTypes, int[] keyIndexes) {

    static BackfillTable resolve(Connection c, TableName name, TypeRegistry types) throws SQLException {
        String regclass = name.quoted();
        List<Column> columns = new ArrayList<>();
        List<String> casts = new ArrayList<>();
        Map<Integer, Integer> byAttnum = new HashMap<>();
        List<Boolean> notNull = new ArrayList<>();
        List<Integer> oids = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT a.attnum, a.attname, a.atttypid, "
                + "format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a "
                + "WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped "
                + "AND COALESCE(to_jsonb(a)->>'attgenerated', '') = '' ORDER BY a.attnum")) {
            ps.setString(1, regclass);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    byAttnum.put(rs.getInt(1), names.size());
                    names.add(rs.getString(2));
                    oids.add((int) rs.getLong(3));
                    casts.add(rs.getString(4));
                    notNull.add(rs.getBoolean(5));
                }
            }
        }
        if (names.isEmpty()) {
            throw new SourceException("cannot backfill " + name + ": no such table (or it has no columns). "
                    + "Check the name, e.g. --table public.orders");
        }
        int[] key = chooseKey(c, regclass, byAttnum, notNull);
        if (key == null) {
            throw new SourceException("cannot backfill " + name + ": it has no primary key and no unique index on NOT "
                    + "NULL columns to read it in order of. Add one (ALTER TABLE " + regclass
                    + " ADD PRIMARY KEY (…)), or leave the table out of the snapshot");
        }
        boolean[] isKey = new boolean[names.size()];
        for (int k : key) {
            isKey[k] = true;
        }
        for (int i = 0; i < names.size(); i++) {
            columns.add(new Column(names.get(i), typeName(types, oids.get(i)), oids.get(i), isKey[i]));
        }
        return new BackfillTable(name, ColumnList.of(columns), casts.toArray(String[]::new), key);
    }

    /** Column positions of the key, in index order; null when the table has no usable key. */
    private static int[] chooseKey(Connection c, String regclass, Map<Integer, Integer> byAttnum, List<Boolean> notNull)
            throws SQLException {
        int[] best = null;
        int bestRank = Integer.MAX_VALUE;
        try (PreparedStatement ps = c.prepareStatement("SELECT i.indisprimary, i.indisreplident, i.indkey::int2[] "
                + "FROM pg_index i WHERE i.indrelid = to_regclass(?) AND i.indisunique AND i.indisvalid "
                + "AND i.indpred IS NULL AND i.indexprs IS NULL")) {
            ps.setString(1, regclass);
            try (ResultSet rs = ps.executeQuery()) {
                candidates:
                while (rs.next()) {
                    Array array = rs.getArray(3);
                    Object[] attnums = (Object[]) array.getArray();
                    int[] key = new int[attnums.length];
                    for (int i = 0; i < attnums.length; i++) {
                        Integer position = byAttnum.get(((Number) attnums[i]).intValue());
                        if (position == null || !notNull.get(position)) {
                            continue candidates;
                        }
                        key[i] = position;
                    }
                    int rank = rs.getBoolean(1) ? 0 : rs.getBoolean(2) ? 1 : 1 + key.length;
                    if (rank < bestRank) {
                        best = key;
                        bestRank = rank;
                    }
                }
            }
        }
        return best;
    }

    private static String typeName(TypeRegistry types, int oid) {
        try {
            return types.type(oid).displayName();
        } catch (UnknownTypeException e) {
            return "unknown";
        }
    }

    /**
     * The chunk query: up to {@code limit} rows after the key given as parameters 1..k (all rows
     * when {@code afterKey} is false), matching {@code condition} when one is given, in key order.
     */
    String chunkQuery(boolean afterKey, String condition) {
        StringJoiner select = new StringJoiner(", ", "SELECT ", " FROM " + name.quoted() + " t");
        for (Column column : columns) {
            select.add("t." + Identifiers.quote(column.name()));
        }
        StringJoiner keyColumns = new StringJoiner(", ");
        StringJoiner keyParams = new StringJoiner(", ");
        for (int k : keyIndexes) {
            keyColumns.add("t." + Identifiers.quote(columns.get(k).name()));
            keyParams.add("CAST(CAST(? AS text) AS " + castTypes[k] + ")");
        }
        StringBuilder sql = new StringBuilder(select.toString());
        List<String> where = new ArrayList<>(2);
        if (afterKey) {
            where.add("(" + keyColumns + ") > (" + keyParams + ")");
        }
        if (condition != null && !condition.isBlank()) {
            where.add("(" + condition + ")");
        }
        if (!where.isEmpty()) {
            sql.append(" WHERE ").append(String.join(" AND ", where));
        }
        return sql.append(" ORDER BY ").append(keyColumns).append(" LIMIT ?").toString();
    }
}
