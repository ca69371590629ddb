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
        byte[] latin1 = s.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < latin1.length; i++) {
            int c = latin1[i] & 0xff;
            if (c < 0x20 || c == '"' || c == '\\') {
                return true;
            }
        }
        return false;
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
     * Appends a number the way a jsonb numeric prints: {@code numeric_out(numeric_in(text))}. That
     * drops exponents (1e+300 becomes 1 and 300 zeros, 1.5e-07 becomes 0.00000015), keeps trailing
     * zeros (1.50 stays 1.50) and turns -0 into 0. Text without an exponent or leading "-0" is
     * already in that form, which is every int and numeric value, so it is copied as it is.
     */
    static void appendNumber(StringBuilder out, String number) {
        if (isPlain(number)) {
            out.append(number);
            return;
        }
        BigDecimal d = new BigDecimal(number);
        if (d.scale() < 0) {
            d = d.setScale(0);
        }
        out.append(d.toPlainString());
    }

    private static boolean isPlain(String number) {
        if (number.length() >= 2 && number.charAt(0) == '-' && number.charAt(1) == '0') {
            return false;
        }
        for (int i = 0; i < number.length(); i++) {
            char c = number.charAt(i);
            if (c == 'e' || c == 'E') {
                return false;
            }
        }
        return true;
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
