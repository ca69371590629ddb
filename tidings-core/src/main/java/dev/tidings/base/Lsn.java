package dev.tidings.base;

/**
 * A PostgreSQL log sequence number: a 64-bit position in the write-ahead log, written as two
 * hexadecimal halves {@code XXXXXXXX/XXXXXXXX} (upper case, no leading zeros), exactly as
 * {@code pg_lsn} prints it. Ordered as unsigned numbers.
 */
public record Lsn(long value) implements Comparable<Lsn> {
    public static final Lsn ZERO = new Lsn(0);

    public static Lsn of(long value) {
        return value == 0 ? ZERO : new Lsn(value);
    }

    /** Parses {@code 16/B374D848}; throws {@link IllegalArgumentException} with the expected shape otherwise. */
    public static Lsn parse(String text) {
        int slash = text == null ? -1 : text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1 || slash > 8 || text.length() - slash - 1 > 8) {
            throw new IllegalArgumentException("not an LSN: '" + text + "' (expected two hex numbers like 16/B374D848)");
        }
        try {
            long hi = Long.parseLong(text, 0, slash, 16);
            long lo = Long.parseLong(text, slash + 1, text.length(), 16);
            return of(hi << 32 | lo);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an LSN: '" + text + "' (expected two hex numbers like 16/B374D848)");
        }
    }

    public boolean isAfter(Lsn other) {
        return compareTo(other) > 0;
    }

    public static Lsn max(Lsn a, Lsn b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    @Override
    public int compareTo(Lsn o) {
        return Long.compareUnsigned(value, o.value);
    }

    @Override
    public String toString() {
        // on the path of every event (ids, formats): one small array, no intermediate strings
        byte[] text = new byte[17];
        int n = hex((int) (value >>> 32), text, 0);
        text[n++] = '/';
        n = hex((int) value, text, n);
        return new String(text, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static final byte[] HEX = "0123456789ABCDEF".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);

    /** Writes {@code half} as upper-case hex without leading zeros ("0" for zero) at {@code at}; returns the end. */
    private static int hex(int half, byte[] text, int at) {
        int digits = Math.max(1, (32 - Integer.numberOfLeadingZeros(half) + 3) / 4);
        for (int i = digits - 1; i >= 0; i--) {
            text[at + i] = HEX[half & 0xF];
            half >>>= 4;
        }
        return at + digits;
    }
}
