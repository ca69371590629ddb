package dev.tidings.server.live;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.List;
import java.util.Locale;


/**
 * Reads a row value ({@code to_jsonb} text) and a filter literal as comparable values of the
 * column's type, so that {@code id=gt.9} is numeric ({@code 10 > 9}), {@code done=eq.t} is the
 * boolean true and {@code at=lt.2024-05-01 12:00+02} compares instants.
 *
 * <ul>
 *   <li>numbers ({@code int2 int4 int8 oid numeric}): exact decimals; {@code float4} and
 *       {@code float8} as the binary floats PostgreSQL stores (so {@code 0.1} equals a float4 0.1);
 *       PostgreSQL's order for the specials: {@code -Infinity} &lt; numbers &lt; {@code Infinity}
 *       &lt; {@code NaN}, and {@code NaN} equals itself.
 *   <li>{@code bool}: {@code true/false}, also {@code t/f}, {@code yes/no}, {@code on/off}, {@code 1/0}.
 *   <li>{@code timestamptz} (instants; a literal without offset is UTC), {@code timestamp},
 *       {@code date}, {@code time}; {@code ±infinity} ordered around every finite value.
 *   <li>{@code uuid}: any case.
 *   <li>enums: by declaration order, when the labels are known from the catalog.
 *   <li>{@code bpchar} ({@code char(n)}): text without its trailing blanks, as PostgreSQL compares it.
 *   <li>everything else (text, varchar, json, …): the JSON string's text, or the JSON text itself
 *       for non-strings, compared by code point, which is the order of the {@code C} collation.
 *       A filter that knows its column's collation asks PostgreSQL for any other order
 *       ({@link DatabaseConditions}).
 * </ul>
 * A value that does not read as its type yields null (no match; for literals, a filter error).
 */
final class TypedValue {
    private TypedValue() {}

    /** Keeps ±infinity and NaN in PostgreSQL's order around the finite values. */
    private record Ranked(int rank, Comparable<Object> value) implements Comparable<Ranked> {
        static final Ranked MINUS_INFINITY = new Ranked(-1, null);
        static final Ranked INFINITY = new Ranked(1, null);
        static final Ranked NAN = new Ranked(2, null);

        @SuppressWarnings("unchecked")
        static Ranked of(Comparable<?> value) {
            return new Ranked(0, (Comparable<Object>) value);
        }

        @Override
        public int compareTo(Ranked o) {
            if (rank != o.rank) {
                return Integer.compare(rank, o.rank);
            }
            return rank == 0 ? value.compareTo(o.value) : 0;
        }
    }

    enum Kind { NUMBER, FLOAT4, FLOAT8, BOOL, TIMESTAMPTZ, TIMESTAMP, DATE, TIME, UUID, ENUM, BPCHAR, TEXT }

    /** Text in code point order (String's own order is by UTF-16 unit, which differs above U+FFFF). */
    private record CodePoints(String text) implements Comparable<CodePoints> {
        @Override
        public int compareTo(CodePoints o) {
            String a = text;
            String b = o.text;
            int i = 0;
            int j = 0;
            while (i < a.length() && j < b.length()) {
                int ca = a.codePointAt(i);
                int cb = b.codePointAt(j);
                if (ca != cb) {
                    return Integer.compare(ca, cb);
                }
                i += Character.charCount(ca);
                j += Character.charCount(cb);
            }
            return Integer.compare(a.length() - i, b.length() - j);
        }
    }

    private static final DateTimeFormatter DATE_TIME = new DateTimeFormatterBuilder()
            .parseCaseInsensitive()
            .append(DateTimeFormatter.ISO_LOCAL_DATE)
            .optionalStart().appendLiteral('T').optionalEnd()
            .optionalStart().appendLiteral(' ').optionalEnd()
            .optionalStart().append(DateTimeFormatter.ISO_LOCAL_TIME).optionalEnd()
            .optionalStart().appendOffset("+HH:MM:ss", "Z").optionalEnd()
            .optionalStart().appendOffset("+HHmm", "Z").optionalEnd()
            .optionalStart().appendOffset("+HH", "Z").optionalEnd()
            .parseDefaulting(ChronoField.HOUR_OF_DAY, 0)
            .toFormatter(Locale.ROOT);

    static Kind kind(String type) {
        return switch (type) {
            case "int2", "int4", "int8", "oid", "numeric" -> Kind.NUMBER;
            case "float4" -> Kind.FLOAT4;
            case "float8" -> Kind.FLOAT8;
            case "bpchar" -> Kind.BPCHAR;
            case "bool" -> Kind.BOOL;
            case "timestamptz" -> Kind.TIMESTAMPTZ;
            case "timestamp" -> Kind.TIMESTAMP;
            case "date" -> Kind.DATE;
            case "time" -> Kind.TIME;
            case "uuid" -> Kind.UUID;
            default -> Kind.TEXT;
        };
    }

