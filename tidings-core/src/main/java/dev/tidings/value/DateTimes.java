package dev.tidings.value;

/**
 * timestamp and timestamptz as {@code to_jsonb} prints them (XSD style, {@code EncodeDateTime} with
 * {@code USE_XSD_DATES}), derived from their output under DateStyle ISO: the blank between date and
 * time becomes 'T', and a zone offset of whole hours gains its minutes ({@code +00} becomes
 * {@code +00:00}). Everything else — fractions, five-digit years, the " BC" suffix, infinity — is
 * the same in both styles. date is identical in both styles and needs no rewriting.
 */
final class DateTimes {
    private DateTimes() {}

    static void appendTimestamp(String text, boolean withZone, StringBuilder out) {
        int blank = text.indexOf(' ');
        if (blank < 0) {
            JsonText.appendString(out, text); // infinity, -infinity
            return;
        }
        out.append('"').append(text, 0, blank).append('T');
        if (!withZone) {
            out.append(text, blank + 1, text.length()).append('"');
            return;
        }
        int zone = blank + 1;
        while (zone < text.length() && text.charAt(zone) != '+' && text.charAt(zone) != '-') {
            zone++;
        }
        int zoneEnd = text.indexOf(' ', zone);
        if (zoneEnd < 0) {
            zoneEnd = text.length();
        }
        out.append(text, blank + 1, zoneEnd);
        if (zoneEnd - zone == 3) {
            out.append(":00");
        }
        out.append(text, zoneEnd, text.length()).append('"');
    }
}
