package dev.tidings.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.broadcast.BroadcastMessage;
import dev.tidings.server.broadcast.BroadcastService;
import dev.tidings.server.auth.Authenticator;
import dev.tidings.server.auth.ChannelAuthorization;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Broadcast over REST, as the Realtime server's API, under {@code /api/broadcast} and
 * {@code /realtime/v1/api/broadcast} (where realtime-js derives it from the socket URL):
 *
 * <ul>
 *   <li>{@code POST …/api/broadcast} with {@code {"messages": [{topic, event, payload, private}]}}:
 *       each message to its topic as the JSON broadcast {@code {event, payload, type}};
 *   <li>{@code POST …/api/broadcast/{topic}/events/{event}} (realtime-js {@code httpSend}): the body,
 *       JSON or {@code application/octet-stream}, as a user broadcast.
 * </ul>
 *
 * Both answer 202 once the messages are queued to the members on this server. The token is checked
 * as for the WebSocket ({@code Authorization: Bearer}, {@code apikey} header or parameter) when
 * channels are secured. A message for a private channel ({@code "private": true}, or
 * {@code ?private=true} on the per-topic form) is sent only when the policies on
 * {@code realtime.messages} let the token's role INSERT a broadcast row of that topic
 * ({@link ChannelAuthorization}), as Supabase does: otherwise the batch form leaves it out (still
 * 202) and the per-topic form answers 403 {@code Unauthorized}. A bad request gets
 * 422 and says which field is wrong; nothing of a batch is sent unless all of it is valid. Over the
 * server's broadcast rate ({@code limits.server_events_per_second}), 429.
 */
final class BroadcastEndpoint extends Handler.Abstract {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern PATH = Pattern.compile("(?:/realtime/v1)?/api/broadcast(?:/([^/]+)/events/([^/]+))?/?");
    /** 255 bytes in the binary frame, less the {@code realtime:} prefix the frame's topic carries. */
    private static final int MAX_TOPIC_BYTES = 255 - "realtime:".length();

    private final Authenticator auth;
    private final BroadcastService broadcasts;
    private final ChannelAuthorization channels;

    /** @param channels authorizes messages to private channels; null when the server reads no database */
    BroadcastEndpoint(Authenticator auth, BroadcastService broadcasts, ChannelAuthorization channels) {
        this.auth = auth;
        this.broadcasts = broadcasts;
        this.channels = channels;
    }

    /** A request this endpoint refuses: the status and the message for {@code {"error": …}}. */
    private static final class Refused extends Exception {
        final int status;

        Refused(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        Matcher m = PATH.matcher(Request.getPathInContext(request));
        if (!m.matches()) {
            return false;
        }
        try {
            if (!request.getMethod().equals("POST")) {
                throw new Refused(405, "use POST");
            }
            Authenticator.Access access = admit(request);
            List<BroadcastMessage> messages;
            if (m.group(1) == null) {
                messages = authorized(batch(request), access);
            } else {
                boolean isPrivate = "true".equals(Request.extractQueryParameters(request).getValue("private"));
                BroadcastMessage one = single(request, decode(m.group(1)), decode(m.group(2))).toPrivate(isPrivate);
                if (isPrivate && authorized(List.of(one), access).isEmpty()) {
                    throw new Refused(403, "Unauthorized");
                }
                messages = List.of(one);
            }
            for (int i = 0; i < messages.size(); i++) {
                if (!broadcasts.admitServerEvent()) {
                    throw new Refused(429, BroadcastService.REST_RATE_LIMITED);
                }
            }
            for (BroadcastMessage message : messages) {
                broadcasts.publish(message, BroadcastService.Source.REST);
            }
            response.setStatus(202);
            callback.succeeded();
        } catch (Refused r) {
            response.setStatus(r.status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, ByteBuffer.wrap(JSON.writeValueAsBytes(java.util.Map.of("error", r.getMessage()))), callback);
        }
        return true;
    }

    private Authenticator.Access admit(Request request) throws Refused {
        Fields q = Request.extractQueryParameters(request);
        Authenticator.Admission a = auth.admit(request.getHeaders().get(HttpHeader.AUTHORIZATION),
                request.getHeaders().get("apikey"), q.getValue("apikey"), request.getHeaders().get("x-api-key"));
        if (!a.admitted()) {
            throw new Refused(a.status(), a.reason());
        }
        return a.access();
    }

