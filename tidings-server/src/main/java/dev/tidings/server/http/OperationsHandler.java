package dev.tidings.server.http;

import dev.tidings.server.auth.Authenticator;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * {@code GET /health} (the process is up: always 200, with its role and whether it streams), {@code GET /ready} (200 when the replication
 * stream is open and no sink is failing, else 503 with the reason as JSON), {@code GET /api/status}
 * (JSON for the web console), {@code GET /metrics} (Prometheus text) and
 * {@code GET|HEAD /api/tenants/<tenant>/health}, Supabase Realtime's tenant health as the self-hosted
 * compose healthcheck calls it (any tenant name: Tidings serves one database; always 200, with
 * {@code healthy} telling whether it is ready).
 *
 * <p>With secure channels, {@code /api/status} and {@code /metrics} need a valid token, checked as
 * for the WebSocket ({@code apikey}/{@code token} parameter, {@code x-api-key} or
 * {@code Authorization: Bearer} header), unless {@code metrics.public} is set: lag, table names and
 * sink errors are not for anyone who can reach the port. The probes stay open: orchestrators call
 * them without tokens, and they tell only up/ready and a short reason.
 */
final class OperationsHandler extends Handler.Abstract {
    private final ServeState server;
    private final Authenticator auth;
    private final boolean open;

    OperationsHandler(ServeState server, Authenticator auth, boolean metricsPublic) {
        this.server = server;
        this.auth = auth;
        this.open = metricsPublic || !auth.secure();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String path = Request.getPathInContext(request);
        switch (path) {
            case "/health" -> write(response, callback, 200, "application/json", "{\"status\":\"ok\",\"role\":\""
                    + server.role() + "\",\"streaming\":" + server.streaming() + ",\"subscriptions\":" + server.fanOut().size() + "}");
            case "/ready" -> {
                String why = StatusReport.notReady(server);
                write(response, callback, why == null ? 200 : 503, "application/json", why == null
                        ? "{\"status\":\"ready\"}" : "{\"status\":\"not ready\",\"reason\":" + quote(why) + "}");
            }
            case "/api/status" -> {
                if (admitted(request, response, callback)) {
                    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
                    write(response, callback, 200, "application/json", StatusReport.status(server));
                }
            }
            case "/metrics" -> {
                if (admitted(request, response, callback)) {
                    write(response, callback, 200, "text/plain; version=0.0.4; charset=utf-8", server.metrics().scrape());
                }
            }
            default -> {
                if (!isTenantHealth(path)) {
                    return false;
                }
                boolean ready = StatusReport.notReady(server) == null;
                write(response, callback, 200, "application/json", "{\"data\":{\"healthy\":" + ready
                        + ",\"db_connected\":" + server.streaming() + ",\"replication_connected\":" + server.streaming()
                        + ",\"connected_cluster\":" + server.fanOut().size() + ",\"region\":null,\"node\":\"tidings\"}}");
            }
        }
        return true;
    }

    private static boolean isTenantHealth(String path) {
        String prefix = "/api/tenants/";
        String suffix = "/health";
        return path.startsWith(prefix) && path.endsWith(suffix) && path.length() > prefix.length() + suffix.length()
                && path.indexOf('/', prefix.length()) == path.length() - suffix.length();
    }

    private boolean admitted(Request request, Response response, Callback callback) {
        return admitted(auth, open, request, response, callback);
    }

    /**
     * Whether the request may read status or metrics: always when {@code open}, else with a valid
     * token; otherwise the refusal is written.
     */
    static boolean admitted(Authenticator auth, boolean open, Request request, Response response, Callback callback) {
        if (open) {
            return true;
        }
        Fields q = Request.extractQueryParameters(request);
        Authenticator.Admission a = auth.admit(q.getValue("apikey"), q.getValue("token"),
                request.getHeaders().get("x-api-key"), request.getHeaders().get(HttpHeader.AUTHORIZATION));
        if (a.admitted()) {
            return true;
        }
        write(response, callback, a.status(), "application/json", a.jsonBody());
        return false;
    }

    private static void write(Response response, Callback callback, int status, String type, String body) {
        write(response, callback, status, type, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void write(Response response, Callback callback, int status, String type, byte[] body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    private static String quote(String s) {
        return "\"" + new String(com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
    }
}
