package dev.tidings.pgoutput;

import java.nio.ByteBuffer;

/**
 * Decodes pgoutput messages. Placeholder signature; the implementation follows.
 */
public final class PgOutputDecoder {
    private final int protoVersion;

    public PgOutputDecoder(int protoVersion) {
        this.protoVersion = protoVersion;
    }

    /** Decodes one message from {@code buffer}'s position to its limit. */
    public PgOutputMessage decode(ByteBuffer buffer) throws DecodeException {
        throw new DecodeException("not implemented for proto " + protoVersion, buffer.position());
    }
}
