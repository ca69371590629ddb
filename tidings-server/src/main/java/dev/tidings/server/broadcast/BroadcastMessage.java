package dev.tidings.server.broadcast;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;

import java.nio.charset.StandardCharsets;

/**
 * One broadcast to the members of a topic, in either of the two forms the Realtime server knows.
 *
 * <ul>
 *   <li>A <em>user broadcast</em> ({@link #user}): an event name, a payload that is JSON or opaque
 *       bytes, optional metadata. What realtime-js 2.x sends as a binary frame, and what the
 *       database and the per-topic REST form produce. Members speaking vsn 2.0.0 get it as the
 *       binary user-broadcast frame (kind 4); vsn 1.0.0 members get it as the JSON broadcast
 *       {@code {event, payload, type:"broadcast", meta?}} when the payload is JSON, and not at all
 *       when it is bytes (that serializer cannot carry them; Supabase's does the same).
 *   <li>An <em>envelope</em> ({@link #envelope}): the JSON payload of a text {@code broadcast} push,
 *       relayed as it came, as a text {@code broadcast} message in both versions.
 * </ul>
 *
 * <p>Frames are made once per {@link Framing} on first use and shared by every member with that
 * framing. Immutable apart from that cache, which tolerates races (a frame may be built twice).
 */
public final class BroadcastMessage {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte KIND_USER_BROADCAST = 4;
    static final byte ENCODING_BINARY = 0;
    static final byte ENCODING_JSON = 1;

    private final String topic;
    private final String event;
    private final byte[] payload;
    private final boolean user;
    private final boolean binaryPayload;
    private final byte[] meta;
    private final Member sender;
    /** The {@code realtime.messages} row id of a message from the database, else null. */
    private final String storedId;
    /** For the members of the private channel of {@link #topic}, not the public one. */
    private final boolean privateTopic;
    private volatile Framing firstFraming;
    private volatile byte[] firstFrame;
    private volatile Framing secondFraming;
    private volatile byte[] secondFrame;

    private BroadcastMessage(String topic, String event, byte[] payload, boolean user, boolean binaryPayload, byte[] meta,
                             Member sender, String storedId, boolean privateTopic) {
        this.storedId = storedId;
        this.privateTopic = privateTopic;
        this.topic = topic;
        this.event = event;
        this.payload = payload;
        this.user = user;
        this.binaryPayload = binaryPayload;
        this.meta = meta;
        this.sender = sender;
    }

    /**
     * @param topic   the topic without the {@code realtime:} prefix
     * @param payload JSON text when {@code binary} is false, else any bytes
     * @param meta    a JSON object, or null
     * @param sender  the member that sent it (left out unless it asked for its own broadcasts), or null
     */
    public static BroadcastMessage user(String topic, String event, byte[] payload, boolean binary, byte[] meta, Member sender) {
        return new BroadcastMessage(topic, event, payload, true, binary, meta, sender, null, sender != null && sender.isPrivate());
    }

    /**
     * A user broadcast of a {@code realtime.messages} row, with metadata {@code {"id": id}}, and
     * {@code "replayed": true} when it is sent again from the table ({@link BroadcastHistory}).
     */
    static BroadcastMessage stored(String topic, String event, byte[] payload, boolean binary, String id, boolean replayed) {
        ObjectNode meta = JSON.createObjectNode().put("id", id);
        if (replayed) {
            meta.put("replayed", true);
        }
        try {
            return new BroadcastMessage(topic, event, payload, true, binary, JSON.writeValueAsBytes(meta), null, id, false);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A text broadcast push relayed as it came: {@code envelope} is its JSON payload object. */
    public static BroadcastMessage envelope(String topic, byte[] envelope, Member sender) {
        return new BroadcastMessage(topic, "broadcast", envelope, false, false, null, sender, null,
                sender != null && sender.isPrivate());
    }

    public String topic() {
        return topic;
    }

    /** Whether it goes to the private channel of its topic (only members the policies let read get it). */
    public boolean isPrivate() {
        return privateTopic;
    }

    /** The same message for the private channel of its topic ({@code private} true) or the public one. */
    public BroadcastMessage toPrivate(boolean isPrivate) {
        return isPrivate == privateTopic ? this
                : new BroadcastMessage(topic, event, payload, user, binaryPayload, meta, sender, storedId, isPrivate);
    }

    String event() {
        return event;
    }

    byte[] payload() {
        return payload;
    }

    /** False for a text broadcast push relayed as it came ({@link #envelope}). */
    boolean isUser() {
        return user;
    }

    boolean binaryPayload() {
        return binaryPayload;
    }

    byte[] meta() {
        return meta;
    }

    Member sender() {
        return sender;
    }

    /** The {@code realtime.messages} row id of a message from the database, else null. */
    String storedId() {
        return storedId;
    }

    /** The size counted against the payload and bytes-per-second limits. */
    int size() {
        return payload.length + (meta == null ? 0 : meta.length);
    }

    /** The WebSocket frame for members with {@code framing}, or null when it cannot carry this message. */
    byte[] frame(Framing framing) {
        if (firstFraming == framing) {
            return firstFrame;
        }
        if (secondFraming == framing) {
            return secondFrame;
        }
        byte[] frame = build(framing);
        if (firstFraming == null) {
            firstFrame = frame;
            firstFraming = framing;
        } else if (secondFraming == null) {
            secondFrame = frame;
            secondFraming = framing;
        }
        return frame;
    }

    private byte[] build(Framing framing) {
        String joinTopic = "realtime:" + topic;
        if (!user) {
            return framing.text(joinTopic, "broadcast", payload);
        }
        byte[] message = userBroadcast(joinTopic);
        byte[] binary = message == null ? null : framing.binary(message);
        if (binary != null) {
            return binary;
        }
        if (binaryPayload) {
            return null;
        }
        ObjectNode json = JSON.createObjectNode().put("event", event);
        if (meta != null) {
            json.putRawValue("meta", new RawValue(new String(meta, StandardCharsets.UTF_8)));
        }
        json.putRawValue("payload", new RawValue(new String(payload, StandardCharsets.UTF_8)));
        json.put("type", "broadcast");
        try {
            return framing.text(joinTopic, "broadcast", JSON.writeValueAsBytes(json));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The server's binary user broadcast: kind 4, sizes of topic, event and metadata, encoding, then each. */
    private byte[] userBroadcast(String joinTopic) {
        byte[] t = joinTopic.getBytes(StandardCharsets.UTF_8);
        byte[] e = event.getBytes(StandardCharsets.UTF_8);
        byte[] m = meta == null ? new byte[0] : meta;
        if (t.length > 255 || e.length > 255 || m.length > 255) {
            return null; // too long for the binary form; refused on the way in
        }
        byte[] out = new byte[5 + t.length + e.length + m.length + payload.length];
        out[0] = KIND_USER_BROADCAST;
        out[1] = (byte) t.length;
        out[2] = (byte) e.length;
        out[3] = (byte) m.length;
        out[4] = binaryPayload ? ENCODING_BINARY : ENCODING_JSON;
        int at = 5;
        for (byte[] part : new byte[][] {t, e, m, payload}) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    @Override
    public String toString() {
        return "broadcast " + event + " on " + (privateTopic ? "private " : "") + topic;
    }
}
