package dev.tidings.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One value of one setting as the user gave it, named with where it came from, and the one parser
 * of the kinds of values settings have: text, booleans, whole numbers, sizes, durations and lists.
 * Every error it raises names the setting and its source, says what was expected and repeats what
 * was given, e.g. {@code PORT (server.port) must be a whole number from 0 to 65535, not 'http'}.
 *
 * <ul>
 *   <li>booleans: {@code true} or {@code false} (any case);
 *   <li>sizes: a number of bytes, or with a unit {@code KiB}, {@code MiB}, {@code GiB} ({@code 4MiB});
 *   <li>durations: {@code 250ms}, {@code 10s}, {@code 2m}, {@code 1h}, or a bare number in the
 *       setting's own unit;
 *   <li>lists: a YAML/JSON list of values, or one text of comma-separated items.
 * </ul>
 *
 * @param name where the value came from and which setting it is: {@code PORT (server.port)},
 *             {@code --port (server.port)}, {@code server.port in tidings.yaml},
 *             {@code sink audit: batch in tidings.yaml}
 * @param node the value: a YAML/JSON node; environment variables and flags are text nodes
 */
public record ConfigValue(String name, JsonNode node) {
    private static final Pattern NUMBER_AND_UNIT = Pattern.compile("(-?[0-9]+(?:\\.[0-9]+)?)\\s*([A-Za-z]*)");

    /** A value given as text (an environment variable, a flag). */
    public static ConfigValue text(String name, String text) {
        return new ConfigValue(name, TextNode.valueOf(text));
    }

    /** The value as text; a list or map is refused. */
    public String text() {
        if (!node.isValueNode()) {
            throw new IllegalArgumentException(name + " must be a single value, not " + node);
        }
        return node.asText();
    }

    public boolean bool() {
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        return switch (text().strip().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw expected("true or false");
        };
    }

    public int intIn(int min, int max) {
        return (int) longIn(min, max);
    }

    public long longIn(long min, long max) {
        try {
            long n = Long.parseLong(text().strip());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw expected("a whole number from " + min + " to " + max);
    }

    /** A size in bytes: a whole number, or with a unit {@code KiB}, {@code MiB} or {@code GiB}. */
    public long bytes(long min, long max) {
        Matcher m = NUMBER_AND_UNIT.matcher(text().strip());
        String expected = "a size from " + min + " to " + max + " bytes (e.g. 65536, 64KiB, 4MiB)";
        if (!m.matches() || m.group(1).contains(".")) {
            throw expected(expected);
        }
        long unit = switch (m.group(2)) {
            case "", "B" -> 1;
            case "KiB" -> 1L << 10;
            case "MiB" -> 1L << 20;
            case "GiB" -> 1L << 30;
            default -> throw expected(expected);
        };
        try {
            long n = Math.multiplyExact(Long.parseLong(m.group(1)), unit);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (ArithmeticException | NumberFormatException e) {
            // reported below
        }
        throw expected(expected);
    }

    /** A duration: {@code 250ms}, {@code 10s}, {@code 2m}, {@code 1h}, or a bare number of {@code bareUnit}. */
    public Duration duration(ChronoUnit bareUnit) {
        Matcher m = NUMBER_AND_UNIT.matcher(text().strip().toLowerCase(Locale.ROOT));
        String expected = "a duration (e.g. 250ms, 10s, 2m, or a number of " + bareUnit.toString().toLowerCase(Locale.ROOT) + ")";
        if (!m.matches() || m.group(1).startsWith("-")) {
            throw expected(expected);
        }
        double n = Double.parseDouble(m.group(1));
        ChronoUnit unit = switch (m.group(2)) {
            case "" -> bareUnit;
            case "ms" -> ChronoUnit.MILLIS;
            case "s" -> ChronoUnit.SECONDS;
            case "m" -> ChronoUnit.MINUTES;
            case "h" -> ChronoUnit.HOURS;
            default -> throw expected(expected);
        };
        return Duration.ofNanos(Math.round(n * unit.getDuration().toNanos())).truncatedTo(ChronoUnit.MILLIS);
    }

    /** A list: a YAML/JSON list of values, or comma-separated text; items are stripped, empty ones dropped. */
    public List<String> list() {
        List<String> out = new ArrayList<>();
        if (node.isArray()) {
            for (JsonNode item : node) {
                out.add(new ConfigValue(name, item).text().strip());
            }
        } else {
            for (String item : text().split(",")) {
                out.add(item.strip());
            }
        }
        out.removeIf(String::isEmpty);
        return out;
    }

    /** An error saying what this setting must be. */
    public IllegalArgumentException expected(String what) {
        return new IllegalArgumentException(name + " must be " + what + ", not '" + (node.isValueNode() ? node.asText() : node) + "'");
    }
}
