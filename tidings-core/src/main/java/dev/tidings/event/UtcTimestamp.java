package dev.tidings.event;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Writes an {@link Instant} as an RFC 3339 / ISO-8601 UTC timestamp with a fixed number of
 * fraction digits: {@code 2026-11-27T10:00:00.123456Z} (6, Tidings and CloudEvents) or
 * {@code 2026-11-27T10:00:00.123Z} (3, Supabase Realtime's {@code commit_timestamp}).
 *
 * <p>Why not {@link DateTimeFormatter#ISO_INSTANT}: it drops trailing zero digits, so the width of
 * the string changes with the value, and it goes through a parser-grade formatter on every event.
 * Here the date comes from Howard Hinnant's {@code civil_from_days} into a small char array.
 * Extra digits are truncated, never rounded, as PostgreSQL's {@code to_char(…, 'MS')} does;
 * commit times carry microseconds, so 6 digits lose nothing. Years outside 0000–9999 (never a
 * real commit time) fall back to {@link DateTimeFormatter}.
 */
final class UtcTimestamp {
    private static final DateTimeFormatter MICROS_FALLBACK =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter MILLIS_FALLBACK =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private UtcTimestamp() {}

    static void writeMicros(Instant t, JsonGenerator out) throws IOException {
        write(t, 6, out);
    }

    /** The text {@link #writeMicros} writes, for callers that write it many times. */
    static String micros(Instant t) {
        char[] buf = new char[27];
        int n = format(t, 6, buf);
        return n < 0 ? MICROS_FALLBACK.format(t) : new String(buf, 0, n);
    }

    static void writeMillis(Instant t, JsonGenerator out) throws IOException {
        write(t, 3, out);
    }

    private static void write(Instant t, int digits, JsonGenerator out) throws IOException {
        char[] buf = new char[21 + digits];
        int n = format(t, digits, buf);
        if (n < 0) {
            out.writeString((digits == 6 ? MICROS_FALLBACK : MILLIS_FALLBACK).format(t));
        } else {
            out.writeString(buf, 0, n);
        }
    }

    /** Fills {@code buf} and returns the length, or -1 when the year needs more than four digits. */
    private static int format(Instant t, int digits, char[] buf) {
        long seconds = t.getEpochSecond();
        long day = Math.floorDiv(seconds, 86_400);
        int secondOfDay = (int) Math.floorMod(seconds, 86_400);

        // civil_from_days, http://howardhinnant.github.io/date_algorithms.html
        long z = day + 719_468;
        long era = Math.floorDiv(z, 146_097);
        long doe = z - era * 146_097;
        long yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        int dayOfMonth = (int) (doy - (153 * mp + 2) / 5 + 1);
        int month = (int) (mp < 10 ? mp + 3 : mp - 9);
        long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
        if (year < 0 || year > 9999) {
            return -1;
        }

        put4(buf, 0, (int) year);
        buf[4] = '-';
        put2(buf, 5, month);
        buf[7] = '-';
        put2(buf, 8, dayOfMonth);
        buf[10] = 'T';
        put2(buf, 11, secondOfDay / 3600);
        buf[13] = ':';
        put2(buf, 14, secondOfDay / 60 % 60);
        buf[16] = ':';
        put2(buf, 17, secondOfDay % 60);
        buf[19] = '.';
        int fraction = digits == 6 ? t.getNano() / 1000 : t.getNano() / 1_000_000;
        for (int i = 19 + digits; i > 19; i--) {
            buf[i] = (char) ('0' + fraction % 10);
            fraction /= 10;
        }
        buf[20 + digits] = 'Z';
        return 21 + digits;
    }

    private static void put2(char[] buf, int at, int v) {
        buf[at] = (char) ('0' + v / 10);
        buf[at + 1] = (char) ('0' + v % 10);
    }

    private static void put4(char[] buf, int at, int v) {
        put2(buf, at, v / 100);
        put2(buf, at + 2, v % 100);
    }
}
