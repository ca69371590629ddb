package dev.tidings.pgoutput;

import dev.tidings.base.Lsn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * A bounds-checked cursor over one pgoutput message, reading the protocol's primitive types
 * (big-endian integers, NUL-terminated strings, counted byte strings) with absolute gets, so the
 * caller's buffer position is never touched while decoding and one reader is reused for every
 * message of a connection.
 *
 * <p>Every read checks the bytes it needs against the bytes left before it reads or allocates,
 * and fails with a {@link DecodeException} whose offset is relative to the first byte of the
 * message. {@code what} arguments name the field for that error and are constants, so the happy
 * path builds no strings.
 */
final class WireReader {
    /** Seconds from 1970-01-01 (Java's epoch) to 2000-01-01 (PostgreSQL's epoch). */
    private static final long PG_EPOCH_SECONDS = 946_684_800L;
    /** Direct-buffer strings up to this size are decoded through one reused array. */
    private static final int SCRATCH_MAX = 8192;

    private ByteBuffer buf;
    private byte[] array;
    private int arrayOffset;
    private boolean bigEndian;
    private int start;
    private int pos;
    private int limit;
    private byte[] scratch = new byte[256];

    void reset(ByteBuffer buffer) {
        buf = buffer;
        array = buffer.hasArray() ? buffer.array() : null;
        arrayOffset = array == null ? 0 : buffer.arrayOffset();
        bigEndian = buffer.order() == ByteOrder.BIG_ENDIAN;
        start = buffer.position();
        pos = start;
        limit = buffer.limit();
    }

    /** Releases the caller's buffer so a long-lived decoder does not pin it. */
    void clear() {
        buf = null;
        array = null;
    }

    int offset() {
        return pos - start;
    }

    int remaining() {
        return limit - pos;
    }

    DecodeException error(String message) {
        return new DecodeException(message, pos - start);
    }

    DecodeException errorAt(int offset, String message) {
        return new DecodeException(message, offset);
    }

    private void need(int bytes, String what) throws DecodeException {
        if (limit - pos < bytes) {
            throw error("truncated: " + what + " needs " + bytes + " byte(s), " + (limit - pos) + " left");
        }
    }

    byte int8(String what) throws DecodeException {
        need(1, what);
        return buf.get(pos++);
    }

    /** An Int16 count; pgoutput sends column counts that are never negative, so read them unsigned. */
    int uint16(String what) throws DecodeException {
        need(2, what);
        short v = buf.getShort(pos);
        pos += 2;
        return (bigEndian ? v : Short.reverseBytes(v)) & 0xFFFF;
    }

    int int32(String what) throws DecodeException {
        need(4, what);
        int v = buf.getInt(pos);
        pos += 4;
        return bigEndian ? v : Integer.reverseBytes(v);
    }

    long int64(String what) throws DecodeException {
        need(8, what);
        long v = buf.getLong(pos);
        pos += 8;
        return bigEndian ? v : Long.reverseBytes(v);
    }

    Lsn lsn(String what) throws DecodeException {
        return Lsn.of(int64(what));
    }

    /** A TimestampTz: microseconds since 2000-01-01 00:00:00 UTC. Every long maps into Instant's range. */
    Instant timestamp(String what) throws DecodeException {
        long micros = int64(what);
        return Instant.ofEpochSecond(PG_EPOCH_SECONDS + Math.floorDiv(micros, 1_000_000L),
                Math.floorMod(micros, 1_000_000L) * 1_000L);
    }

    /**
     * An Int32 byte length followed by that many bytes: checked to be neither negative nor longer
     * than what is left, so a forged length can never make us allocate.
     */
    int length(String what) throws DecodeException {
        int at = offset();
        int n = int32(what);
        if (n < 0) {
            throw errorAt(at, "negative " + what + " " + n);
        }
        if (n > limit - pos) {
            throw errorAt(at, what + " " + n + " exceeds the " + (limit - pos) + " byte(s) left");
        }
        return n;
    }

    /** A NUL-terminated UTF-8 string. */
    String string(String what) throws DecodeException {
        int end = pos;
        if (array != null) {
            int base = arrayOffset;
            while (end < limit && array[base + end] != 0) {
                end++;
            }
        } else {
            while (end < limit && buf.get(end) != 0) {
                end++;
            }
        }
        if (end == limit) {
            throw error("truncated: " + what + " has no terminating NUL");
        }
        String s = utf8(end - pos);
        pos++; // the NUL
        return s;
    }

    /** {@code n} bytes of UTF-8, already checked against what is left. */
    String utf8(int n) {
        String s;
        if (n == 0) {
            s = "";
        } else if (array != null) {
            s = new String(array, arrayOffset + pos, n, StandardCharsets.UTF_8);
        } else {
            byte[] b = n <= scratch.length ? scratch : n <= SCRATCH_MAX ? (scratch = new byte[n]) : new byte[n];
            buf.get(pos, b, 0, n);
            s = new String(b, 0, n, StandardCharsets.UTF_8);
        }
        pos += n;
        return s;
    }

    /** {@code n} bytes copied out, already checked against what is left. */
    byte[] bytes(int n) {
        byte[] b = new byte[n];
        buf.get(pos, b, 0, n);
        pos += n;
        return b;
    }
}
