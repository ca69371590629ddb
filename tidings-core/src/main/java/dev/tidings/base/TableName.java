package dev.tidings.base;

/**
 * A table by schema and name, as stored in the catalog (not quoted). {@link #toString()} is
 * {@code schema.table} for logs and metrics; {@link #quoted()} is safe to paste into SQL.
 * Parse what a user typed with {@link Identifiers#parseTable}.
 */
public record TableName(String schema, String table) {

    /** {@code schema.table} with each part quoted as PostgreSQL's {@code quote_ident} would. */
    public String quoted() {
        return Identifiers.quote(schema) + "." + Identifiers.quote(table);
    }

    @Override
    public String toString() {
        return schema + "." + table;
    }
}