    /** The row value as PostgreSQL's text for it: a JSON string's content, else the JSON text. */
    static String text(String json) {
        return json.startsWith("\"") ? unescape(json) : json;
    }

    /** The row value, given as {@code to_jsonb} text (not {@code null}), or null if unreadable as {@code kind}. */
    @SuppressWarnings("unchecked")
    static Comparable<Object> fromJson(String json, Kind kind, List<String> enumLabels) {
        String text = text(json);
        if (text == null) {
            return null;
        }
        return (Comparable<Object>) read(text, kind, enumLabels);
    }

    /**
     * {@code value} (as read here) as a hash key: two keys are equal exactly when the values compare
     * equal, which {@code equals} alone misses for decimals of different scale ({@code 1.0}, {@code 1}).
     */
    static Object key(Object value) {
        if (value instanceof Ranked r && (Object) r.value() instanceof BigDecimal d) {
            return Ranked.of(d.signum() == 0 ? BigDecimal.ZERO : d.stripTrailingZeros());
        }
        return value;
    }

    /** The filter literal read as a value of {@code kind}, or null when it is not one. */
    static Object literal(String text, Kind kind, List<String> enumLabels) {
        return read(text, kind, enumLabels);
    }

    private static Comparable<?> read(String text, Kind kind, List<String> enumLabels) {
        try {
            return switch (kind) {
                case NUMBER -> number(text);
                case FLOAT4 -> floating(text, true);
                case FLOAT8 -> floating(text, false);
                case ENUM -> {
                    int rank = enumLabels == null ? -1 : enumLabels.indexOf(text);
                    yield rank < 0 ? null : rank;
                }
                case BPCHAR -> new CodePoints(stripBlanks(text));
                case BOOL -> bool(text);
                case TIMESTAMPTZ -> special(text) != null ? special(text) : Ranked.of(instant(text));
                case TIMESTAMP -> special(text) != null ? special(text)
                        : Ranked.of(LocalDateTime.parse(text.strip(), DATE_TIME));
                case DATE -> special(text) != null ? special(text) : Ranked.of(LocalDate.parse(text.strip(), DATE_TIME));
                case TIME -> LocalTime.parse(text.strip());
                case UUID -> java.util.UUID.fromString(text.strip()).toString();
                case TEXT -> new CodePoints(text);
            };
        } catch (DateTimeParseException | IllegalArgumentException | ArithmeticException e) {
            return null;
        }
    }

    private static Ranked number(String text) {
        String t = text.strip();
        return switch (t.toLowerCase(Locale.ROOT)) {
            case "nan" -> Ranked.NAN;
            case "infinity", "+infinity", "inf" -> Ranked.INFINITY;
            case "-infinity", "-inf" -> Ranked.MINUS_INFINITY;
            default -> Ranked.of(new BigDecimal(t));
        };
    }

    private static Ranked floating(String text, boolean single) {
        Ranked special = number(text);
        if (special.rank() != 0) {
            return special;
        }
        String t = text.strip();
        double d = single ? Float.parseFloat(t) : Double.parseDouble(t);
        return Ranked.of(d + 0.0); // -0 equals 0, as in PostgreSQL
    }

    /** Trailing blanks (spaces only) removed, as {@code bpchar} comparison ignores them. */
    private static String stripBlanks(String text) {
        int end = text.length();
        while (end > 0 && text.charAt(end - 1) == ' ') {
            end--;
        }
        return text.substring(0, end);
    }

    private static Boolean bool(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "true", "t", "yes", "y", "on", "1" -> Boolean.TRUE;
            case "false", "f", "no", "n", "off", "0" -> Boolean.FALSE;
            default -> throw new IllegalArgumentException("not a boolean");
        };
    }

    private static Ranked special(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "infinity", "+infinity" -> Ranked.INFINITY;
            case "-infinity" -> Ranked.MINUS_INFINITY;
            default -> null;
        };
    }

    private static java.time.Instant instant(String text) {
        var parsed = DATE_TIME.parseBest(text.strip(), OffsetDateTime::from, LocalDateTime::from, LocalDate::from);
        if (parsed instanceof OffsetDateTime odt) {
            return odt.toInstant();
        }
        if (parsed instanceof LocalDateTime ldt) {
            return ldt.toInstant(ZoneOffset.UTC);
        }
        return ((LocalDate) parsed).atStartOfDay().toInstant(ZoneOffset.UTC);
    }

    private static final JsonFactory JSON = new JsonFactory();

    /** The text of a JSON string literal, or null when it is malformed. */
    static String unescape(String json) {
        if (json.length() < 2 || json.charAt(json.length() - 1) != '"') {
            return null;
        }
        if (json.indexOf('\\') < 0) {
            return json.substring(1, json.length() - 1);
        }
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                return null;
            }
            String text = p.getText();
            return p.nextToken() == null ? text : null;
        } catch (IOException e) {
            return null;
        }
    }

}
