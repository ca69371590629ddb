package dev.tidings.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidings.server.auth.Authenticator;
import dev.tidings.server.config.ConfigValue;
import dev.tidings.server.consumers.Groups;
import dev.tidings.server.consumers.Delivery;
import dev.tidings.server.consumers.GroupSpec;
import dev.tidings.server.consumers.GroupStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;

/**
 * {@code /api/consumers}: consumer groups over HTTP, pull with acknowledgements (docs/consumers.md).
 *
 * <pre>
 * POST   /api/consumers {"name":"billing","tables":["public.orders"],…}  → 201 (200: exists as given)
 * GET    /api/consumers | /api/consumers/{group}                          → the groups' definitions and state
 * DELETE /api/consumers/{group}
 * POST   /api/consumers/{group}/receive?max=100&amp;wait=10s  → {"events":[{"ack_id":"0/1A2B3C4:0@1","delivery":1,"event":{…}}]}
 *                                                        409 {"error":…,"reset":true,"oldest":…} when behind the retention
 * POST   /api/consumers/{group}/ack   {"ids":["0/1A2B3C4:0@1",…]}        → {"acked":n,"refused":[…]} once durable
 * POST   /api/consumers/{group}/nack  {"ids":[…],"delay":"5s"}          → {"nacked":n,"refused":[…]}
 * POST   /api/consumers/{group}/reset {"to":"oldest"|"latest"}
 * </pre>
 *
 * Service-role tokens only ({@link AdminApi}). A long poll does not hold a server thread: the
 * answer is written when the group's future completes.
 */
final class ConsumersHandler extends Handler.Abstract {
    private static final String PATH = "/api/consumers";
    private static final int MAX_RECEIVE = 1_000;
    private static final Duration MAX_WAIT = Duration.ofSeconds(60);

    private final Groups groups;
    private final String absent;
    private final Authenticator auth;

    /** @param groups null when this server has none: every call then answers 404 with {@code absent}, what to do */
    ConsumersHandler(Groups groups, String absent, Authenticator auth) {
        this.groups = groups;
        this.absent = absent;
        this.auth = auth;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String path = Request.getPathInContext(request);
        if (!path.equals(PATH) && !path.startsWith(PATH + "/")) {
            return false;
        }
        if (!AdminApi.admitted(auth, "consumer groups need", request, response, callback)) {
            return true;
        }
        if (groups == null) {
            AdminApi.write(response, callback, 404, AdminApi.error(absent));
            return true;
        }
        String[] parts = path.split("/"); // "", api, consumers, group, action
        String method = request.getMethod();
        String content = AdminApi.body(request);
        try {
            if (parts.length == 3 && method.equals("GET")) {
                ArrayNode all = AdminApi.JSON.createArrayNode();
                groups.list().forEach(s -> all.add(json(s)));
                AdminApi.write(response, callback, 200, all.toString());
            } else if (parts.length == 3 && method.equals("POST")) {
                create(content, response, callback);
            } else if (parts.length == 4 && method.equals("GET")) {
                AdminApi.write(response, callback, 200, json(groups.status(parts[3])).toString());
            } else if (parts.length == 4 && method.equals("DELETE")) {
                groups.delete(parts[3]);
                AdminApi.write(response, callback, 200, "{\"deleted\":" + AdminApi.JSON.writeValueAsString(parts[3]) + "}");
            } else if (parts.length == 5 && method.equals("POST")) {
                action(parts[3], parts[4], content, request, response, callback);
            } else {
                AdminApi.write(response, callback, 405, AdminApi.error("use GET or POST " + PATH + ", GET or DELETE " + PATH
                        + "/{group}, or POST " + PATH + "/{group}/receive|ack|nack|reset"));
            }
        } catch (Groups.UnknownGroup e) {
            AdminApi.write(response, callback, 404, AdminApi.error(e.getMessage()));
        } catch (Groups.Unavailable e) {
            AdminApi.write(response, callback, 503, AdminApi.error(e.getMessage()));
        } catch (IllegalArgumentException e) {
            AdminApi.write(response, callback, 400, AdminApi.error(e.getMessage()));
        } catch (IllegalStateException e) {
            AdminApi.write(response, callback, 409, AdminApi.error(e.getMessage()));
        }
        return true;
    }

    private void create(String content, Response response, Callback callback) {
        JsonNode body = body(content);
        GroupSpec spec = GroupSpec.parse(body);
        String start = body.path("start").asText("latest");
        if (!start.equals("latest") && !start.equals("oldest")) {
            throw new IllegalArgumentException("\"start\" must be \"latest\" (events from now on, the default) or \"oldest\" "
                    + "(from the oldest event the change log holds), not \"" + start + "\"");
        }
        boolean created = groups.create(spec, start.equals("oldest"));
        AdminApi.write(response, callback, created ? 201 : 200, json(groups.status(spec.name())).toString());
    }

