package dev.tidings.server.sinks;

import dev.tidings.base.Lsn;
import dev.tidings.testing.Await;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The outage the sink fault tests share: a sink goes down, a load of changes is committed, and for
 * {@link #SECONDS} the sink stays down. Meanwhile WAL reading must pause — once the bounded queues
 * are full, the walsender's sent position stops between two status updates of the blocked source —
 * nothing of the load may be confirmed to PostgreSQL, and Tidings must not fail. Then the sink comes back and the
 * load completes; each test checks what its sink received (every change, in order).
 * {@code -Dtidings.test.outageSeconds=30} makes the outage 30 s.
 */
final class SinkOutage {
    static final int SECONDS = Integer.getInteger("tidings.test.outageSeconds", 10);

    /** How a test takes its sink down and brings it back. */
    interface Sink {
        void down() throws Exception;

        void up() throws Exception;
    }

    private SinkOutage() {}

    /** Runs the outage with {@code changes} changes of {@code load}; returns when the load is committed and flushed. */
    static void run(SinkHarness h, ChangeLoad load, int changes, Sink sink) throws Exception {
        sink.down();
        long start = System.nanoTime();
        load.start(changes, 40, 4);
        // an idle stream may confirm WAL before the load's first commit, not past it
        Lsn beforeLoad = load.firstCommitBound();
        Thread.sleep(Math.max(5, SECONDS - 3) * 1000L); // the outage itself
        awaitPaused(h);
        Lsn confirmed = h.db.confirmedFlush();
        assertThat(confirmed.compareTo(beforeLoad)).as("nothing of the load confirmed while the sink is down (confirmed %s, "
                + "first commit at or after %s)", confirmed, beforeLoad).isLessThanOrEqualTo(0);
        assertThat(h.tidings.failure()).as("Tidings waits for the sink").isNull();
        sink.up();
        System.out.printf("sink down for %.1f s%n", (System.nanoTime() - start) / 1e9);
        load.await();
        load.flushWal();
    }

    /**
     * Waits until the walsender's sent position stays put from one status update of the source to
     * the next, and then holds (less than 256 kB, what socket buffers may still take) over the one after.
     */
    private static void awaitPaused(SinkHarness h) {
        String[] previous = {sentAfterNextStatusUpdate(h)};
        Await.until(Duration.ofSeconds(60), () -> "WAL reading to pause; sent position " + previous[0], () -> {
            String now = sentAfterNextStatusUpdate(h);
            boolean same = now.equals(previous[0]);
            previous[0] = now;
            return same;
        });
        long moved = Lsn.parse(sentAfterNextStatusUpdate(h)).value() - Lsn.parse(previous[0]).value();
        assertThat(moved).as("WAL reading paused while the sink is down (sent position moved %d bytes)", moved)
                .isLessThan(256 * 1024);
    }

    /** The walsender's sent position, read once the source has sent a status update after this call. */
    private static String sentAfterNextStatusUpdate(SinkHarness h) {
        String walsender = "FROM pg_stat_replication WHERE pid = (SELECT active_pid FROM pg_replication_slots WHERE slot_name = '"
                + h.db.slot + "')";
        String now = h.db.queryValue("SELECT clock_timestamp()::text");
        Await.until(Duration.ofSeconds(30), "a status update from the source",
                () -> "t".equals(h.db.queryValue("SELECT reply_time > '" + now + "'::timestamptz " + walsender)));
        return h.db.queryValue("SELECT sent_lsn::text " + walsender);
    }
}
