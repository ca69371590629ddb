package dev.tidings.server.stream;

import dev.tidings.source.DatabaseUrl;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Catch-up progress and the max-lag pause, from a sequence of lag readings (no database). */
@Tag("unit")
class SlotLagTest {
    private static final long MB = 1 << 20;
    private static final long SECOND = 1_000_000_000L;
    private final List<Boolean> pauses = new ArrayList<>();
    private final SlotLag lag = new SlotLag(DatabaseUrl.parse("postgresql://u@h/d"), "s", 10, true, pauses::add);

    @Test
    void catch_up_reports_how_far_behind_how_fast_it_closes_and_how_long_is_left() {
        lag.update(0, 0);
        assertThat(lag.catchUp()).isNull();
        lag.update(100 * MB, SECOND);
        assertThat(lag.catchUp().behindBytes()).isEqualTo(100 * MB);
        assertThat(lag.catchUp().etaSeconds()).as("no rate yet").isNull();
        lag.update(90 * MB, 2 * SECOND);
        assertThat(lag.catchUp().rateBytesPerSecond()).isEqualTo(10.0 * MB);
        assertThat(lag.catchUp().etaSeconds()).isEqualTo(9.0);
        lag.update(95 * MB, 3 * SECOND);
        assertThat(lag.catchUp().rateBytesPerSecond()).as("smoothed: (10 - 5) / 2 MB/s").isEqualTo(2.5 * MB);
        lag.update(200 * MB, 4 * SECOND);
        assertThat(lag.catchUp().etaSeconds()).as("falling behind: no estimate").isNull();
        lag.update(MB / 2, 5 * SECOND);
        assertThat(lag.catchUp()).as("caught up under 1 MB").isNull();
    }

    @Test
    void over_the_max_lag_live_clients_pause_and_resume_under_80_percent_of_it() {
        lag.update(11 * MB, 0);
        lag.update(12 * MB, SECOND);
        assertThat(pauses).containsExactly(true);
        lag.update(9 * MB, 2 * SECOND);
        assertThat(pauses).as("9 MB is under the limit but over 80 %: still paused").containsExactly(true);
        lag.update(7 * MB, 3 * SECOND);
        assertThat(pauses).containsExactly(true, false);
    }

    @Test
    void an_unknown_lag_changes_nothing() {
        lag.update(20 * MB, 0);
        lag.update(-1, SECOND);
        assertThat(pauses).containsExactly(true);
        assertThat(lag.catchUp()).isNotNull();
    }
}
