package dev.tidings.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.backfill.Backfiller;
import dev.tidings.base.Identifiers;
import dev.tidings.base.TableName;
import dev.tidings.source.SourceException;
import dev.tidings.server.auth.Authenticator;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

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
 * Service-role tokens only ({@link AdminApi}): a backfill re-sends whole tables to consumers. Bad
 * requests get 400 with the reason.
 */
final class BackfillsHandler extends Handler.Abstract {
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
        if (!AdminApi.admitted(auth, "backfills need", request, response, callback)) {
            return true;
        }
        String method = request.getMethod();
        String content = AdminApi.body(request);
        if (path.equals(PATH) && method.equals("GET")) {
            AdminApi.write(response, callback, 200, AdminApi.JSON.writeValueAsString(progress(backfiller.progress())));
        } else if (path.equals(PATH) && method.equals("POST")) {
            start(content, response, callback);
        } else if (method.equals("POST") && path.split("/").length == 5) {
            String[] parts = path.split("/"); // "", api, backfills, id, action
            String action = parts[4];
            if (!List.of("pause", "resume", "cancel").contains(action)) {
                AdminApi.write(response, callback, 400, AdminApi.error("unknown action " + action + ": use pause, resume or cancel"));
            } else if (backfiller.control(parts[3], action)) {
                AdminApi.write(response, callback, 200, "{\"id\":" + AdminApi.JSON.writeValueAsString(parts[3]) + ",\"action\":\"" + action + "\"}");
            } else {
                AdminApi.write(response, callback, 404, AdminApi.error("no backfill " + parts[3] + " that can " + action));
            }
        } else {
            AdminApi.write(response, callback, 405, AdminApi.error("use GET or POST " + PATH + ", or POST " + PATH + "/{id}/pause|resume|cancel"));
        }
        return true;
    }

    private void start(String content, Response response, Callback callback) throws Exception {
        JsonNode body;
        try {
            body = AdminApi.JSON.readTree(content);
        } catch (Exception e) {
            AdminApi.write(response, callback, 400, AdminApi.error("the body must be JSON: {\"tables\":[\"schema.table\"], \"where\": \"…\", "
                    + "\"sink\": \"name\"}"));
            return;
        }
        if (body == null || !body.path("tables").isArray() || body.path("tables").isEmpty()) {
            AdminApi.write(response, callback, 400, AdminApi.error("give \"tables\": a non-empty list of schema.table"));
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
            AdminApi.write(response, callback, 201, "{\"id\":" + AdminApi.JSON.writeValueAsString(id) + "}");
        } catch (SourceException | IllegalArgumentException e) {
            AdminApi.write(response, callback, 400, AdminApi.error(e.getMessage()));
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

}
