package dev.tidings.server.broadcast;

/**
 * How one serializer version puts a server push on the wire, as whole WebSocket frames. There is
 * one instance per version, so frames made for one member serve every member with the same
 * framing ({@link BroadcastMessage} caches by identity).
 */
public interface Framing {
    /** A text frame {@code event} on {@code topic} with {@code payload} (JSON), join_ref and ref null. */
    byte[] text(String topic, String event, byte[] payload);

    /** A binary frame of {@code message}, or null when this serializer has none (vsn 1.0.0). */
    byte[] binary(byte[] message);
}