    private void action(String group, String action, String content, Request request, Response response, Callback callback) {
        switch (action) {
            case "receive" -> receive(group, request, response, callback);
            case "ack" -> {
                List<String> ids = ids(body(content));
                groups.ack(group, ids).whenComplete((answer, failure) -> {
                    if (failure != null) {
                        AdminApi.write(response, callback, 503, AdminApi.error("the acknowledgements could not be made durable: "
                                + failure.getMessage() + "; send them again"));
                    } else {
                        AdminApi.write(response, callback, 200, answer("acked", answer));
                    }
                });
            }
            case "nack" -> {
                JsonNode body = body(content);
                Duration delay = body.hasNonNull("delay")
                        ? ConfigValue.text("delay", body.get("delay").asText()).duration(ChronoUnit.SECONDS) : Duration.ZERO;
                AdminApi.write(response, callback, 200, answer("nacked", groups.nack(group, ids(body), delay)));
            }
            case "reset" -> {
                String to = body(content).path("to").asText("oldest");
                if (!to.equals("oldest") && !to.equals("latest")) {
                    throw new IllegalArgumentException("\"to\" must be \"oldest\" (the oldest event the change log holds, the "
                            + "default) or \"latest\" (skip to new events), not \"" + to + "\"");
                }
                groups.reset(group, to.equals("latest"));
                AdminApi.write(response, callback, 200, json(groups.status(group)).toString());
            }
            default -> throw new IllegalArgumentException("unknown action " + action + ": use receive, ack, nack or reset");
        }
    }

    private void receive(String group, Request request, Response response, Callback callback) {
        Fields q = Request.extractQueryParameters(request);
        int max;
        try {
            max = q.getValue("max") == null ? 100 : Integer.parseInt(q.getValue("max"));
        } catch (NumberFormatException e) {
            max = -1;
        }
        if (max < 1 || max > MAX_RECEIVE) {
            throw new IllegalArgumentException("max must be a whole number from 1 to " + MAX_RECEIVE + ", not " + q.getValue("max"));
        }
        Duration wait = q.getValue("wait") == null ? Duration.ZERO
                : ConfigValue.text("wait", q.getValue("wait")).duration(ChronoUnit.SECONDS);
        if (wait.compareTo(MAX_WAIT) > 0) {
            throw new IllegalArgumentException("wait must be at most 60s, not " + q.getValue("wait"));
        }
        groups.receive(group, max, wait).whenComplete((receipt, failure) -> {
            Throwable cause = failure instanceof CompletionException c ? c.getCause() : failure;
            if (cause instanceof Groups.UnknownGroup) {
                AdminApi.write(response, callback, 404, AdminApi.error(cause.getMessage()));
            } else if (cause != null) {
                AdminApi.write(response, callback, 503, AdminApi.error("the group's state could not be made durable: "
                        + cause.getMessage() + "; receive again (the events come back after the visibility timeout)"));
            } else if (receipt instanceof Groups.Receipt.Reset(var oldest)) {
                ObjectNode o = AdminApi.JSON.createObjectNode();
                o.put("error", "the change log no longer holds the events after this group's position (retention): "
                        + "POST " + PATH + "/" + group + "/reset {\"to\":\"oldest\"} and refetch what was missed");
                o.put("reset", true);
                o.put("oldest", oldest == null ? null : oldest.toString());
                AdminApi.write(response, callback, 409, o.toString());
            } else if (receipt instanceof Groups.Receipt.Events events) {
                AdminApi.write(response, callback, 200, events(events));
            }
        });
    }

    /** {@code {"events":[{"ack_id":…,"delivery":n,"event":<the event in the group's format>}]}}, events serialized once. */
    private static byte[] events(Groups.Receipt.Events events) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + events.deliveries().size() * 512);
        out.writeBytes("{\"events\":[".getBytes(StandardCharsets.US_ASCII));
        boolean first = true;
        for (Delivery d : events.deliveries()) {
            out.writeBytes(((first ? "" : ",") + "{\"ack_id\":\"" + d.ackId() + "\",\"delivery\":" + d.delivery() + ",\"event\":")
                    .getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(events.format().toBytes(d.event()));
            out.write('}');
            first = false;
        }
        out.writeBytes("]}".getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    private static String answer(String verb, Groups.Answer a) {
        ObjectNode o = AdminApi.JSON.createObjectNode();
        o.put(verb, a.done());
        a.refused().forEach(o.putArray("refused")::add);
        if (a.refused().isEmpty()) {
            o.putArray("refused");
        }
        return o.toString();
    }

    private static JsonNode body(String content) {
        try {
            JsonNode body = AdminApi.JSON.readTree(content);
            return body == null ? AdminApi.JSON.createObjectNode() : body;
        } catch (Exception e) {
            throw new IllegalArgumentException("the body must be JSON: " + e.getMessage());
        }
    }

    private static List<String> ids(JsonNode body) {
        JsonNode ids = body.path("ids");
        if (!ids.isArray() || ids.isEmpty()) {
            throw new IllegalArgumentException("give \"ids\": a non-empty list of the \"ack_id\"s of received events");
        }
        List<String> out = new ArrayList<>(ids.size());
        ids.forEach(id -> out.add(id.asText()));
        return out;
    }

    private static ObjectNode json(GroupStatus s) {
        ObjectNode o = s.spec().json();
        o.put("pending", s.pending());
        o.put("in_flight", s.inFlight());
        o.put("acked", s.acked());
        o.put("position", s.cursor() == null ? null : s.cursor().toString());
        o.put("behind_retention", s.behind());
        o.put("lag_seconds", s.lagSeconds());
        return o;
    }
}
