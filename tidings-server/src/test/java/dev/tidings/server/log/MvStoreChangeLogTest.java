package dev.tidings.server.log;

import dev.tidings.event.ChangeEvent;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import static dev.tidings.server.log.LogEvents.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Tag("unit")
class MvStoreChangeLogTest {
    private static final ChangeLog.Retention KEEP_ALL = new ChangeLog.Retention(Duration.ofDays(365), Long.MAX_VALUE);

    @TempDir
    Path dir;

    /** A clock the test moves. */
    private static final class TestClock extends Clock {
        long millis = 1_000_000;

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }
    }

    private static List<ChangeEvent> events(ChangeLog.Read read) {
        assertThat(read).isInstanceOf(ChangeLog.Read.Events.class);
        return ((ChangeLog.Read.Events) read).events();
    }

    @Test
    void a_replayed_event_is_the_event_that_was_appended_field_for_field() {
        List<ChangeEvent> appended = List.of(standaloneMessage(100), insert(100, 0), updateWithOldKeyAndToast(100, 1),
                transactionalMessage(100, 2), truncate(200, 0));
        try (ChangeLog log = MvStoreChangeLog.open(dir, KEEP_ALL, Clock.systemUTC())) {
            appended.forEach(log::append);
            assertThat(json(events(log.readAfter(null, 100)))).isEqualTo(json(appended));
        }
    }

    @Test
    void a_read_continues_exactly_after_the_given_id_in_stream_order() {
        try (ChangeLog log = MvStoreChangeLog.open(dir, KEEP_ALL, Clock.systemUTC())) {
            List<ChangeEvent> appended = new ArrayList<>();
            appended.add(standaloneMessage(0x100));
            for (long tx = 0x100; tx <= 0x10000; tx += 0x100) {
                for (int i = 0; i < 3; i++) {
                    appended.add(insert(tx, i));
                }
            }
            appended.forEach(log::append);
            assertThat(log.readAfter(EventId.parse("0/100:m"), 2)).isInstanceOfSatisfying(ChangeLog.Read.Events.class,
                    r -> assertThat(r.events()).extracting(ChangeEvent::id).containsExactly("0/100:0", "0/100:1"));
            assertThat(events(log.readAfter(EventId.parse("0/5500:2"), 4))).extracting(ChangeEvent::id)
                    .containsExactly("0/5600:0", "0/5600:1", "0/5600:2", "0/5700:0");
            assertThat(events(log.readAfter(EventId.parse("0/10000:2"), 10))).isEmpty();
            assertThat(events(log.readAfter(null, 100_000))).hasSize(appended.size());
        }
    }

    @Test
    void redelivered_events_are_not_appended_twice() {
        try (ChangeLog log = MvStoreChangeLog.open(dir, KEEP_ALL, Clock.systemUTC())) {
            log.append(insert(0x100, 0));
            log.append(insert(0x100, 1));
            log.append(insert(0x100, 0));
            log.append(insert(0x100, 1));
            log.append(insert(0x200, 0));
            assertThat(events(log.readAfter(null, 10))).extracting(ChangeEvent::id).containsExactly("0/100:0", "0/100:1", "0/200:0");
        }
    }

    @Test
    void what_was_synced_is_there_after_reopening_and_redelivery_continues_after_it() {
        try (ChangeLog log = MvStoreChangeLog.open(dir, KEEP_ALL, Clock.systemUTC())) {
            log.append(insert(0x100, 0));
            log.append(insert(0x200, 0));
            assertThat(log.sync()).isEqualTo(EventId.parse("0/200:0"));
        }
        try (ChangeLog log = MvStoreChangeLog.open(dir, KEEP_ALL, Clock.systemUTC())) {
            assertThat(log.last()).isEqualTo(EventId.parse("0/200:0"));
            log.append(insert(0x200, 0));
            log.append(insert(0x300, 0));
            assertThat(events(log.readAfter(null, 10))).extracting(ChangeEvent::id).containsExactly("0/100:0", "0/200:0", "0/300:0");
            assertThat(log.size().bytes()).isPositive();
        }
    }

    @Test
    void events_older_than_the_retention_go_oldest_first_and_a_reader_behind_them_is_told_it_missed_events() {
        TestClock clock = new TestClock();
        try (ChangeLog log = MvStoreChangeLog.open(dir, new ChangeLog.Retention(Duration.ofHours(1), Long.MAX_VALUE), clock)) {
            log.append(insert(0x100, 0));
            log.append(insert(0x200, 0));
            clock.millis += Duration.ofMinutes(50).toMillis();
            log.append(insert(0x300, 0));
            clock.millis += Duration.ofMinutes(20).toMillis();
            assertThat(log.trim(null)).isEqualTo(2);
            assertThat(log.first()).isEqualTo(EventId.parse("0/300:0"));
            assertThat(log.readAfter(EventId.parse("0/100:0"), 10)).isEqualTo(new ChangeLog.Read.Expired(EventId.parse("0/300:0")));
            assertThat(events(log.readAfter(EventId.parse("0/200:0"), 10))).extracting(ChangeEvent::id).containsExactly("0/300:0");
        }
    }

    @Test
    void the_oldest_events_go_when_the_log_holds_more_bytes_than_allowed() {
        long oneEvent;
        try (ChangeLog probe = MvStoreChangeLog.open(dir.resolve("probe"), KEEP_ALL, Clock.systemUTC())) {
            probe.append(insert(0x100, 0));
            oneEvent = probe.size().bytes();
        }
        try (ChangeLog log = MvStoreChangeLog.open(dir, new ChangeLog.Retention(Duration.ofDays(1), oneEvent * 10), Clock.systemUTC())) {
            List<String> appended = new ArrayList<>();
            for (int i = 1; i <= 25; i++) {
                log.append(insert(0x100L * i, 0));
                appended.add(insert(0x100L * i, 0).id());
            }
            log.trim(null);
            ChangeLog.Size size = log.size();
            assertThat(size.bytes()).isLessThanOrEqualTo(oneEvent * 10);
            assertThat(size.events()).isBetween(9L, 10L);
            assertThat(events(log.readAfter(null, 100))).extracting(ChangeEvent::id)
                    .isEqualTo(appended.subList(appended.size() - (int) size.events(), appended.size()));
        }
    }

    @Test
    void the_file_stays_bounded_while_events_come_and_go_beyond_the_byte_limit() throws Exception {
        long limit = 4L << 20;
        long largest = 0;
        try (ChangeLog log = MvStoreChangeLog.open(dir, new ChangeLog.Retention(Duration.ofDays(1), limit), Clock.systemUTC())) {
            for (int tx = 1; tx <= 4_000; tx++) {
                for (int i = 0; i < 50; i++) {
                    log.append(insert(0x100L * tx, i));
                }
                log.sync();
                if (tx % 20 == 0) {
                    log.trim(null);
                    largest = Math.max(largest, java.nio.file.Files.size(dir.resolve("changes.mv")));
                }
            }
            assertThat(log.size().bytes()).isLessThanOrEqualTo(limit);
        }
        System.out.printf("change log file: at most %.1f MB for a %d MB byte limit after 200,000 events%n", largest / 1e6, limit >> 20);
        // measured: 9 to 19 MB, flat from the first 25,000 events on (records count their bytes, not the tree's pages)
        assertThat(largest).as("the file size against the byte limit").isLessThanOrEqualTo(6 * limit);
    }

    @Test
    void a_long_transaction_is_written_to_the_file_before_it_commits_so_memory_stays_bounded() throws Exception {
        try (ChangeLog log = MvStoreChangeLog.open(dir, KEEP_ALL, Clock.systemUTC())) {
            for (int i = 0; i < 200_000; i++) {
                log.append(insert(0x100, i));
            }
            assertThat(java.nio.file.Files.size(dir.resolve("changes.mv"))).as("bytes written before any sync")
                    .isGreaterThan(log.size().bytes() / 2);
        }
    }

    @Test
    void an_id_from_before_the_log_began_is_expired_and_one_after_its_end_reads_nothing() {
        try (ChangeLog log = MvStoreChangeLog.open(dir, KEEP_ALL, Clock.systemUTC())) {
            assertThat(log.readAfter(EventId.parse("0/100:0"), 10)).isEqualTo(new ChangeLog.Read.Expired(null));
            log.append(insert(0x200, 0));
            assertThat(log.readAfter(EventId.parse("0/100:0"), 10)).isInstanceOf(ChangeLog.Read.Expired.class);
            assertThat(events(log.readAfter(EventId.parse("0/900:0"), 10))).isEmpty();
        }
    }

    @Test
    void ids_order_a_standalone_message_before_the_transaction_that_commits_at_its_lsn() {
        assertThat(EventId.parse("0/100:m")).isLessThan(EventId.parse("0/100:0"));
        assertThat(EventId.parse("0/FF:5")).isLessThan(EventId.parse("0/100:0"));
        assertThat(EventId.parse("1/0:0")).isGreaterThan(EventId.parse("0/FFFFFFFF:9"));
        assertThat(EventId.of(standaloneMessage(0x100)).toString()).isEqualTo(standaloneMessage(0x100).id());
        assertThat(EventId.of(insert(0x100, 3)).toString()).isEqualTo(insert(0x100, 3).id());
        assertThatThrownBy(() -> EventId.parse("42")).hasMessageContaining("an id looks like 0/1A2B3C4:2");
        assertThatThrownBy(() -> EventId.parse("0/1:x")).hasMessageContaining("an id looks like 0/1A2B3C4:2");
    }

    @Test
    void a_directory_another_server_uses_is_refused_with_what_to_do() {
        try (ChangeLog log = MvStoreChangeLog.open(dir, KEEP_ALL, Clock.systemUTC())) {
            assertThatThrownBy(() -> MvStoreChangeLog.open(dir, KEEP_ALL, Clock.systemUTC()))
                    .hasMessageContaining("Each server needs a directory of its own");
        }
    }
}
