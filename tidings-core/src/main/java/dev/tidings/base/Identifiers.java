package dev.tidings.base;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** SQL identifier quoting and parsing of {@code schema.table} names as users type them. */
public final class Identifiers {
    private Identifiers() {}

    /** Keywords that PostgreSQL's quote_ident quotes (all but the unreserved ones), up to PostgreSQL 18. */
    private static final Set<String> KEYWORDS = Set.of(
            // reserved
            "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast",
            "check", "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role",
            "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do",
            "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in",
            "initially", "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp", "not",
            "null", "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning", "select",
            "session_user", "some", "symmetric", "system_user", "table", "then", "to", "trailing", "true", "union",
            "unique", "user", "using", "variadic", "when", "where", "window", "with",
            // type or function names
            "authorization", "binary", "collation", "concurrently", "cross", "current_schema", "freeze", "full",
            "ilike", "inner", "is", "isnull", "join", "left", "like", "natural", "notnull", "outer", "overlaps",
            "right", "similar", "tablesample", "verbose",
            // column names
            "between", "bigint", "bit", "boolean", "char", "character", "coalesce", "dec", "decimal", "exists",
            "extract", "float", "greatest", "grouping", "inout", "int", "integer", "interval", "json", "json_array",
            "json_arrayagg", "json_exists", "json_object", "json_objectagg", "json_query", "json_scalar",
            "json_serialize", "json_table", "json_value", "least", "merge_action", "national", "nchar", "none",
            "normalize", "numeric", "out", "overlay", "position", "precision", "real", "row", "setof", "smallint",
            "substring", "time", "timestamp", "treat", "trim", "values", "varchar", "xmlattributes", "xmlconcat",
            "xmlelement", "xmlexists", "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize",
            "xmltable");

    /**
     * An identifier as PostgreSQL's {@code quote_ident} writes it: bare when it is lower case
     * letters, digits and underscores, not starting with a digit, and not a keyword; otherwise in
     * double quotes with inner double quotes doubled.
     */
    public static String quote(String identifier) {
        boolean safe = !identifier.isEmpty() && !KEYWORDS.contains(identifier);
        for (int i = 0; safe && i < identifier.length(); i++) {
            char ch = identifier.charAt(i);
            safe = (ch >= 'a' && ch <= 'z') || ch == '_' || (i > 0 && ch >= '0' && ch <= '9');
        }
        return safe ? identifier : '"' + identifier.replace("\"", "\"\"") + '"';
    }

    /** A string literal as PostgreSQL's {@code quote_literal} writes it, safe whatever standard_conforming_strings says. */
    public static String literal(String value) {
        String quoted = "'" + value.replace("'", "''") + "'";
        return value.indexOf('\\') < 0 ? quoted : "E" + quoted.replace("\\", "\\\\");
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
}
