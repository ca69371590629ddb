package dev.tidings.server.realtime;

import java.nio.ByteBuffer;

/**
 * WebSocket frames (RFC 6455 §5.2) as a server writes them: final, unmasked, header and payload in
 * one array.
 *
 * <p>Design. A change is framed once and the same bytes go to every connection that gets it, so
 * what a connection costs per change is a reference in its queue and a slot in a gathering write —
 * not a frame object, a header and a copy per connection.
 */
final class WireFrames {
    private static final int TEXT = 0x1;
    private static final int BINARY = 0x2;
    private static final int PONG = 0xA;

    private WireFrames() {}

    /** A text frame of {@code payload}, which must be UTF-8. */
    static byte[] text(byte[] payload) {
        return frame(TEXT, payload, 0, payload.length);
    }

    /** A binary frame of {@code payload}. */
    static byte[] binary(byte[] payload) {
        return frame(BINARY, payload, 0, payload.length);
    }

    /** The pong answering a ping with {@code payload} (at most 125 bytes, as every control frame). */
    static byte[] pong(ByteBuffer payload) {
        byte[] bytes = new byte[payload.remaining()];
        payload.duplicate().get(bytes);
        return frame(PONG, bytes, 0, bytes.length);
    }

    private static byte[] frame(int opcode, byte[] payload, int offset, int length) {
        int header = length < 126 ? 2 : length <= 0xFFFF ? 4 : 10;
        byte[] out = new byte[header + length];
        out[0] = (byte) (0x80 | opcode);
        if (header == 2) {
            out[1] = (byte) length;
        } else if (header == 4) {
            out[1] = 126;
            out[2] = (byte) (length >>> 8);
            out[3] = (byte) length;
        } else {
            out[1] = 127;
            long n = length;
            for (int i = 0; i < 8; i++) {
                out[2 + i] = (byte) (n >>> (56 - 8 * i));
            }
        }
        System.arraycopy(payload, offset, out, header, length);
        return out;
    }
}
