package dev.tidings.server.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.temporal.ChronoUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The one parser of setting values: every kind, and errors that name the setting and repeat the value. */
@Tag("unit")
class ConfigValueTest {
    private static ConfigValue text(String s) {
        return ConfigValue.text("X (a.b)", s);
    }

    @Test
    void durations_take_units_or_the_settings_own_unit() {
        assertThat(text("250ms").duration(ChronoUnit.SECONDS)).isEqualTo(Duration.ofMillis(250));
        assertThat(text("1.5s").duration(ChronoUnit.MILLIS)).isEqualTo(Duration.ofMillis(1500));
        assertThat(text("2m").duration(ChronoUnit.MILLIS)).isEqualTo(Duration.ofMinutes(2));
        assertThat(text("1h").duration(ChronoUnit.MILLIS)).isEqualTo(Duration.ofHours(1));
        assertThat(text("15").duration(ChronoUnit.SECONDS)).isEqualTo(Duration.ofSeconds(15));
        assertThat(text("100").duration(ChronoUnit.MILLIS)).isEqualTo(Duration.ofMillis(100));
        assertThatThrownBy(() -> text("soon").duration(ChronoUnit.MILLIS))
                .hasMessage("X (a.b) must be a duration (e.g. 250ms, 10s, 2m, or a number of millis), not 'soon'");
        assertThatThrownBy(() -> text("-1s").duration(ChronoUnit.MILLIS)).hasMessageContaining("must be a duration");
    }

    @Test
    void sizes_take_bytes_or_binary_units_within_bounds() {
        assertThat(text("65536").bytes(0, Long.MAX_VALUE)).isEqualTo(65536);
        assertThat(text("64KiB").bytes(0, Long.MAX_VALUE)).isEqualTo(64 << 10);
        assertThat(text("4 MiB").bytes(0, Long.MAX_VALUE)).isEqualTo(4 << 20);
        assertThat(text("2GiB").bytes(0, Long.MAX_VALUE)).isEqualTo(2L << 30);
        assertThatThrownBy(() -> text("4MB").bytes(0, Long.MAX_VALUE)).hasMessageContaining("X (a.b) must be a size");
        assertThatThrownBy(() -> text("1.5MiB").bytes(0, Long.MAX_VALUE)).hasMessageContaining("must be a size");
        assertThatThrownBy(() -> text("1KiB").bytes(2048, 4096)).hasMessageContaining("from 2048 to 4096 bytes");
    }

    @Test
    void booleans_numbers_and_lists() throws Exception {
        assertThat(text("TRUE").bool()).isTrue();
        assertThat(new ConfigValue("y", new ObjectMapper().readTree("false")).bool()).isFalse();
        assertThatThrownBy(() -> text("yes").bool()).hasMessage("X (a.b) must be true or false, not 'yes'");
        assertThat(text(" 42 ").intIn(0, 100)).isEqualTo(42);
        assertThatThrownBy(() -> text("101").intIn(0, 100)).hasMessage("X (a.b) must be a whole number from 0 to 100, not '101'");
        assertThat(text("a, b,,c").list()).containsExactly("a", "b", "c");
        assertThat(new ConfigValue("y", new ObjectMapper().readTree("[\"a\", \"b\"]")).list()).containsExactly("a", "b");
        assertThatThrownBy(() -> new ConfigValue("y", new ObjectMapper().readTree("{\"a\": 1}")).text())
                .hasMessageContaining("y must be a single value");
    }
}
