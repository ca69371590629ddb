package dev.tidings.server.sinks;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.server.log.ChangeLog;
import dev.tidings.server.log.EventId;
import dev.tidings.server.log.MvStoreChangeLog;
import dev.tidings.testing.Await;
import dev.tidings.testing.Streams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The change log as a consumer of the ack rule, across crashes: {@code serve} with a log is
 * killed with SIGKILL at random moments while a load commits. After each kill the slot's confirmed
 * position is read and the log opened: every event of a transaction the slot confirmed must be in
 * it. At the end the log holds every committed row once, in commit order. A file sink runs beside
 * the log, so a transaction is confirmed only when both have it.
 *
 * <p>A SIGKILL leaves what was written to the file in the page cache, so this proves that nothing
 * is acknowledged before the log wrote it, not that the fsync reached the disk.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
class ChangeLogKillNineTest {
    private static final int KILLS = 5;
    private static final int CHANGES = 20_000;
    private static final ChangeLog.Retention KEEP_ALL = new ChangeLog.Retention(Duration.ofDays(1), Long.MAX_VALUE);

    @TempDir
    Path dir;

    private record AfterKill(Lsn confirmed, Set<EventId> logged) {}

    @Test
    void nothing_the_slot_confirmed_is_missing_from_the_log_after_sigkill() throws Exception {
        Path logDir = dir.resolve("log");
        try (Streams s = Streams.newDatabase(); ChangeLoad load = new ChangeLoad(s.jdbcUrl, 3)) {
            s.sql("CREATE PUBLICATION tidings FOR ALL TABLES");
            List<AfterKill> kills = new ArrayList<>();
            Random random = new Random(5);
            ServeProcess serve = start(s, logDir, 0);
            try {
                serve.awaitReady(Duration.ofSeconds(60));
                load.start(CHANGES, 40, 20);
                for (int kill = 1; kill <= KILLS; kill++) {
                    Thread.sleep(1_000 + random.nextInt(2_500)); // a random moment of the load
                    serve.kill();
                    kills.add(new AfterKill(s.confirmedFlush(), logged(logDir)));
                    serve = start(s, logDir, kill);
                    serve.awaitReady(Duration.ofSeconds(60));
                }
                load.await();
                load.flushWal();
                Lsn end = Lsn.parse(s.queryValue("SELECT pg_current_wal_lsn()"));
                ServeProcess running = serve;
                Await.until(Duration.ofSeconds(60), () -> "the slot to confirm " + end + "; log:\n" + running.tail(),
                        () -> s.confirmedFlush().compareTo(end) >= 0);
                assertThat(serve.terminate(30)).as("graceful stop; log:\n%s", serve.tail()).isIn(0, 143);
            } finally {
                serve.close();
            }

            List<ChangeEvent> all;
            try (ChangeLog log = MvStoreChangeLog.open(logDir, KEEP_ALL, Clock.systemUTC())) {
                all = ((ChangeLog.Read.Events) log.readAfter(null, Integer.MAX_VALUE)).events();
            }
            int[] next = new int[load.tables];
            for (ChangeEvent e : all) {
                int table = Integer.parseInt(e.table().substring("load_".length()));
                int n = Integer.parseInt(e.record().json("n"));
                assertThat(n).as("row %d of %s after row %d: once each, in commit order", n, e.table(), next[table])
                        .isEqualTo(next[table] + 1);
                next[table] = n;
            }
            assertThat(next).as("every committed row is in the log").isEqualTo(load.counts());

            long covered = 0;
            for (AfterKill k : kills) {
                for (ChangeEvent e : all) {
                    if (e.tx().commitLsn().compareTo(k.confirmed()) < 0) {
                        assertThat(k.logged()).as("an event the slot confirmed (%s) is in the log after the kill", k.confirmed())
                                .contains(EventId.of(e));
                        covered++;
                    }
                }
            }
            assertThat(kills).allSatisfy(k -> assertThat(k.logged()).as("the log had events at each kill").isNotEmpty());
            System.out.printf("change log kill -9 x%d during %d changes: %d events logged; %d confirmed events checked after kills%n",
                    KILLS, load.committed.get(), all.size(), covered);
        }
    }

    private static Set<EventId> logged(Path logDir) {
        Set<EventId> ids = new HashSet<>();
        if (!Files.exists(logDir)) {
            return ids;
        }
        try (ChangeLog log = MvStoreChangeLog.open(logDir, KEEP_ALL, Clock.systemUTC())) {
            ((ChangeLog.Read.Events) log.readAfter(null, Integer.MAX_VALUE)).events().forEach(e -> ids.add(EventId.of(e)));
        }
        return ids;
    }

    private ServeProcess start(Streams s, Path logDir, int run) throws Exception {
        Path config = dir.resolve("serve-" + run + ".yaml");
        Files.writeString(config, """
                db: {url: "%s"}
                replication: {slot: %s, publication: tidings}
                log: {dir: "%s"}
                sinks:
                  - {name: file, type: file, path: "%s", batch: 500}
                """.formatted(s.jdbcUrl, s.slot, logDir, dir.resolve("sink-" + run + ".jsonl")));
        return new ServeProcess(config, ServeProcess.freePort(), dir.resolve("serve-" + run + ".log"), Map.of());
    }
}
