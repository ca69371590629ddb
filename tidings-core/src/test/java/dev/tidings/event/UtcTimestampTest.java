package dev.tidings.event;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.StringWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import static org.assertj.core.api.Assertions.assertThat;

@Tag("unit")
@net.jqwik.api.Tag("unit")
class UtcTimestampTest {
    private static final DateTimeFormatter MICROS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter MILLIS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private static String written(Instant t, boolean micros) throws IOException {
        StringWriter text = new StringWriter();
        try (JsonGenerator out = new JsonFactory().createGenerator(text)) {
            if (micros) {
                UtcTimestamp.writeMicros(t, out);
            } else {
                UtcTimestamp.writeMillis(t, out);
            }
        }
        String s = text.toString();
        return s.substring(1, s.length() - 1);
    }

    // Years 0000-9999 (all a four-digit pattern can hold), every nanosecond.
    @Property(tries = 2000)
    void agrees_with_java_time_for_every_four_digit_year(
            @ForAll @LongRange(min = -62_167_219_200L, max = 253_402_300_799L) long second,
            @ForAll @IntRange(min = 0, max = 999_999_999) int nano) throws IOException {
        Instant t = Instant.ofEpochSecond(second, nano);

        assertThat(written(t, true)).isEqualTo(MICROS.format(t));
        assertThat(written(t, false)).isEqualTo(MILLIS.format(t));
    }

    @Test
    void truncates_rather_than_rounds() throws IOException {
        Instant t = Instant.parse("2024-12-31T23:59:59.999999999Z");

        assertThat(written(t, true)).isEqualTo("2024-12-31T23:59:59.999999Z");
        assertThat(written(t, false)).isEqualTo("2024-12-31T23:59:59.999Z");
    }

    @Test
    void leap_day_and_epoch_and_before_epoch() throws IOException {
        assertThat(written(Instant.parse("2024-02-29T00:00:00Z"), true)).isEqualTo("2024-02-29T00:00:00.000000Z");
        assertThat(written(Instant.EPOCH, false)).isEqualTo("1970-01-01T00:00:00.000Z");
        assertThat(written(Instant.parse("1969-12-31T23:59:59.000001Z"), true)).isEqualTo("1969-12-31T23:59:59.000001Z");
    }

    @Test
    void years_beyond_four_digits_fall_back_to_java_time() throws IOException {
        Instant t = Instant.parse("+12345-01-01T00:00:00Z");

        assertThat(written(t, true)).isEqualTo(MICROS.format(t));
    }
}