    /**
     * The public messages, and the private ones whose topic the token may broadcast to (asked once
     * per topic); the others are counted and left out, as Supabase leaves them out.
     */
    private List<BroadcastMessage> authorized(List<BroadcastMessage> messages, Authenticator.Access access) throws Refused {
        List<BroadcastMessage> out = new ArrayList<>();
        java.util.Map<String, Boolean> allowed = new java.util.HashMap<>();
        for (BroadcastMessage message : messages) {
            if (!message.isPrivate()) {
                out.add(message);
                continue;
            }
            if (channels == null) {
                throw new Refused(403, "private channels are authorized by the policies on realtime.messages, and this "
                        + "node reads no database (serve --from): send to a server that reads the database");
            }
            Boolean may = allowed.get(message.topic());
            if (may == null) {
                try {
                    may = channels.mayBroadcast(access, message.topic());
                } catch (ChannelAuthorization.Unavailable e) {
                    throw new Refused(503, ChannelAuthorization.UNAVAILABLE);
                }
                allowed.put(message.topic(), may);
            }
            if (may) {
                out.add(message);
            } else {
                broadcasts.refusedPrivate(BroadcastService.Source.REST);
            }
        }
        return out;
    }

    private List<BroadcastMessage> batch(Request request) throws Refused {
        JsonNode body = json(body(request), "the body");
        JsonNode list = body.get("messages");
        if (list == null || !list.isArray()) {
            throw new Refused(422, "expected {\"messages\": [{\"topic\", \"event\", \"payload\", \"private\"}, …]}");
        }
        List<BroadcastMessage> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode msg = list.get(i);
            String where = "messages[" + i + "]";
            String topic = text(msg, "topic", where);
            String event = text(msg, "event", where);
            JsonNode payload = msg.get("payload");
            if (payload == null || !payload.isObject()) {
                throw new Refused(422, where + ".payload is required and must be an object");
            }
            byte[] envelope = bytes(JSON.createObjectNode().put("event", event).put("type", "broadcast").set("payload", payload));
            if (broadcasts.tooLarge(envelope.length)) {
                throw new Refused(413, where + ": payload size exceeds the limit of " + broadcasts.limits().payloadBytes() + " bytes");
            }
            out.add(BroadcastMessage.envelope(topic, envelope, null).toPrivate(msg.path("private").asBoolean(false)));
        }
        return out;
    }

    private BroadcastMessage single(Request request, String topic, String event) throws Refused {
        checkSizes(topic, event, "the URL");
        byte[] body = body(request);
        String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        boolean binary = type != null && type.startsWith("application/octet-stream");
        if (!binary) {
            json(body, "the body");
        }
        return BroadcastMessage.user(topic, event, body, binary, null, null);
    }

    private String text(JsonNode msg, String field, String where) throws Refused {
        JsonNode n = msg == null ? null : msg.get(field);
        if (n == null || !n.isTextual() || n.asText().isEmpty()) {
            throw new Refused(422, where + "." + field + " is required and must be a non-empty string");
        }
        checkSizes(field.equals("topic") ? n.asText() : "", field.equals("event") ? n.asText() : "", where);
        return n.asText();
    }

    private static void checkSizes(String topic, String event, String where) throws Refused {
        if (topic.getBytes(StandardCharsets.UTF_8).length > MAX_TOPIC_BYTES) {
            throw new Refused(422, where + ": the topic is longer than " + MAX_TOPIC_BYTES + " bytes");
        }
        if (event.getBytes(StandardCharsets.UTF_8).length > 255) {
            throw new Refused(422, where + ": the event is longer than 255 bytes");
        }
    }

    private byte[] body(Request request) throws Refused {
        int max = broadcasts.limits().payloadBytes() > 0 ? broadcasts.limits().payloadBytes() : Integer.MAX_VALUE - 8;
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] body = in.readNBytes(max + 1);
            if (body.length > max) {
                broadcasts.tooLarge(body.length);
                throw new Refused(413, "payload size exceeds the limit of " + max + " bytes");
            }
            return body;
        } catch (IOException e) {
            throw new Refused(400, "could not read the body: " + e.getMessage());
        }
    }

    private static JsonNode json(byte[] body, String what) throws Refused {
        try {
            JsonNode n = JSON.readTree(body);
            if (n == null || n.isMissingNode()) {
                throw new Refused(422, what + " is empty: send a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new Refused(422, what + " is not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    private static byte[] bytes(JsonNode n) {
        try {
            return JSON.writeValueAsBytes(n);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }
}
