package dev.tidings.server.broadcast;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A user broadcast push as realtime-js 2.x sends it on its default serializer (vsn 2.0.0): a binary
 * frame of kind 3, then the byte sizes of join_ref, ref, topic, event and metadata, the payload
 * encoding (0 bytes, 1 JSON), those five fields in that order, and the payload up to the end.
 * realtime-js sends every {@code channel.send({type: 'broadcast', event, payload})} this way,
 * whether the payload is an object (JSON) or an {@code ArrayBuffer}.
 *
 * @param meta    the metadata JSON object, or null when empty
 * @param binary  whether the payload is opaque bytes rather than JSON
 */
public record BinaryPush(String joinRef, String ref, String topic, String event, byte[] meta, boolean binary,
                         byte[] payload) {
    static final int KIND = 3;

    /** A binary frame this server cannot read; the message says what was expected. */
    public static final class Malformed extends Exception {
        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    /** Reads a binary frame from the client. */
    public static BinaryPush parse(ByteBuffer frame) throws Malformed {
        ByteBuffer b = frame.duplicate();
        if (b.remaining() < 7) {
            throw new Malformed("binary frame of " + b.remaining() + " bytes is too short for a broadcast push (kind 3)");
        }
        int kind = b.get() & 0xFF;
        if (kind != KIND) {
            throw new Malformed("binary frame of kind " + kind + " is not understood: only broadcast pushes (kind 3) are");
        }
        int joinRefSize = b.get() & 0xFF;
        int refSize = b.get() & 0xFF;
        int topicSize = b.get() & 0xFF;
        int eventSize = b.get() & 0xFF;
        int metaSize = b.get() & 0xFF;
        int encoding = b.get() & 0xFF;
        if (encoding != BroadcastMessage.ENCODING_BINARY && encoding != BroadcastMessage.ENCODING_JSON) {
            throw new Malformed("broadcast push with payload encoding " + encoding + ": 0 (binary) or 1 (JSON) expected");
        }
        if (b.remaining() < joinRefSize + refSize + topicSize + eventSize + metaSize) {
            throw new Malformed("broadcast push shorter than the sizes in its header");
        }
        String joinRef = text(b, joinRefSize);
        String ref = text(b, refSize);
        String topic = text(b, topicSize);
        String event = text(b, eventSize);
        byte[] meta = bytes(b, metaSize);
        byte[] payload = bytes(b, b.remaining());
        return new BinaryPush(joinRef, ref, topic, event, metaSize == 0 ? null : meta,
                encoding == BroadcastMessage.ENCODING_BINARY, payload);
    }

    private static String text(ByteBuffer b, int n) {
        return new String(bytes(b, n), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer b, int n) {
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }
}
