package dev.tidings.server.consumers;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import dev.tidings.pipeline.Delivery.Acknowledgement;
import dev.tidings.server.log.ChangeLog;
import dev.tidings.server.log.EventId;
import dev.tidings.server.log.GroupCommit;
import dev.tidings.server.log.MvStoreChangeLog;
import dev.tidings.testing.Await;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Consumer groups and the log's retention, on a real log file without a database: a log that may
 * keep only its newest event still keeps what a durable group has not acknowledged; a group that
 * is not durable falls behind, is told to reset, and goes on from where it is reset to.
 */
@Tag("unit")
class ConsumerGroupsRetentionTest {
    private static final List<Column> COLUMNS = List.of(new Column("id", "int8", 20, true));
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void a_durable_group_keeps_its_unacked_events_and_others_are_told_to_reset_behind_the_retention() throws Exception {
        ChangeLog log = MvStoreChangeLog.open(dir, new ChangeLog.Retention(Duration.ofDays(1), 1), Clock.systemUTC());
        try (GroupCommit commits = new GroupCommit(log, Duration.ofMillis(5)); ConsumerGroups groups = new ConsumerGroups(commits)) {
            groups.create(GroupSpec.parse(JSON.readTree("{\"name\":\"keep\",\"durable\":true}")), false);
            groups.create(GroupSpec.parse(JSON.readTree("{\"name\":\"loose\",\"max_ack_pending\":2}")), false);
            for (long lsn = 100; lsn < 110; lsn++) {
                commits.append(insert(lsn));
            }
            commits.commit(new Acknowledgement() {
                @Override
                public void acknowledge() {}

                @Override
                public void fail(Exception cause) {}
            });

            List<Delivery> kept = events(groups.receive("keep", 3, Duration.ZERO));
            assertThat(kept).hasSize(3);
            assertThat(groups.ack("keep", List.of(kept.get(0).ackId())).get(5, TimeUnit.SECONDS).done()).isEqualTo(1);
            Thread.sleep(200); // many trims
            assertThat(log.first()).as("the oldest event the durable group has not acknowledged is kept")
                    .isEqualTo(new EventId(101, 0));

            groups.delete("keep");
            Await.until(Duration.ofSeconds(5), () -> "the log to trim to its newest event",
                    () -> new EventId(109, 0).equals(log.first()));
            List<Delivery> held = events(groups.receive("loose", 10, Duration.ZERO));
            assertThat(held).as("what the group had read before the trim").hasSize(2);
            groups.ack("loose", held.stream().map(Delivery::ackId).toList()).get(5, TimeUnit.SECONDS);
            assertThat(groups.receive("loose", 10, Duration.ZERO).get(5, TimeUnit.SECONDS))
                    .isEqualTo(new ConsumerGroups.Receipt.Reset(new EventId(109, 0)));

            groups.reset("loose", false);
            List<Delivery> after = events(groups.receive("loose", 10, Duration.ZERO));
            assertThat(after).extracting(d -> EventId.of(d.event())).containsExactly(new EventId(109, 0));
        }
    }

    private static List<Delivery> events(java.util.concurrent.CompletableFuture<ConsumerGroups.Receipt> receipt) throws Exception {
        return ((ConsumerGroups.Receipt.Events) receipt.get(5, TimeUnit.SECONDS)).deliveries();
    }

    private static ChangeEvent insert(long lsn) {
        return new ChangeEvent(Op.INSERT, "public", "todos", COLUMNS, new Row(COLUMNS, new String[] {Long.toString(lsn)}), null,
                List.of(), new Transaction(lsn, Lsn.of(lsn), Instant.now()), 0, Lsn.of(lsn - 1), null);
    }
}
