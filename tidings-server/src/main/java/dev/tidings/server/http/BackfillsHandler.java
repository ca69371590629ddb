package dev.tidings.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.backfill.Backfiller;
import dev.tidings.base.Identifiers;
import dev.tidings.base.TableName;
import dev.tidings.source.SourceException;
import dev.tidings.server.auth.Authenticator;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code /api/backfills}: start, list and control the backfills of the server's slot.
 *
 * <pre>
 * GET  /api/backfills                         → [{"backfill":"bf-…","schema":…,"table":…,"state":…,"rows":…,…}]
 * POST /api/backfills {"tables":["public.orders"],"where":"…","sink":"billing"} → 201 {"id":"bf-…"}
 * POST /api/backfills/{id}/pause | /resume | /cancel  → 200, or 404 when nothing could change
 * </pre>
 *
 * With secure channels every call needs a token whose {@code role} claim is {@code service_role}
 * (as parameter {@code apikey}/{@code token}, {@code x-api-key} or {@code Authorization: Bearer}):
 * a backfill re-sends whole tables to consumers. Bad requests get 400 with the reason.
 */
final class BackfillsHandler extends Handler.Abstract {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PATH = "/api/backfills";

    private final Backfiller backfiller;
    private final Authenticator auth;

    BackfillsHandler(Backfiller backfiller, Authenticator auth) {
        this.backfiller = backfiller;
        this.auth = auth;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String path = Request.getPathInContext(request);
        if (!path.equals(PATH) && !path.startsWith(PATH + "/")) {
            return false;
        }
        if (!admitted(request, response, callback)) {
            return true;
        }
        String method = request.getMethod();
        if (path.equals(PATH) && method.equals("GET")) {
            write(response, callback, 200, JSON.writeValueAsString(progress(backfiller.progress())));
        } else if (path.equals(PATH) && method.equals("POST")) {
            start(request, response, callback);
        } else if (method.equals("POST") && path.split("/").length == 5) {
            String[] parts = path.split("/"); // "", api, backfills, id, action
            String action = parts[4];
            if (!List.of("pause", "resume", "cancel").contains(action)) {
                write(response, callback, 400, error("unknown action " + action + ": use pause, resume or cancel"));
            } else if (backfiller.control(parts[3], action)) {
                write(response, callback, 200, "{\"id\":" + JSON.writeValueAsString(parts[3]) + ",\"action\":\"" + action + "\"}");
            } else {
                write(response, callback, 404, error("no backfill " + parts[3] + " that can " + action));
            }
        } else {
            write(response, callback, 405, error("use GET or POST " + PATH + ", or POST " + PATH + "/{id}/pause|resume|cancel"));
        }
        return true;
    }

    private void start(Request request, Response response, Callback callback) throws Exception {
        JsonNode body;
        try {
            body = JSON.readTree(Content.Source.asString(request, StandardCharsets.UTF_8));
        } catch (Exception e) {
            write(response, callback, 400, error("the body must be JSON: {\"tables\":[\"schema.table\"], \"where\": \"…\", "
                    + "\"sink\": \"name\"}"));
            return;
        }
        if (body == null || !body.path("tables").isArray() || body.path("tables").isEmpty()) {
            write(response, callback, 400, error("give \"tables\": a non-empty list of schema.table"));
            return;
        }
        try {
            List<TableName> tables = new ArrayList<>();
            for (JsonNode t : body.get("tables")) {
                tables.add(Identifiers.parseTable(t.asText()));
            }
            String where = body.hasNonNull("where") ? body.get("where").asText() : null;
            String sink = body.hasNonNull("sink") ? body.get("sink").asText() : "";
            String id = backfiller.submit(tables, where, sink);
            write(response, callback, 201, "{\"id\":" + JSON.writeValueAsString(id) + "}");
        } catch (SourceException | IllegalArgumentException e) {
            write(response, callback, 400, error(e.getMessage()));
        }
    }

    /** The backfills as JSON-ready maps, for this API and {@code /api/status}. */
    static List<Map<String, Object>> progress(List<Backfiller.Progress> all) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Backfiller.Progress p : all) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("backfill", p.backfill());
            m.put("schema", p.table().schema());
            m.put("table", p.table().table());
            m.put("consumer", p.consumer());
            m.put("state", p.state());
            m.put("rows", p.rows());
            m.put("chunks", p.chunks());
            m.put("rows_per_second", Math.round(p.rowsPerSecond() * 10) / 10.0);
            m.put("estimated_rows", p.estimatedRows() < 0 ? null : p.estimatedRows());
            m.put("seconds_left", p.secondsLeft() < 0 ? null : Math.round(p.secondsLeft() * 10) / 10.0);
            out.add(m);
        }
        return out;
    }

    private boolean admitted(Request request, Response response, Callback callback) throws Exception {
        if (!auth.secure()) {
            return true;
        }
        Fields q = Request.extractQueryParameters(request);
        Authenticator.Admission a = auth.admit(q.getValue("apikey"), q.getValue("token"),
                request.getHeaders().get("x-api-key"), request.getHeaders().get(HttpHeader.AUTHORIZATION));
        if (!a.admitted()) {
            write(response, callback, a.status(), error(a.reason()));
            return false;
        }
        String role = a.access().token() == null ? null : a.access().token().role();
        if (!"service_role".equals(role)) {
            write(response, callback, 403, error("backfills need a service_role token (this token's role is " + role + ")"));
            return false;
        }
        return true;
    }

    private static String error(String message) throws Exception {
        return "{\"error\":" + JSON.writeValueAsString(message) + "}";
    }

    private static void write(Response response, Callback callback, int status, String body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
    }
}
