package dev.tidings.server.consumers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidings.base.Identifiers;
import dev.tidings.base.TableFilter;
import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.server.config.ConfigValue;
import dev.tidings.server.live.Filter;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * What a consumer group reads and how: its definition, as given to {@code POST /api/consumers}
 * and as persisted with the change log (the same JSON).
 *
 * @param name              [A-Za-z0-9_-], 1 to 64 characters
 * @param tables            the tables it reads (empty: every table of the stream)
 * @param filter            a Realtime filter on the rows ({@code status=eq.paid}), or empty
 * @param durable           whether the slot's confirmation waits for its acknowledgements
 * @param visibilityTimeout how long a received event stays with its worker before it is handed out again
 * @param maxAckPending     the most events the group holds read but not acknowledged (≤ {@link #MAX_ACK_PENDING})
 * @param format            the event format of {@code receive}
 */
public record GroupSpec(String name, List<TableName> tables, String filter, boolean durable, Duration visibilityTimeout,
                        int maxAckPending, String format) {
    public static final int MAX_ACK_PENDING = 10_000;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Set<String> FIELDS = Set.of("name", "tables", "filter", "durable", "visibility_timeout",
            "max_ack_pending", "format", "start");
    private static final Duration MAX_VISIBILITY = Duration.ofHours(12);

    /**
     * Reads a definition; fails with what is wrong and how to write it. Also accepts {@code start}
     * (read by {@link ConsumerGroups#create}).
     */
    public static GroupSpec parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new IllegalArgumentException("the body must be a JSON object: {\"name\": \"billing\", \"tables\": "
                    + "[\"public.orders\"], \"filter\": \"status=eq.paid\", \"durable\": false, \"visibility_timeout\": \"30s\", "
                    + "\"max_ack_pending\": 1000}");
        }
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!FIELDS.contains(field)) {
                throw new IllegalArgumentException("unknown field \"" + field + "\"; a consumer group has: name, tables, filter, "
                        + "durable, visibility_timeout, max_ack_pending, format, start");
            }
        }
        String name = body.path("name").asText("");
        if (!body.path("name").isTextual() || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("give \"name\": 1 to 64 letters, digits, '_' or '-' (it is part of the "
                    + "group's URL), not " + body.path("name"));
        }
        List<TableName> tables = new ArrayList<>();
        JsonNode t = body.path("tables");
        if (!t.isMissingNode() && !t.isNull()) {
            if (!t.isArray()) {
                throw new IllegalArgumentException("\"tables\" must be a list of schema.table, e.g. [\"public.orders\"]");
            }
            for (JsonNode table : t) {
                tables.add(Identifiers.parseTable(table.asText()));
            }
        }
        String filter = body.path("filter").isNull() ? "" : body.path("filter").asText("");
        Filter.parse(filter); // fails with the Realtime wording
        boolean durable = body.path("durable").asBoolean(false);
        if (!body.path("durable").isMissingNode() && !body.path("durable").isBoolean()) {
            throw new IllegalArgumentException("\"durable\" must be true or false");
        }
        Duration visibility = body.hasNonNull("visibility_timeout")
                ? ConfigValue.text("visibility_timeout", body.get("visibility_timeout").asText()).duration(ChronoUnit.SECONDS)
                : Duration.ofSeconds(30);
        if (visibility.toMillis() < 100 || visibility.compareTo(MAX_VISIBILITY) > 0) {
            throw new IllegalArgumentException("visibility_timeout must be between 100ms and 12h, not " + visibility);
        }
        JsonNode max = body.path("max_ack_pending");
        int maxAckPending = 1000;
        if (!max.isMissingNode()) {
            if (!max.canConvertToInt() || !max.isIntegralNumber() || max.asInt() < 1 || max.asInt() > MAX_ACK_PENDING) {
                throw new IllegalArgumentException("max_ack_pending must be a whole number from 1 to " + MAX_ACK_PENDING
                        + ", not " + max);
            }
            maxAckPending = max.asInt();
        }
        String format = body.path("format").asText("tidings");
        EventFormat.named(format);
        return new GroupSpec(name, List.copyOf(tables), filter, durable, visibility, maxAckPending, format);
    }

    /** Which events the group reads: of its tables, and matching its filter. */
    public Predicate<ChangeEvent> selection() {
        TableFilter t = TableFilter.of(tables);
        Filter f = Filter.parse(filter);
        return event -> t.matches(event.schema(), event.table()) && f.matches(event);
    }

    /** Parses what {@link #json} wrote. */
    public static GroupSpec parse(String json) {
        try {
            return parse(JSON.readTree(json));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("a damaged consumer group definition in the change log: " + json, e);
        }
    }

    /** The definition as JSON, the way {@code GET /api/consumers} shows it. */
    public ObjectNode json() {
        ObjectNode o = JSON.createObjectNode();
        o.put("name", name);
        ArrayNode names = o.putArray("tables");
        tables.forEach(t -> names.add(t.toString()));
        o.put("filter", filter);
        o.put("durable", durable);
        o.put("visibility_timeout", visibilityTimeout.toMillis() + "ms");
        o.put("max_ack_pending", maxAckPending);
        o.put("format", format);
        return o;
    }
}
