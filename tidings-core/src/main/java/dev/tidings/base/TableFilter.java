package dev.tidings.base;

import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which tables a consumer wants: every table, whole schemas, single tables, or a mix. The embedded
 * API ({@code SourceConfig.tables}), durable sinks ({@code tables:}) and live clients (WebSocket
 * bindings, SSE {@code ?tables=}) all select tables with it.
 *
 * <p>Invariant: normalized, so the parts never overlap — when {@code all} is set both sets are
 * empty, and no table is listed whose schema is. A live fan-out can therefore register a
 * subscriber under each part and deliver every change to it at most once. Immutable, thread-safe.
 *
 * @param all     every table
 * @param schemas every table of these schemas
 * @param tables  these tables
 */
public record TableFilter(boolean all, Set<String> schemas, Set<TableName> tables) {
    public static final TableFilter ALL = new TableFilter(true, Set.of(), Set.of());
    public static final TableFilter NONE = new TableFilter(false, Set.of(), Set.of());

    public TableFilter {
        if (all) {
            schemas = Set.of();
            tables = Set.of();
        } else {
            Set<String> s = Set.copyOf(schemas);
            Set<TableName> t = new HashSet<>();
            for (TableName name : tables) {
                if (!s.contains(name.schema())) {
                    t.add(name);
                }
            }
            schemas = s;
            tables = Set.copyOf(t);
        }
    }

    /** The tables of a configuration, where an empty list means every table. */
    public static TableFilter of(Collection<TableName> tables) {
        return tables.isEmpty() ? ALL : new TableFilter(false, Set.of(), Set.copyOf(tables));
    }

    /** Exactly one table. */
    public static TableFilter table(TableName table) {
        return new TableFilter(false, Set.of(), Set.of(table));
    }

    /** Every table of {@code schema}. */
    public static TableFilter schema(String schema) {
        return new TableFilter(false, Set.of(schema), Set.of());
    }

    /** The tables any of {@code filters} wants; {@link #NONE} for an empty list. */
    public static TableFilter anyOf(List<TableFilter> filters) {
        Set<String> schemas = new HashSet<>();
        Set<TableName> tables = new HashSet<>();
        for (TableFilter f : filters) {
            if (f.all) {
                return ALL;
            }
            schemas.addAll(f.schemas);
            tables.addAll(f.tables);
        }
        return new TableFilter(false, schemas, tables);
    }

    public boolean matches(TableName table) {
        return matches(table.schema(), table.table());
    }

    public boolean matches(String schema, String table) {
        return all || schemas.contains(schema) || (!tables.isEmpty() && tables.contains(new TableName(schema, table)));
    }

    public boolean isEmpty() {
        return !all && schemas.isEmpty() && tables.isEmpty();
    }
}
