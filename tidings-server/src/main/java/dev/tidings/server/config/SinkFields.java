package dev.tidings.server.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The keys of one sink's map as given, read through {@link ConfigValue} so that every error names
 * the sink, the key and where the list came from. Absent and {@code null} keys are the same.
 */
final class SinkFields {
    private final JsonNode map;
    private final String sink;
    private final String origin;

    /**
     * @param sink   {@code sink <name>}
     * @param origin where the list came from, e.g. {@code in tidings.yaml}
     */
    SinkFields(JsonNode map, String sink, String origin) {
        this.map = map;
        this.sink = sink;
        this.origin = origin;
    }

    String sink() {
        return sink;
    }

    String origin() {
        return origin;
    }

    boolean has(String key) {
        return get(key) != null;
    }

    /** The value of {@code key}, or null when absent. */
    ConfigValue get(String key) {
        JsonNode n = map.get(key);
        return n == null || n.isNull() ? null : new ConfigValue(sink + ": " + key + " " + origin, n);
    }

    String text(String key, String otherwise) {
        ConfigValue v = get(key);
        return v == null ? otherwise : v.text();
    }

    String required(String key) {
        ConfigValue v = get(key);
        if (v == null) {
            throw problem("'" + key + "' is required");
        }
        return v.text();
    }

    int intIn(String key, int otherwise, int min, int max) {
        ConfigValue v = get(key);
        return v == null ? otherwise : v.intIn(min, max);
    }

    long longIn(String key, long otherwise, long min, long max) {
        ConfigValue v = get(key);
        return v == null ? otherwise : v.longIn(min, max);
    }

    long bytes(String key, long otherwise) {
        ConfigValue v = get(key);
        return v == null ? otherwise : v.bytes(0, Long.MAX_VALUE);
    }

    /** A duration; a bare number is milliseconds. */
    Duration duration(String key, Duration otherwise) {
        ConfigValue v = get(key);
        return v == null ? otherwise : v.duration(ChronoUnit.MILLIS);
    }

    /** A map of text values (e.g. Kafka producer properties); empty when absent. */
    Map<String, String> textMap(String key) {
        ConfigValue v = get(key);
        Map<String, String> out = new LinkedHashMap<>();
        if (v == null) {
            return out;
        }
        if (!v.node().isObject()) {
            throw v.expected("a map of names to values");
        }
        v.node().properties().forEach(e -> out.put(e.getKey(), new ConfigValue(v.name(), e.getValue()).text()));
        return out;
    }

    /** An error about this sink as a whole. */
    IllegalArgumentException problem(String what) {
        return new IllegalArgumentException(sink + ": " + what + " (" + origin + ")");
    }
}
