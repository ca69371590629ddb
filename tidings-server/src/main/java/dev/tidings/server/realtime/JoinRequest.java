package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidings.server.auth.AccessPolicy;
import dev.tidings.server.live.ColumnType;
import dev.tidings.server.live.Filter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A {@code phx_join} read: a legacy topic ({@code realtime:schema:table:filter}, one implied
 * binding) or a {@code postgres_changes} config (a list of bindings), the token it carries, and
 * the bindings echoed back with their ids as the ok reply's {@code postgres_changes}.
 *
 * <p>As in Supabase Realtime, bindings that cannot be subscribed (a filter that does not parse, an
 * unknown table or column, a value the column's type refuses) do not fail the join: the channel
 * joins, {@code problem} says why, the client gets it as a {@code postgres_changes} system error,
 * and no change is subscribed (a client that rejoined on the error would fail the same way forever).
 *
 * @param legacy   true for a topic-only join (0.x and 1.x clients)
 * @param bindings what the channel subscribes to; empty when there is a problem
 * @param echo     the reply's {@code postgres_changes}
 * @param problem  why the bindings cannot be subscribed, in Realtime's words, or null
 */
record JoinRequest(boolean legacy, List<Binding> bindings, ArrayNode echo, String problem) {

    static JoinRequest parse(String topic, JsonNode payload) {
        JsonNode config = payload.get("config");
        boolean legacy = config == null || !config.isObject();
        List<Binding> bindings = new ArrayList<>();
        ArrayNode echo = PhoenixFrame.mapper().createArrayNode();
        String problem = null;
        if (legacy) {
            String[] parts = topic.substring(SystemMessages.PREFIX.length()).split(":", 3);
            ObjectNode e = echo.addObject();
            try {
                Binding b = Binding.of("*", parts[0], parts.length > 1 ? parts[1] : null, parts.length > 2 ? parts[2] : null, null);
                bindings.add(b);
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
            } catch (IllegalArgumentException ex) {
                problem = ex.getMessage();
            }
        } else {
            JsonNode pg = config.get("postgres_changes");
            if (pg != null && !pg.isNull() && !pg.isArray()) {
                problem = "config.postgres_changes must be a list of {event, schema, table, filter}";
            }
            for (JsonNode spec : pg == null || !pg.isArray() ? List.<JsonNode>of() : iterable(pg)) {
                ObjectNode e = spec.isObject() ? spec.deepCopy() : echo.objectNode();
                echo.add(e);
                try {
                    if (!spec.isObject()) {
                        throw new IllegalArgumentException("each postgres_changes binding must be an object {event, schema, table, filter}");
                    }
                    Binding b = Binding.of(text(spec.get("event")), text(spec.get("schema")), text(spec.get("table")),
                            spec.has("filter") && spec.get("filter").isTextual() ? spec.get("filter").asText() : null,
                            select(spec.get("select")));
                    bindings.add(b);
                    e.put("id", b.id());
                } catch (IllegalArgumentException ex) {
                    problem = problem == null ? ex.getMessage() : problem;
                }
            }
        }
        return problem != null ? new JoinRequest(legacy, List.of(), echo, problem)
                : new JoinRequest(legacy, List.copyOf(bindings), echo, null);
    }

    /** {@code select}: a list of column names (other elements ignored, as Realtime does); null when absent. */
    private static List<String> select(JsonNode select) {
        if (select == null || select.isNull()) {
            return null;
        }
        if (!select.isArray()) {
            throw new IllegalArgumentException("Error parsing `select` params: expected a list of column name strings,"
                    + " e.g. select: [\"col1\", \"col2\"]");
        }
        List<String> columns = new ArrayList<>();
        select.forEach(c -> {
            if (c.isTextual()) {
                columns.add(c.asText());
            }
        });
        return columns.isEmpty() ? null : columns;
    }

    /** The token of a join payload ({@code access_token}, else {@code user_token}), or null. */
    static String token(JsonNode payload) {
        String raw = text(payload.get("access_token"));
        return raw != null ? raw : text(payload.get("user_token"));
    }

    /**
     * This join with each filter bound to its table ({@link Filter#resolve}), or with the problem
     * that prevents it; unchanged when {@code catalog} is null or cannot be asked.
     */
    JoinRequest resolve(TableCatalog catalog) {
        if (catalog == null || problem != null) {
            return this;
        }
        List<Binding> resolved = new ArrayList<>(bindings.size());
        for (Binding b : bindings) {
            if (b.table() == null) {
                resolved.add(b);
                continue;
            }
            Map<String, ColumnType> columns = catalog.columns(b.schema(), b.table());
            if (columns == null) {
                resolved.add(b);
                continue;
            }
            if (columns.isEmpty()) {
                return withProblem("Unable to subscribe to changes with given parameters. Please check Realtime is enabled"
                        + " for the given connect parameters: [" + describe(b) + "]");
            }
            try {
                for (String column : b.select() == null ? List.<String>of() : b.select()) {
                    if (!columns.containsKey(column)) {
                        throw new IllegalArgumentException("invalid column for select " + column);
                    }
                }
                resolved.add(b.withFilter(b.filter().resolve(columns, catalog.conditions())));
            } catch (IllegalArgumentException e) {
                return withProblem("Unable to subscribe to changes with given parameters. An exception happened so please"
                        + " check your connect parameters: [" + describe(b) + "]. Exception: " + e.getMessage());
            } catch (IllegalStateException e) {
                resolved.add(b); // the database cannot be asked now: filter as the changes' types say
            }
        }
        return new JoinRequest(legacy, List.copyOf(resolved), echo, null);
    }

    private JoinRequest withProblem(String why) {
        return new JoinRequest(legacy, List.of(), echo, why);
    }

    /** A binding as Realtime lists subscription parameters in its errors. */
    private static String describe(Binding b) {
        return "event: " + b.event() + ", schema: " + (b.schema() == null ? "*" : b.schema()) + ", table: "
                + (b.table() == null ? "*" : b.table()) + ", filters: [" + b.filter() + "], select: "
                + (b.select() == null ? "nil" : b.select());
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
