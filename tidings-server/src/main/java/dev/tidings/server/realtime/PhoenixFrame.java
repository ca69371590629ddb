package dev.tidings.server.realtime;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A Phoenix channel message, and the two wire forms the Realtime clients speak. Refs are kept as
 * the JSON text the client sent ({@code "6"}, or {@code null}) and written back verbatim.
 *
 * <ul>
 *   <li>{@code vsn=1.0.0}: client → {@code {topic, event, payload, ref, join_ref}}; server →
 *       {@code {"event":…,"payload":…,"ref":…,"topic":…}} (no join_ref, as Phoenix's V1 serializer).
 *   <li>{@code vsn=2.0.0}: {@code [join_ref, ref, topic, event, payload]} both ways.
 * </ul>
 */
record PhoenixFrame(String joinRef, String ref, String topic, String event, JsonNode payload) {
    static final String NULL = "null";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A frame the client sent that cannot be understood; {@code ref}/{@code topic} when they could be read. */
    static final class Malformed extends Exception {
        final String ref;
        final String topic;

        Malformed(String message, String ref, String topic) {
            super(message, null, false, false);
            this.ref = ref;
            this.topic = topic;
        }
    }

    enum Vsn {
        V1("1.0.0"), V2("2.0.0");

        final String text;

        Vsn(String text) {
            this.text = text;
        }

        static Vsn parse(String vsn) {
            if (vsn == null || vsn.isEmpty() || vsn.equals("1.0.0")) {
                return V1;
            }
            if (vsn.equals("2.0.0")) {
                return V2;
            }
            return null;
        }

        /** One frame; {@code payload} is JSON bytes. {@code joinRef}/{@code ref} are JSON texts. */
        byte[] encode(String joinRef, String ref, byte[] topicJson, String event, byte[] payload) {
            return encode(joinRef, ref, topicJson, event, payload, null, null);
        }

        /** As {@link #encode}, with the payload wrapped as {@code before + payload + after}. */
        byte[] encode(String joinRef, String ref, byte[] topicJson, String event, byte[] payload, byte[] before,
                      byte[] after) {
            ByteArrayOutputStream b = new ByteArrayOutputStream(payload.length + 96
                    + (before == null ? 0 : before.length + after.length));
            if (this == V1) {
                b.writeBytes(ascii("{\"event\":"));
                b.writeBytes(quote(event));
                b.writeBytes(ascii(",\"payload\":"));
                writePayload(b, payload, before, after);
                b.writeBytes(ascii(",\"ref\":"));
                b.writeBytes(ascii(ref));
                b.writeBytes(ascii(",\"topic\":"));
                b.writeBytes(topicJson);
                b.write('}');
            } else {
                b.write('[');
                b.writeBytes(ascii(joinRef));
                b.write(',');
                b.writeBytes(ascii(ref));
                b.write(',');
                b.writeBytes(topicJson);
                b.write(',');
                b.writeBytes(quote(event));
                b.write(',');
                writePayload(b, payload, before, after);
                b.write(']');
            }
            return b.toByteArray();
        }

        private static void writePayload(ByteArrayOutputStream b, byte[] payload, byte[] before, byte[] after) {
            if (before != null) {
                b.writeBytes(before);
            }
            b.writeBytes(payload);
            if (after != null) {
                b.writeBytes(after);
            }
        }
    }

    /** Reads one client frame. */
    static PhoenixFrame parse(String text, Vsn vsn) throws Malformed {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new Malformed("malformed JSON: " + e.getOriginalMessage(), NULL, null);
        }
        if (vsn == Vsn.V2) {
            if (node == null || !node.isArray()) {
                throw new Malformed("expected a JSON array [join_ref, ref, topic, event, payload] (vsn 2.0.0)", NULL, null);
            }
            String ref = node.size() > 1 ? refText(node.get(1)) : NULL;
            String topic = node.size() > 2 && node.get(2).isTextual() ? node.get(2).asText() : null;
            if (node.size() != 5) {
                throw new Malformed("expected 5 elements [join_ref, ref, topic, event, payload], got " + node.size(), ref, topic);
            }
            return checked(refText(node.get(0)), ref, node.get(2), node.get(3), node.get(4));
        }
        if (node == null || !node.isObject()) {
            throw new Malformed("expected a JSON object {topic, event, payload, ref} (vsn 1.0.0)", NULL, null);
        }
        return checked(refText(node.get("join_ref")), refText(node.get("ref")), node.get("topic"), node.get("event"),
                node.get("payload"));
    }

    private static PhoenixFrame checked(String joinRef, String ref, JsonNode topic, JsonNode event, JsonNode payload)
            throws Malformed {
        String t = topic != null && topic.isTextual() ? topic.asText() : null;
        if (t == null) {
            throw new Malformed("missing or non-string topic", ref, null);
        }
        if (event == null || !event.isTextual()) {
            throw new Malformed("missing or non-string event", ref, t);
        }
        if (payload != null && !payload.isObject() && !payload.isNull()) {
            throw new Malformed("payload must be an object", ref, t);
        }
        return new PhoenixFrame(joinRef, ref, t, event.asText(), payload == null || payload.isNull()
                ? JSON.createObjectNode() : payload);
    }

    private static String refText(JsonNode ref) {
        if (ref == null || ref.isNull()) {
            return NULL;
        }
        if (ref.isTextual()) {
            return new String(quote(ref.asText()), StandardCharsets.UTF_8);
        }
        return ref.isNumber() ? ref.asText() : NULL;
    }

    static byte[] quote(String s) {
        byte[] inner = JsonStringEncoder.getInstance().quoteAsUTF8(s);
        byte[] out = new byte[inner.length + 2];
        out[0] = '"';
        System.arraycopy(inner, 0, out, 1, inner.length);
        out[out.length - 1] = '"';
        return out;
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] json(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static ObjectMapper mapper() {
        return JSON;
    }
}
