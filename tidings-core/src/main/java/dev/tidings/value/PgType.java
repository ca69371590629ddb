package dev.tidings.value;

import java.util.List;

/**
 * What Tidings knows about a PostgreSQL type: enough to turn its text output into the JSON that
 * {@code to_jsonb()} gives. Built from {@code pg_type} (and {@code pg_attribute}, {@code pg_range}
 * for composites and ranges).
 *
 * @param oid          the type's OID
 * @param schema       its namespace, e.g. {@code pg_catalog}
 * @param name         {@code typname}, e.g. {@code int4}, {@code _int4}, {@code mood}
 * @param kind         what sort of type it is
 * @param category     {@code typcategory}: 'N' numeric, 'B' boolean, 'D' date/time, ...
 * @param elementOid   for arrays: the element type; for domains: the base type; for ranges: the
 *                     subtype; for multiranges: the range type; 0 otherwise
 * @param delimiter    the array element delimiter ({@code typdelim}), ',' for all but {@code box}
 * @param fields       for composites: the attributes in order; empty otherwise
 */
public record PgType(int oid, String schema, String name, Kind kind, char category, int elementOid,
                     char delimiter, List<Field> fields) {

    public enum Kind { BASE, ARRAY, ENUM, DOMAIN, COMPOSITE, RANGE, MULTIRANGE, PSEUDO }

    /** An attribute of a composite type. */
    public record Field(String name, int typeOid) {}

    /** The name to show users: {@code int4}, {@code _text}, or {@code myschema.mood} outside pg_catalog/public. */
    public String displayName() {
        return "pg_catalog".equals(schema) || "public".equals(schema) ? name : schema + "." + name;
    }
}
