package dev.tidings.value;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The three pieces of jsonb's own text output that the converter has to reproduce:
 * string escaping ({@code escape_json} in json.c), numbers as {@code numeric_out} prints what
 * {@code numeric_in} read, and the order of object keys ({@code lengthCompareJsonbString}:
 * shorter keys first, then bytewise on UTF-8).
 */
final class JsonText {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private JsonText() {}

    /**
     * {@link #appendString(StringBuilder, CharSequence)} for a String: most text values need no
     * escaping, and those are copied whole (one array copy) after a scan that the JIT keeps
     * monomorphic, instead of being appended in pieces through {@link CharSequence}.
     */
    static void appendString(StringBuilder out, String s) {
        if (needsEscaping(s)) {
            appendString(out, (CharSequence) s);
        } else {
            out.append('"').append(s).append('"');
        }
    }

    /**
     * Whether {@code s} holds a character that JSON strings escape: a control character, {@code "} or {@code \}.
     * The scan runs over a Latin-1 copy of the text (one array copy for the usual Latin-1 string; a character
     * above U+00FF becomes {@code ?}, which needs no escaping either): under the C1 compiler that
     * {@code bin/tidings} runs with, a loop over a byte array is about twice as fast as one over
     * {@link String#charAt}, and for 10 KB TOAST values this scan was the top frame of the decoding thread.
     */
    static boolean needsEscaping(String s) {
        return needsEscaping(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    /**
     * The same scan over Latin-1 or UTF-8 bytes: every byte of a multi-byte UTF-8 character is 0x80
     * or above, so only the characters that need escaping match.
     */
    static boolean needsEscaping(byte[] text) {
        for (int i = 0; i < text.length; i++) {
            int c = text[i] & 0xff;
            if (c < 0x20 || c == '"' || c == '\\') {
                return true;
            }
        }
        return false;
    }

    /**
     * The UTF-8 {@code text} as the UTF-8 of a JSON string, escaped as {@link #appendString(StringBuilder, CharSequence)}
     * escapes: text without characters to escape (most) gets its quotes in one copy; the rest is decoded and escaped.
     */
    static byte[] stringUtf8(byte[] text) {
        if (needsEscaping(text)) {
            StringBuilder out = new StringBuilder(text.length + 16);
            appendString(out, (CharSequence) new String(text, StandardCharsets.UTF_8));
            return out.toString().getBytes(StandardCharsets.UTF_8);
        }
        byte[] out = new byte[text.length + 2];
        out[0] = '"';
        System.arraycopy(text, 0, out, 1, text.length);
        out[out.length - 1] = '"';
        return out;
    }

    /** Appends {@code s} as a JSON string, escaped exactly as PostgreSQL's {@code escape_json}. */
    static void appendString(StringBuilder out, CharSequence s) {
        out.append('"');
        int len = s.length();
        int clean = 0;
        for (int i = 0; i < len; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c != '"' && c != '\\') {
                continue;
            }
            out.append(s, clean, i);
            clean = i + 1;
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xf]);
            }
        }
        out.append(s, clean, len).append('"');
    }

    /**
     * Appends a number as {@link #numberUtf8} writes it; the same code, run on the text's Latin-1
     * bytes (number text is ASCII).
     */
    static void appendNumber(StringBuilder out, String number) {
        byte[] ascii = number.getBytes(StandardCharsets.ISO_8859_1);
        byte[] json = numberUtf8(ascii);
        if (json == ascii) {
            out.append(number);
        } else {
            out.append(new String(json, StandardCharsets.ISO_8859_1));
        }
    }

    /**
     * A number's JSON the way to_jsonb writes it, from its ASCII text: NaN and ±Infinity (the only
     * number texts with an 'n') as strings; else the way a jsonb numeric prints,
     * {@code numeric_out(numeric_in(text))}. That drops exponents (1e+300 becomes 1 and 300 zeros,
     * 1.5e-07 becomes 0.00000015), keeps trailing zeros (1.50 stays 1.50) and turns -0 into 0. Text
     * without an exponent or leading "-0" is already in that form, which is every int and numeric
     * value, so it is returned as it is (the same array).
     */
    static byte[] numberUtf8(byte[] ascii) {
        boolean plain = !(ascii.length >= 2 && ascii[0] == '-' && ascii[1] == '0');
        for (int i = 0; i < ascii.length; i++) {
            byte c = ascii[i];
            if (c == 'n' || c == 'N') {
                return stringUtf8(ascii);
            }
            if (c == 'e' || c == 'E') {
                plain = false;
            }
        }
        if (plain) {
            return ascii;
        }
        BigDecimal d = new BigDecimal(new String(ascii, StandardCharsets.ISO_8859_1));
        if (d.scale() < 0) {
            d = d.setScale(0);
        }
        return d.toPlainString().getBytes(StandardCharsets.ISO_8859_1);
    }

    // shared by every value that is one of them; nothing writes into them (rows and RowJson only read)
    private static final byte[] TRUE = "true".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FALSE = "false".getBytes(StandardCharsets.US_ASCII);

    /** bool's JSON from the first character of its text output, {@code t} or {@code f}. */
    static String boolJson(int first) {
        return first == 't' ? "true" : "false";
    }

    /** {@link #boolJson} as UTF-8 (an array shared by all calls). */
    static byte[] boolUtf8(int first) {
        return first == 't' ? TRUE : FALSE;
    }

    /** A key and its UTF-8 bytes, ordered as jsonb orders object keys. */
    record Key(String name, byte[] utf8) implements Comparable<Key> {
        static Key of(String name) {
            return new Key(name, name.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public int compareTo(Key other) {
            if (utf8.length != other.utf8.length) {
                return Integer.compare(utf8.length, other.utf8.length);
            }
            return Arrays.compareUnsigned(utf8, other.utf8);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(utf8, k.utf8);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(utf8);
        }
    }
}
