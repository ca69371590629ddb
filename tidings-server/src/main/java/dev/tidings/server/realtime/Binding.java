package dev.tidings.server.realtime;

import dev.tidings.base.TableFilter;
import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Op;
import dev.tidings.server.live.Filter;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One {@code postgres_changes} binding of a channel (or the single implied binding of a legacy
 * {@code realtime:schema:table:filter} topic): which event, schema, table, rows and columns.
 * Read as Supabase Realtime reads it: an event other than {@code INSERT}, {@code UPDATE} or
 * {@code DELETE} (any case) means {@code *}; a table without a schema is in {@code public}.
 *
 * @param event  {@code *}, {@code INSERT}, {@code UPDATE} or {@code DELETE}
 * @param schema the schema, or null for every schema
 * @param table  the table, or null for every table of the schema
 * @param filter the row filter
 * @param select the columns to send, or null for all
 * @param id     the id the client matches pushes by: a hash of the binding, as Realtime's are
 */
record Binding(String event, String schema, String table, Filter filter, List<String> select, int id) {

    Binding {
        select = select == null ? null : List.copyOf(select);
    }

    /** @throws IllegalArgumentException with Realtime's wording when the filter cannot be read */
    static Binding of(String event, String schema, String table, String filterText, List<String> select) {
        String e = event == null ? "*" : event.toUpperCase(Locale.ROOT);
        if (!e.equals("INSERT") && !e.equals("UPDATE") && !e.equals("DELETE")) {
            e = "*";
        }
        String t = table == null || table.isEmpty() || table.equals("*") ? null : table;
        String s = schema == null || schema.isEmpty() || schema.equals("*") ? (t == null ? null : "public") : schema;
        if (select != null && t == null) {
            throw new IllegalArgumentException("Column selection is not supported for wildcard subscriptions. Provide an"
                    + " explicit schema and table name.");
        }
        Filter f = Filter.parse(filterText);
        int id = Math.floorMod(Objects.hash(e, s, t, f.toString()), 100_000_000);
        return new Binding(e, s, t, f, select, id);
    }

    /** The same binding with its filter bound to the table's columns. */
    Binding withFilter(Filter resolved) {
        return new Binding(event, schema, table, resolved, select, id);
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
