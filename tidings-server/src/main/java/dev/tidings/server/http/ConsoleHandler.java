package dev.tidings.server.http;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The web console: {@code GET /} and {@code /console/*}, served from the jar (no CDN, works with
 * no internet). The page itself reads {@code /events} (SSE) and {@code /api/status}, so it sees
 * exactly what any client may see; it changes nothing. Files are read once and kept in memory.
 */
public final class ConsoleHandler extends Handler.Abstract.NonBlocking {
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8");
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        String path = Request.getPathInContext(request);
        String file = path.equals("/") || path.equals("/console") || path.equals("/console/") ? "index.html"
                : path.startsWith("/console/") ? path.substring("/console/".length()) : null;
        if (file == null || !"GET".equals(request.getMethod()) && !"HEAD".equals(request.getMethod())) {
            return false;
        }
        byte[] body = file.matches("[a-z]+\\.(html|js|css)") ? files.computeIfAbsent(file, ConsoleHandler::load) : null;
        if (body == null || body.length == 0) {
            return false;
        }
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, TYPES.get(file.substring(file.lastIndexOf('.') + 1)));
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }

    private static byte[] load(String file) {
        try (InputStream in = ConsoleHandler.class.getResourceAsStream("/console/" + file)) {
            return in == null ? new byte[0] : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
