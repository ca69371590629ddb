package dev.tidings.source;

import java.util.ArrayList;
import java.util.List;

/** SQL identifier quoting and parsing of {@code schema.table} names as users type them. */
public final class Identifiers {
    private Identifiers() {}

    /** Quotes an identifier the way {@code quote_ident} does when it must: always, which is never wrong. */
    public static String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    /** A string literal for SQL text sent in simple query mode. */
    public static String literal(String value) {
        return "'" + value.replace("'", "''") + "'";
    }

    /**
     * Parses a table name as written on the command line: {@code todos}, {@code public.todos},
     * {@code "My Schema"."Odd.Table"}. Unquoted parts are folded to lower case, as PostgreSQL does.
     * A name without a schema is in {@code public}.
     */
    public static TableName parseTable(String text) {
        List<String> parts = new ArrayList<>(2);
        int i = 0;
        int n = text.length();
        while (i < n) {
            StringBuilder part = new StringBuilder();
            if (text.charAt(i) == '"') {
                i++;
                while (true) {
                    if (i >= n) {
                        throw new IllegalArgumentException("unterminated quote in table name '" + text + "'");
                    }
                    char c = text.charAt(i++);
                    if (c == '"') {
                        if (i < n && text.charAt(i) == '"') {
                            part.append('"');
                            i++;
                        } else {
                            break;
                        }
                    } else {
                        part.append(c);
                    }
                }
            } else {
                while (i < n && text.charAt(i) != '.') {
                    part.append(Character.toLowerCase(text.charAt(i++)));
                }
            }
            parts.add(part.toString().strip());
            if (i < n) {
                if (text.charAt(i) != '.') {
                    throw new IllegalArgumentException("unexpected '" + text.charAt(i) + "' in table name '" + text
                            + "'; write schema.table, quoting names with capitals or dots: \"My Schema\".\"Table\"");
                }
                i++;
                if (i == n) {
                    throw new IllegalArgumentException("table name '" + text + "' ends with a dot");
                }
            }
        }
        if (parts.isEmpty() || parts.size() > 2 || parts.stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException("not a table name: '" + text + "'; write table or schema.table");
        }
        return parts.size() == 1 ? new TableName("public", parts.get(0)) : new TableName(parts.get(0), parts.get(1));
    }

    /** A table by schema and name, as stored in the catalog (not quoted). */
    public record TableName(String schema, String table) {
        public String quoted() {
            return quote(schema) + "." + quote(table);
        }

        @Override
        public String toString() {
            return schema + "." + table;
        }
    }
}
