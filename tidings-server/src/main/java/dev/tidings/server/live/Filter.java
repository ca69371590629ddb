package dev.tidings.server.live;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.Op;
import dev.tidings.event.Row;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A row filter in the PostgREST-like syntax Realtime clients send: {@code id=eq.5},
 * {@code status=in.(open,"on hold")}, {@code deleted_at=is.null}, several joined by commas and
 * all required ({@code user_id=eq.7,done=is.false}).
 *
 * <p>Values are compared by the column's type, never as raw text: the row holds {@code to_jsonb}
 * text and {@link TypedValue} reads both sides as numbers, booleans, instants, dates, uuids or
 * text (see there). SQL semantics for NULL: a NULL column matches only {@code is.null}; {@code
 * neq} does not match NULL. An insert or update is matched on its new row, a delete on its old
 * row — which under the default replica identity holds only the key, so a delete is matched by a
 * filter on key columns only (the other columns are absent and match nothing), as in Realtime.
 *
 * <p>Immutable after parsing apart from a per-condition cache of the parsed literal, which is
 * only touched on the single fan-out thread.
 */
public final class Filter {
    public static final Filter NONE = new Filter("", List.of());

    private final String text;
    private final List<Condition> conditions;

    private Filter(String text, List<Condition> conditions) {
        this.text = text;
        this.conditions = conditions;
    }

    public enum Operator {
        EQ, NEQ, LT, LTE, GT, GTE, IN, IS;

        static Operator parse(String s) {
            for (Operator o : values()) {
                if (o.name().toLowerCase(Locale.ROOT).equals(s)) {
                    return o;
                }
            }
            return null;
        }
    }

    /** One {@code column=op.value}; {@code values} has one element except for {@code in}. */
    public static final class Condition {
        private final String column;
        private final Operator operator;
        private final List<String> values;
        private String cachedType;
        private Object[] cachedLiterals;

        Condition(String column, Operator operator, List<String> values) {
            this.column = column;
            this.operator = operator;
            this.values = List.copyOf(values);
        }

        public String column() {
            return column;
        }

        public Operator operator() {
            return operator;
        }

        public List<String> values() {
            return values;
        }

        /**
         * Null when every value can be compared with a column of {@code type}, else what is wrong,
         * e.g. {@code "'abc' is not a valid int8"}.
         */
        public String checkAgainst(String type) {
            if (operator == Operator.IS) {
                return null;
            }
            for (String v : values) {
                if (TypedValue.literal(v, type) == null) {
                    return "'" + v + "' is not a valid " + type;
                }
            }
            return null;
        }

        boolean test(String json, String type) {
            if (json == null) {
                return false; // absent (unchanged TOAST, non-key column of an old key): unknown, no match
            }
            if (operator == Operator.IS) {
                return switch (values.get(0)) {
                    case "null" -> json.equals("null");
                    case "true" -> json.equals("true");
                    case "false" -> json.equals("false");
                    default -> false;
                };
            }
            if (json.equals("null")) {
                return false;
            }
            Object[] literals = literals(type);
            Comparable<Object> actual = TypedValue.fromJson(json, type);
            if (actual == null || literals == null) {
                return false;
            }
            if (operator == Operator.IN) {
                for (Object l : literals) {
                    if (actual.compareTo(l) == 0) {
                        return true;
                    }
                }
                return false;
            }
            int c = actual.compareTo(literals[0]);
            return switch (operator) {
                case EQ -> c == 0;
                case NEQ -> c != 0;
                case LT -> c < 0;
                case LTE -> c <= 0;
                case GT -> c > 0;
                case GTE -> c >= 0;
                case IN, IS -> throw new AssertionError(operator);
            };
        }

        private Object[] literals(String type) {
            if (!type.equals(cachedType)) {
                Object[] parsed = new Object[values.size()];
                for (int i = 0; i < parsed.length; i++) {
                    parsed[i] = TypedValue.literal(values.get(i), type);
                    if (parsed[i] == null) {
                        parsed = null;
                        break;
                    }
                }
                cachedLiterals = parsed;
                cachedType = type;
            }
            return cachedLiterals;
        }

        @Override
        public String toString() {
            return column + "=" + operator.name().toLowerCase(Locale.ROOT) + "."
                    + (operator == Operator.IN ? "(" + String.join(",", values) + ")" : values.get(0));
        }
    }

    /**
     * Parses a filter; an empty or null text is {@link #NONE}.
     *
     * @throws IllegalArgumentException naming what is wrong and what is accepted
     */
    public static Filter parse(String text) {
        if (text == null || text.isBlank()) {
            return NONE;
        }
        List<Condition> conditions = new ArrayList<>();
        for (String part : splitTopLevel(text, ',')) {
            conditions.add(parseCondition(part.strip(), text));
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

    private static Condition parseCondition(String part, String whole) {
        int eq = part.indexOf('=');
        if (eq <= 0) {
            throw bad(whole, "'" + part + "' is not column=operator.value");
        }
        String column = part.substring(0, eq).strip();
        String rest = part.substring(eq + 1);
        int dot = rest.indexOf('.');
        if (dot <= 0) {
            throw bad(whole, "'" + part + "' has no operator; write column=eq.value");
        }
        String opText = rest.substring(0, dot);
        Operator op = Operator.parse(opText);
        if (op == null) {
            throw bad(whole, "unknown operator '" + opText + "'");
        }
        String value = rest.substring(dot + 1);
        return switch (op) {
            case IN -> {
                if (!value.startsWith("(") || !value.endsWith(")")) {
                    throw bad(whole, "in needs a list in parentheses: " + column + "=in.(a,b)");
                }
                List<String> items = new ArrayList<>();
                for (String item : splitTopLevel(value.substring(1, value.length() - 1), ',')) {
                    items.add(unquote(item.strip()));
                }
                if (items.isEmpty() || items.stream().anyMatch(String::isEmpty)) {
                    throw bad(whole, "empty value in the list of " + column + "=in.(…)");
                }
                yield new Condition(column, op, items);
            }
            case IS -> {
                String v = value.toLowerCase(Locale.ROOT);
                if (!v.equals("null") && !v.equals("true") && !v.equals("false")) {
                    throw bad(whole, "is takes null, true or false, not '" + value + "'");
                }
                yield new Condition(column, op, List.of(v));
            }
            default -> {
                if (value.isEmpty()) {
                    throw bad(whole, "'" + part + "' has no value");
                }
                yield new Condition(column, op, List.of(unquote(value)));
            }
        };
    }

    private static IllegalArgumentException bad(String filter, String problem) {
        return new IllegalArgumentException("invalid filter '" + filter + "': " + problem
                + " (accepted: column=eq|neq|lt|lte|gt|gte.value, column=in.(a,b), column=is.null|true|false, joined by commas)");
    }

    private static List<String> splitTopLevel(String s, char separator) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        boolean quoted = false;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && c == '(') {
                depth++;
            } else if (!quoted && c == ')') {
                depth--;
            } else if (!quoted && depth == 0 && c == separator) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(s.substring(start));
        return parts;
    }

    private static String unquote(String v) {
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }

    public List<Condition> conditions() {
        return conditions;
    }

    public boolean isEmpty() {
        return conditions.isEmpty();
    }

    /** True when every condition holds for the event's row (the old row for deletes). */
    public boolean matches(ChangeEvent event) {
        if (conditions.isEmpty()) {
            return true;
        }
        Row row = event.op() == Op.DELETE ? event.oldRecord() : event.record();
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

    private static int indexOf(List<Column> columns, String name) {
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
