package dev.tidings.server.realtime;

import dev.tidings.base.TableFilter;
import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Op;
import dev.tidings.server.live.Filter;

import java.util.Locale;
import java.util.Objects;

/**
 * One {@code postgres_changes} binding of a channel (or the single implied binding of a legacy
 * {@code realtime:schema:table:filter} topic): which event, schema, table and rows.
 *
 * @param event  {@code *}, {@code INSERT}, {@code UPDATE} or {@code DELETE}
 * @param schema the schema, or null for every schema
 * @param table  the table, or null for every table of the schema
 * @param filter the row filter
 * @param id     the id the client matches pushes by: a hash of the binding, as Realtime's are
 */
record Binding(String event, String schema, String table, Filter filter, int id) {

    static Binding of(String event, String schema, String table, String filterText) {
        String e = event == null ? "*" : event.toUpperCase(Locale.ROOT);
        if (!e.equals("*") && !e.equals("INSERT") && !e.equals("UPDATE") && !e.equals("DELETE")) {
            throw new IllegalArgumentException("unknown event '" + event + "'; use *, INSERT, UPDATE or DELETE");
        }
        String s = schema == null || schema.isEmpty() || schema.equals("*") ? null : schema;
        String t = table == null || table.isEmpty() || table.equals("*") ? null : table;
        if (s == null && t != null) {
            throw new IllegalArgumentException("a table needs its schema: give schema and table");
        }
        Filter f = Filter.parse(filterText);
        int id = Math.floorMod(Objects.hash(e, s, t, f.toString()), 100_000_000);
        return new Binding(e, s, t, f, id);
    }

    /** The tables this binding is about. */
    TableFilter tables() {
        if (schema == null) {
            return TableFilter.ALL;
        }
        return table == null ? TableFilter.schema(schema) : TableFilter.table(new TableName(schema, table));
    }

    boolean matches(ChangeEvent change) {
        if (event.length() > 1 && !event.equals(typeOf(change.op()))) { // "*" is the only short one
            return false;
        }
        if (schema != null && !schema.equals(change.schema())) {
            return false;
        }
        if (table != null && !table.equals(change.table())) {
            return false;
        }
        return filter.matches(change);
    }

    private static String typeOf(Op op) {
        return switch (op) {
            case INSERT -> "INSERT";
            case UPDATE -> "UPDATE";
            case DELETE -> "DELETE";
            default -> "";
        };
    }
}
