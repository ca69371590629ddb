package dev.tidings.value;

import java.nio.charset.StandardCharsets;

/**
 * timestamp and timestamptz as {@code to_jsonb} prints them (XSD style, {@code EncodeDateTime} with
 * {@code USE_XSD_DATES}), derived from their output under DateStyle ISO: the blank between date and
 * time becomes 'T', and a zone offset of whole hours gains its minutes ({@code +00} becomes
 * {@code +00:00}). Everything else — fractions, five-digit years, the " BC" suffix, infinity — is
 * the same in both styles. date is identical in both styles and needs no rewriting.
 *
 * <p>The rule works on the text's bytes ({@link #timestampUtf8}, a backfill's values); the String
 * path runs it on the String's Latin-1 bytes, since this output is ASCII.
 */
final class DateTimes {
    private DateTimes() {}

    static void appendTimestamp(String text, boolean withZone, StringBuilder out) {
        out.append(new String(timestampUtf8(text.getBytes(StandardCharsets.ISO_8859_1), withZone),
                StandardCharsets.ISO_8859_1));
    }

    /** The JSON string, as bytes, of a timestamp (or timestamptz when {@code withZone}) from its ASCII text output. */
    static byte[] timestampUtf8(byte[] text, boolean withZone) {
        int blank = indexOf(text, (byte) ' ', 0);
        if (blank < 0) {
            return JsonText.stringUtf8(text); // infinity, -infinity
        }
        int zone = blank + 1;
        int zoneEnd = text.length;
        if (withZone) {
            while (zone < text.length && text[zone] != '+' && text[zone] != '-') {
                zone++;
            }
            zoneEnd = indexOf(text, (byte) ' ', zone);
            if (zoneEnd < 0) {
                zoneEnd = text.length;
            }
        }
        boolean wholeHours = withZone && zoneEnd - zone == 3;
        byte[] out = new byte[text.length + 2 + (wholeHours ? 3 : 0)];
        out[0] = '"';
        System.arraycopy(text, 0, out, 1, blank);
        out[blank + 1] = 'T';
        System.arraycopy(text, blank + 1, out, blank + 2, zoneEnd - blank - 1);
        int at = zoneEnd + 1;
        if (wholeHours) {
            out[at++] = ':';
            out[at++] = '0';
            out[at++] = '0';
        }
        System.arraycopy(text, zoneEnd, out, at, text.length - zoneEnd);
        out[out.length - 1] = '"';
        return out;
    }

    private static int indexOf(byte[] text, byte b, int from) {
        for (int i = from; i < text.length; i++) {
            if (text[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
