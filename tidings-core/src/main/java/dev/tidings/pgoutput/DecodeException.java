package dev.tidings.pgoutput;

/**
 * A pgoutput message that cannot be decoded: truncated, of an unknown kind, or with a field out of
 * range. Carries the byte offset inside the message where decoding stopped.
 */
public final class DecodeException extends Exception {
    private final int offset;

    public DecodeException(String message, int offset) {
        super(message + " (at byte " + offset + ")");
        this.offset = offset;
    }

    public int offset() {
        return offset;
    }
}
