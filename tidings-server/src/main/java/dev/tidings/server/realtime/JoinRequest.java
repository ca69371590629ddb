package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidings.server.auth.AccessPolicy;
import dev.tidings.server.live.Filter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A {@code phx_join} read: a legacy topic ({@code realtime:schema:table:filter}, one implied
 * binding) or a {@code postgres_changes} config (a list of bindings), the token it carries, and
 * the bindings echoed back with their ids as the ok reply's {@code postgres_changes}.
 *
 * @param legacy   true for a topic-only join (0.x and 1.x clients)
 * @param bindings what the channel subscribes to
 * @param echo     the reply's {@code postgres_changes}
 */
record JoinRequest(boolean legacy, List<Binding> bindings, ArrayNode echo) {

    /** @throws IllegalArgumentException with the reason the join is refused */
    static JoinRequest parse(String topic, JsonNode payload) {
        JsonNode config = payload.get("config");
        boolean legacy = config == null || !config.isObject();
        List<Binding> bindings = new ArrayList<>();
        ArrayNode echo = PhoenixFrame.mapper().createArrayNode();
        if (legacy) {
            String[] parts = topic.substring(SystemMessages.PREFIX.length()).split(":", 3);
            Binding b = Binding.of("*", parts[0], parts.length > 1 ? parts[1] : null, parts.length > 2 ? parts[2] : null);
            bindings.add(b);
            ObjectNode e = echo.addObject();
            if (b.schema() != null) {
                e.put("schema", b.schema());
            }
            if (b.table() != null) {
                e.put("table", b.table());
            }
            if (!b.filter().isEmpty()) {
                e.put("filter", b.filter().toString());
            }
            e.put("id", b.id());
        } else {
            JsonNode pg = config.get("postgres_changes");
            if (pg != null && !pg.isNull() && !pg.isArray()) {
                throw new IllegalArgumentException("config.postgres_changes must be a list of {event, schema, table, filter}");
            }
            for (JsonNode spec : pg == null || pg.isNull() ? List.<JsonNode>of() : iterable(pg)) {
                if (!spec.isObject()) {
                    throw new IllegalArgumentException("each postgres_changes binding must be an object {event, schema, table, filter}");
                }
                Binding b = Binding.of(text(spec.get("event")), text(spec.get("schema")), text(spec.get("table")),
                        text(spec.get("filter")));
                bindings.add(b);
                ObjectNode e = spec.deepCopy();
                e.put("id", b.id());
                echo.add(e);
            }
        }
        return new JoinRequest(legacy, List.copyOf(bindings), echo);
    }

    /** The token of a join payload ({@code access_token}, else {@code user_token}), or null. */
    static String token(JsonNode payload) {
        String raw = text(payload.get("access_token"));
        return raw != null ? raw : text(payload.get("user_token"));
    }

    /**
     * Refuses a binding the grant does not allow, or whose filter cannot apply to its table
     * ({@code catalog} null: filters are not checked against columns).
     *
     * @throws IllegalArgumentException with the reason
     */
    void check(AccessPolicy.Grant grant, TableCatalog catalog) {
        for (Binding b : bindings) {
            String refusal = grant.refusal(b.schema(), b.table());
            if (refusal != null) {
                throw new IllegalArgumentException(refusal);
            }
            if (b.table() != null && catalog != null) {
                checkColumns(b, catalog);
            }
        }
    }

    private static void checkColumns(Binding b, TableCatalog catalog) {
        Map<String, String> columns = catalog.columns(b.schema(), b.table());
        if (columns == null) {
            return;
        }
        if (columns.isEmpty()) {
            throw new IllegalArgumentException("table " + b.schema() + "." + b.table() + " does not exist");
        }
        for (Filter.Condition c : b.filter().conditions()) {
            String type = columns.get(c.column());
            if (type == null) {
                throw new IllegalArgumentException("invalid filter '" + b.filter() + "': column '" + c.column()
                        + "' does not exist in " + b.schema() + "." + b.table());
            }
            String problem = c.checkAgainst(type);
            if (problem != null) {
                throw new IllegalArgumentException("invalid filter '" + b.filter() + "': " + problem);
            }
        }
    }

    /** The first binding the grant does not allow, as the reason; null when it allows them all. */
    static String refusal(List<Binding> bindings, AccessPolicy.Grant grant) {
        for (Binding b : bindings) {
            String refusal = grant.refusal(b.schema(), b.table());
            if (refusal != null) {
                return refusal;
            }
        }
        return null;
    }

    static String text(JsonNode n) {
        return n != null && n.isTextual() && !n.asText().isEmpty() ? n.asText() : null;
    }

    private static Iterable<JsonNode> iterable(JsonNode array) {
        List<JsonNode> out = new ArrayList<>();
        array.forEach(out::add);
        return out;
    }
}
