package dev.tidings.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.auth.Authenticator;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * What the service APIs ({@code /api/backfills}, {@code /api/consumers}) share: with secure
 * channels every call needs a token whose {@code role} claim is {@code service_role} (as parameter
 * {@code apikey}/{@code token}, {@code x-api-key} or {@code Authorization: Bearer}), and answers
 * are JSON, errors {@code {"error": "…"}}.
 */
final class AdminApi {
    static final ObjectMapper JSON = new ObjectMapper();

    private AdminApi() {}

    /** True when the request may go on; otherwise the refusal (401/403) was written. {@code what}: "backfills need". */
    static boolean admitted(Authenticator auth, String what, Request request, Response response, Callback callback) {
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
            write(response, callback, 403, error(what + " a service_role token (this token's role is " + role + ")"));
            return false;
        }
        return true;
    }

    /**
     * The request's whole body as text ("" for GET). Handlers read it before they answer: a reply
     * sent while the body is still arriving makes Jetty close the connection after it, and a client
     * that reuses the connection gets no answer to its next request.
     */
    static String body(Request request) throws IOException {
        return request.getMethod().equals("GET") ? "" : Content.Source.asString(request, StandardCharsets.UTF_8);
    }

    static String error(String message) {
        try {
            return "{\"error\":" + JSON.writeValueAsString(message) + "}";
        } catch (JsonProcessingException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    static void write(Response response, Callback callback, int status, String body) {
        write(response, callback, status, body.getBytes(StandardCharsets.UTF_8));
    }

    static void write(Response response, Callback callback, int status, byte[] body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        response.write(true, ByteBuffer.wrap(body), callback);
    }
}
