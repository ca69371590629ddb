package dev.tidings.server.live;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.Op;
import dev.tidings.event.Row;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A row filter as realtime-js 2.x writes it (PostgREST syntax, parsed as Supabase Realtime parses
 * it): {@code column=op.value} with {@code eq neq lt lte gt gte in is like ilike match imatch
 * isdistinct}, each negatable with {@code not.} ({@code id=not.in.(1,2)}), several joined by
 * commas and all required. Values may be double-quoted ({@code title=eq."a,b"}, backslash escapes);
 * {@code in} takes a list in parentheses whose unquoted {@code null} is a NULL element.
 *
 * <p>Semantics are PostgreSQL's for {@code column op literal::column_type}: SQL NULL makes every
 * operator unknown — no match, negated or not — except {@code is} and {@code isdistinct};
 * {@code not.} negates a known result only. An insert or update is matched on its new row, a delete
 * on its old row, which holds every column under {@code REPLICA IDENTITY FULL} and only the key
 * otherwise: a condition on a column the row lacks does not match.
 *
 * <p>How values compare: a filter {@link #resolve resolved} against its table's catalog
 * ({@link ColumnType}) compares in process where Java reproduces PostgreSQL exactly (numbers,
 * booleans, times, uuids, enums by declaration order, text by code point under a {@code C}-like
 * collation, {@code like} under a deterministic one) and asks PostgreSQL through
 * {@link DatabaseConditions} for the rest (text order under any other collation, {@code ilike},
 * {@code match}, {@code imatch}, other types). An unresolved filter (SSE, row policies, no
 * catalog) compares in process by the type each change carries ({@link TypedValue}).
 *
 * <p>Immutable apart from the per-type cache of an unresolved condition, touched only on the
 * single fan-out thread.
 */
public final class Filter {
    public static final Filter NONE = new Filter("", List.of());
    private static final String HINT = " (write column=operator.value, joined by commas; operators: eq, neq, lt, lte, gt,"
            + " gte, in.(a,b), is.null|true|false|unknown, like, ilike, match, imatch, isdistinct, each negatable"
            + " as in id=not.eq.5)";

    private final String text;
    private final List<Condition> conditions;

    private Filter(String text, List<Condition> conditions) {
        this.text = text;
        this.conditions = conditions;
    }

    public enum Operator {
        EQ("="), NEQ("<>"), LT("<"), LTE("<="), GT(">"), GTE(">="), IN("= ANY"), IS("IS"), LIKE("LIKE"),
        ILIKE("ILIKE"), MATCH("~"), IMATCH("~*"), ISDISTINCT("IS DISTINCT FROM");

        final String sql;

        Operator(String sql) {
            this.sql = sql;
        }

        String text() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Operator parse(String s) {
            for (Operator o : values()) {
                if (o.text().equals(s)) {
                    return o;
                }
            }
            return null;
        }

        boolean isPattern() {
            return this == LIKE || this == ILIKE || this == MATCH || this == IMATCH;
        }

        boolean isOrdering() {
            return this == LT || this == LTE || this == GT || this == GTE;
        }
    }

    /**
     * One {@code column=[not.]op.value}; {@code values} has one element except for {@code in},
     * whose NULL elements are null.
     */
    public static final class Condition {
        private final String column;
        private final Operator operator;
        private final boolean negated;
        private final List<String> values;
        private final String text;
        /** Set when resolved against the catalog; null: compare by the change's column types. */
        private final Evaluation resolved;
        private String cachedType;
        private Evaluation cached;

        Condition(String column, Operator operator, boolean negated, List<String> values, String text, Evaluation resolved) {
            this.column = column;
            this.operator = operator;
            this.negated = negated;
            this.values = Collections.unmodifiableList(new ArrayList<>(values));
            this.text = text;
            this.resolved = resolved;
        }

        public String column() {
            return column;
        }

        public Operator operator() {
            return operator;
        }

        public boolean negated() {
            return negated;
        }

        public List<String> values() {
            return values;
        }

        boolean test(String json, String type) {
            if (json == null) {
                return false; // absent (unchanged TOAST, non-key column of an old key): unknown, no match
            }
            boolean isNull = json.equals("null");
            if (operator == Operator.IS) {
                boolean is = switch (values.get(0)) {
                    case "true" -> json.equals("true");
                    case "false" -> json.equals("false");
                    default -> isNull; // null, unknown
                };
                return is != negated;
            }
            if (isNull) {
                return operator == Operator.ISDISTINCT && !negated;
            }
            Evaluation e = resolved != null ? resolved : unresolved(type);
            Boolean result = e == null ? null : e.test(this, json);
            return result != null && result != negated;
        }

        private Evaluation unresolved(String type) {
            if (!type.equals(cachedType)) {
                cached = InProcess.of(this, TypedValue.kind(type), null);
                cachedType = type;
            }
            return cached;
        }

        /** The literal as the SQL parameter: the value, or an array literal for {@code in}. */
        String sqlLiteral() {
            if (operator != Operator.IN) {
                return values.get(0);
            }
            StringBuilder b = new StringBuilder("{");
            for (String v : values) {
                if (b.length() > 1) {
                    b.append(',');
                }
                if (v == null) {
                    b.append("NULL");
                } else {
                    b.append('"').append(v.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
                }
            }
            return b.append('}').toString();
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** How a condition is decided for a non-null row value: SQL's true, false or unknown (null). */
    private sealed interface Evaluation permits InProcess, InDatabase {
        Boolean test(Condition c, String json);
    }

    /** Compared in Java: literals read once as values of the column's kind. */
    private record InProcess(TypedValue.Kind kind, List<String> enumLabels, Object[] literals, Pattern pattern)
            implements Evaluation {

        /** Null when a literal is not a value of {@code kind} as Java reads it. */
        static InProcess of(Condition c, TypedValue.Kind kind, List<String> enumLabels) {
            if (c.operator.isPattern()) {
                Pattern p = pattern(c.operator, c.values.get(0));
                return p == null ? null : new InProcess(kind, enumLabels, null, p);
            }
            Object[] literals = new Object[c.values.size()];
            for (int i = 0; i < literals.length; i++) {
                String v = c.values.get(i);
                if (v != null) {
                    literals[i] = TypedValue.literal(v, kind, enumLabels);
                    if (literals[i] == null) {
                        return null;
                    }
                }
            }
            return new InProcess(kind, enumLabels, literals, null);
        }

        /** The keys of the non-null literals (see {@link TypedValue#key}). */
        Set<Object> keys() {
            Set<Object> keys = new HashSet<>();
            for (Object l : literals) {
                if (l != null) {
                    keys.add(TypedValue.key(l));
                }
            }
            return Set.copyOf(keys);
        }

        @Override
        public Boolean test(Condition c, String json) {
            if (pattern != null) {
                String text = TypedValue.text(json);
                if (text == null) {
                    return null;
                }
                var m = pattern.matcher(text);
                return c.operator == Operator.MATCH || c.operator == Operator.IMATCH ? m.find() : m.matches();
            }
            Comparable<Object> actual = TypedValue.fromJson(json, kind, enumLabels);
            if (actual == null) {
                return null;
            }
            if (c.operator == Operator.IN) {
                boolean sawNull = false;
                for (Object l : literals) {
                    if (l == null) {
                        sawNull = true;
                    } else if (actual.compareTo(l) == 0) {
                        return true;
                    }
                }
                return sawNull ? null : Boolean.FALSE;
            }
            int cmp = actual.compareTo(literals[0]);
            return switch (c.operator) {
                case EQ -> cmp == 0;
                case NEQ, ISDISTINCT -> cmp != 0;
                case LT -> cmp < 0;
                case LTE -> cmp <= 0;
                case GT -> cmp > 0;
                case GTE -> cmp >= 0;
                case IN, IS, LIKE, ILIKE, MATCH, IMATCH -> throw new AssertionError(c.operator);
            };
        }

        /** {@code like}/{@code ilike} (with {@code \} escaping) and regular expressions as Java patterns; null if invalid. */
        private static Pattern pattern(Operator op, String value) {
            try {
                return switch (op) {
                    case MATCH -> Pattern.compile(value);
                    case IMATCH -> Pattern.compile(value, Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
                    default -> Pattern.compile(likeToRegex(value), Pattern.DOTALL
                            | (op == Operator.ILIKE ? Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE : 0));
                };
            } catch (PatternSyntaxException e) {
                return null;
            }
        }

        private static String likeToRegex(String like) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < like.length(); i++) {
                char ch = like.charAt(i);
                if (ch == '\\' && i + 1 < like.length()) {
                    b.append(Pattern.quote(String.valueOf(like.charAt(++i))));
                } else if (ch == '%') {
                    b.append(".*");
                } else if (ch == '_') {
                    b.append('.');
                } else {
                    b.append(Pattern.quote(String.valueOf(ch)));
                }
            }
            return b.toString();
        }
    }

    /** Decided by PostgreSQL: {@code sql} takes the row value and the literal. */
    private record InDatabase(DatabaseConditions database, String sql, String literal) implements Evaluation {
        @Override
        public Boolean test(Condition c, String json) {
            String value = TypedValue.text(json);
            return value == null ? null : database.test(sql, value, literal);
        }
    }

    /**
     * Parses a filter; an empty or blank text is {@link #NONE}.
     *
     * @throws IllegalArgumentException with Supabase Realtime's wording ({@code Error parsing `filter` params: …})
     *                                  and how to write it
     */
    public static Filter parse(String text) {
        if (text == null || text.isBlank()) {
            return NONE;
        }
        List<Condition> conditions = new ArrayList<>();
        for (String part : splitTopLevel(text.strip())) {
            conditions.add(parseCondition(part.strip()));
        }
        return new Filter(text, List.copyOf(conditions));
    }

    /**
     * Replaces {@code {claim}} placeholders with JWT claim values, then parses: how a row policy
     * such as {@code user_id=eq.{sub}} is bound to one subscriber.
     *
     * @throws IllegalArgumentException when a claim is missing
     */
    public static Filter bind(String template, Map<String, Object> claims) {
        StringBuilder b = new StringBuilder();
        int i = 0;
        while (i < template.length()) {
            int open = template.indexOf('{', i);
            if (open < 0) {
                b.append(template, i, template.length());
                break;
            }
            int close = template.indexOf('}', open);
            if (close < 0) {
                throw new IllegalArgumentException("unclosed '{' in row policy '" + template + "'");
            }
            b.append(template, i, open);
            String claim = template.substring(open + 1, close);
            Object value = claims.get(claim);
            if (value == null) {
                throw new IllegalArgumentException("the row policy '" + template + "' needs the claim '" + claim
                        + "', which the token does not carry");
            }
            b.append(value);
            i = close + 1;
        }
        return parse(b.toString());
    }

    /**
     * This filter bound to its table's columns: each condition checked by PostgreSQL (unknown
     * column, a literal the type refuses, an operator the type lacks) and given the way it is
     * decided from now on.
     *
     * @throws IllegalArgumentException with the reason, PostgreSQL's words where it refused
     */
    public Filter resolve(Map<String, ColumnType> columns, DatabaseConditions database) {
        List<Condition> resolved = new ArrayList<>(conditions.size());
        for (Condition c : conditions) {
            ColumnType type = columns.get(c.column);
            if (type == null) {
                throw new IllegalArgumentException("invalid column for filter " + c.column);
            }
            resolved.add(new Condition(c.column, c.operator, c.negated, c.values, c.text, evaluation(c, type, database)));
        }
        return new Filter(text, List.copyOf(resolved));
    }

    private static Evaluation evaluation(Condition c, ColumnType type, DatabaseConditions database) {
        if (c.operator == Operator.IS) {
            if (!c.values.get(0).equals("null") && !type.name().equals("bool")) {
                throw new IllegalArgumentException("is." + c.values.get(0) + " needs a boolean column; " + c.column
                        + " is " + type.name() + " (use is.null, or eq)");
            }
            return null; // decided on the JSON text, no literal
        }
        if (type.array()) {
            throw new IllegalArgumentException("filters on array columns are not supported (" + c.column + " is "
                    + type.name() + "); filter on another column or use is.null");
        }
        String value = "(?::" + type.sqlName() + (type.collation() == null ? "" : " COLLATE " + type.collation()) + ")";
        String literal = "(?::" + type.sqlName() + (c.operator == Operator.IN ? "[])" : ")");
        String sql = "SELECT " + value + " " + c.operator.sql + " " + literal;
        if (!surelyAccepted(c, type)) {
            database.check(sql, literal, c.sqlLiteral());
        }
        TypedValue.Kind kind = inProcessKind(c.operator, type);
        InProcess inProcess = kind == null ? null : InProcess.of(c, kind, type.enumLabels());
        return inProcess != null ? inProcess : new InDatabase(database, sql, c.sqlLiteral());
    }

    private static final java.util.regex.Pattern INTEGER = java.util.regex.Pattern.compile("-?[0-9]{1,18}");
    private static final java.util.regex.Pattern UUID = java.util.regex.Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    /**
     * Whether PostgreSQL is sure to accept {@code c} on {@code type}, so that the join need not ask
     * it: an equality, ordering or {@code in} on an integer column with plain decimal literals in the
     * type's range, or on a uuid column with canonical ones. Anything else is asked (once per
     * distinct literal): with a value of its own per subscriber ({@code id=eq.<row>}), asking made
     * each join two round trips on the one connection all joins share, most of the time 10,000
     * clients took to join.
     */
    static boolean surelyAccepted(Condition c, ColumnType type) {
        if (!List.of(Operator.EQ, Operator.NEQ, Operator.LT, Operator.LTE, Operator.GT, Operator.GTE, Operator.IN)
                .contains(c.operator)) {
            return false;
        }
        long min;
        long max;
        switch (type.name()) {
            case "int2" -> { min = Short.MIN_VALUE; max = Short.MAX_VALUE; }
            case "int4" -> { min = Integer.MIN_VALUE; max = Integer.MAX_VALUE; }
            case "int8" -> { min = Long.MIN_VALUE; max = Long.MAX_VALUE; }
            case "uuid" -> {
                return c.values.stream().allMatch(v -> v != null && UUID.matcher(v).matches());
            }
            default -> {
                return false;
            }
        }
        for (String v : c.values) {
            if (v == null || !INTEGER.matcher(v).matches() || Long.parseLong(v) < min || Long.parseLong(v) > max) {
                return false;
            }
        }
        return true;
    }

    /** The kind to compare {@code type} as in Java for {@code op}, or null when PostgreSQL must decide. */
    private static TypedValue.Kind inProcessKind(Operator op, ColumnType type) {
        if (op == Operator.ILIKE || op == Operator.MATCH || op == Operator.IMATCH) {
            return null; // case folding and regular expressions are PostgreSQL's own
        }
        if (type.enumLabels() != null) {
            return op.isPattern() ? null : TypedValue.Kind.ENUM;
        }
        TypedValue.Kind kind = TypedValue.kind(type.name());
        if (kind == TypedValue.Kind.TEXT && !List.of("text", "varchar", "name").contains(type.name())) {
            return null; // json, jsonb, interval, citext, …
        }
        boolean text = kind == TypedValue.Kind.TEXT || kind == TypedValue.Kind.BPCHAR;
        if (op == Operator.LIKE) { // char(n) keeps its padding here: PostgreSQL decides
            return kind == TypedValue.Kind.TEXT && type.deterministic() ? kind : null;
        }
        if (text && (!type.deterministic() || (op.isOrdering() && !type.codePoint()))) {
            return null;
        }
        return kind;
    }

    private static Condition parseCondition(String part) {
        if (part.isEmpty()) {
            throw new IllegalArgumentException("Error parsing `filter` params: filter must not contain empty segments"
                    + " (check for extra commas)");
        }
        int eq = part.indexOf('=');
        if (eq < 0) {
            throw bad(List.of(part));
        }
        String column = part.substring(0, eq);
        String rest = part.substring(eq + 1);
        boolean negated = rest.startsWith("not.");
        String opValue = negated ? rest.substring(4) : rest;
        int dot = opValue.indexOf('.');
        if (dot < 0) {
            throw bad(List.of(opValue));
        }
        String opText = opValue.substring(0, dot);
        String value = opValue.substring(dot + 1);
        Operator op = Operator.parse(opText);
        if (op == null) {
            throw bad(List.of(opText, value));
        }
        return switch (op) {
            case IN -> {
                if (value.length() < 2 || !value.startsWith("(") || !value.endsWith(")")) {
                    throw new IllegalArgumentException("Error parsing `filter` params: `in` filter value must be wrapped"
                            + " by parentheses (" + column + "=in.(a,b))");
                }
                yield new Condition(column, op, negated, listElements(value.substring(1, value.length() - 1)), part, null);
            }
            case IS -> {
                String v = value.toLowerCase(Locale.ROOT);
                if (!List.of("null", "true", "false", "unknown").contains(v)) {
                    throw new IllegalArgumentException("Error parsing `filter` params: invalid value for is filter: must be"
                            + " null, true, false, or unknown, not '" + value + "'");
                }
                yield new Condition(column, op, negated, List.of(v), part, null);
            }
            default -> new Condition(column, op, negated, List.of(unquote(value)), part, null);
        };
    }

    /** Supabase's report of a segment it could not read: its parts as a list. */
    private static IllegalArgumentException bad(List<String> parts) {
        StringBuilder b = new StringBuilder("[");
        for (String p : parts) {
            b.append(b.length() > 1 ? ", " : "").append('"').append(p.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return new IllegalArgumentException("Error parsing `filter` params: " + b.append(']') + HINT);
    }

    /**
     * Splits at commas outside parentheses and quotes; a quote opens only after {@code .}, {@code (}
     * or {@code ,} and backslash escapes inside quotes, as Realtime splits.
     */
    private static List<String> splitTopLevel(String s) {
        List<String> parts = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int depth = 0;
        boolean quoted = false;
        char prev = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quoted) {
                current.append(c);
                if (c == '\\' && i + 1 < s.length()) {
                    current.append(s.charAt(++i));
                } else if (c == '"') {
                    quoted = false;
                }
            } else if (c == '"' && (prev == '.' || prev == '(' || prev == ',')) {
                quoted = true;
                current.append(c);
            } else if (c == '(') {
                depth++;
                current.append(c);
            } else if (c == ')') {
                depth = Math.max(0, depth - 1);
                current.append(c);
            } else if (c == ',' && depth == 0) {
                parts.add(current.toString());
                current.setLength(0);
                c = 0;
            } else {
                current.append(c);
            }
            prev = c;
        }
        parts.add(current.toString());
        return parts;
    }

    /** A value in double quotes with backslash escapes is its content; anything else is itself. */
    private static String unquote(String v) {
        if (!v.startsWith("\"")) {
            return v;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 1; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '"') {
                return i == v.length() - 1 ? b.toString() : v;
            }
            if (c == '\\' && i + 1 < v.length()) {
                c = v.charAt(++i);
            }
            b.append(c);
        }
        return v;
    }

    /** The elements of {@code in.(…)} read as PostgreSQL reads an array literal; unquoted {@code null} is NULL. */
    private static List<String> listElements(String list) {
        List<String> items = new ArrayList<>();
        if (list.isBlank()) {
            return items;
        }
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        boolean wasQuoted = false;
        for (int i = 0; i <= list.length(); i++) {
            char c = i < list.length() ? list.charAt(i) : ',';
            if (c == '\\' && i + 1 < list.length()) {
                current.append(list.charAt(++i));
            } else if (c == '"') {
                quoted = !quoted;
                wasQuoted = true;
            } else if (c == ',' && !quoted) {
                String item = wasQuoted ? current.toString() : current.toString().strip();
                items.add(!wasQuoted && item.equalsIgnoreCase("null") ? null : item);
                current.setLength(0);
                wasQuoted = false;
            } else if (quoted || !Character.isWhitespace(c) || !current.isEmpty()) {
                current.append(c);
            }
        }
        return items;
    }

    public List<Condition> conditions() {
        return conditions;
    }

    public boolean isEmpty() {
        return conditions.isEmpty();
    }

    /**
     * How a value of a row is read to look it up in a fan-out index: as {@code kind} (enums by
     * {@code enumLabels}), and for an unresolved condition ({@code ofChangeType}) only when the
     * change's column type reads as {@code kind}, as {@link Condition#test} decides.
     */
    record Reading(TypedValue.Kind kind, List<String> enumLabels, boolean ofChangeType) {
        /** The row value's key, equal to a literal's key exactly when they compare equal; null if unreadable. */
        Object key(String json) {
            return TypedValue.key(TypedValue.fromJson(json, kind, enumLabels));
        }
    }

    /** Under {@code reading}, the row's {@code column} must have one of {@code keys} for the filter to match. */
    record IndexKeys(String column, Reading reading, Set<Object> keys) {}

    /**
     * What the fan-out may index this filter by: the literal keys of its first condition that is a
     * plain {@code eq} or {@code in} decided in process, one entry per reading (an unresolved
     * condition has one per type it may meet). A row whose value is none of them does not match.
     * Null when no condition is indexable: such a filter is tested on every change.
     */
    List<IndexKeys> indexKeys() {
        for (Condition c : conditions) {
            if (c.negated || (c.operator != Operator.EQ && c.operator != Operator.IN)) {
                continue;
            }
            if (c.resolved instanceof InProcess p) {
                return List.of(new IndexKeys(c.column, new Reading(p.kind(), p.enumLabels(), false), p.keys()));
            }
            if (c.resolved == null) {
                List<IndexKeys> perType = new ArrayList<>();
                for (TypedValue.Kind kind : TypedValue.Kind.values()) {
                    InProcess p = kind == TypedValue.Kind.ENUM ? null : InProcess.of(c, kind, null);
                    if (p != null) {
                        perType.add(new IndexKeys(c.column, new Reading(kind, null, true), p.keys()));
                    }
                }
                return perType;
            }
        }
        return null;
    }

    /** The row a filter is tested on: the new one, the old one for deletes; null when the change has none. */
    static Row rowOf(ChangeEvent event) {
        return event.op() == Op.DELETE ? event.oldRecord() : event.record();
    }

    /** True when every condition holds for the event's row (the old row for deletes). */
    public boolean matches(ChangeEvent event) {
        if (conditions.isEmpty()) {
            return true;
        }
        Row row = rowOf(event);
        if (row == null) {
            return false;
        }
        List<Column> columns = event.columns();
        for (Condition c : conditions) {
            int index = indexOf(columns, c.column);
            if (index < 0 || !c.test(row.json(index), columns.get(index).type())) {
                return false;
            }
        }
        return true;
    }

    static int indexOf(List<Column> columns, String name) {
        for (int i = 0; i < columns.size(); i++) {
            if (columns.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return text;
    }
}
