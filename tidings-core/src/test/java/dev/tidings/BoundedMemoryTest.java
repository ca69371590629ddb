package dev.tidings;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Transaction;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import dev.tidings.testing.ChildJvm;
import dev.tidings.testing.Streams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Guarantee 4 in docs/architecture.md: memory stays bounded whatever the size of a transaction or of
 * its rows. The consumer runs in a JVM of its own with a 128 MB heap that exits on the first
 * OutOfMemoryError; it checks every event id itself and prints one summary line.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
class BoundedMemoryTest {
    private static final List<String> SMALL_HEAP = List.of("-Xmx128m", "-XX:+ExitOnOutOfMemoryError", "-XX:+UseSerialGC");

    @TempDir
    Path dir;

    @Test
    void a_million_row_transaction_streams_through_a_128_mb_heap() throws Exception {
        try (Streams s = Streams.newDatabase(); ChildJvm jvm = new ChildJvm()) {
            s.sql("CREATE TABLE big (id int)", "CREATE PUBLICATION tidings FOR ALL TABLES",
                    "SELECT pg_create_logical_replication_slot('" + s.slot + "', 'pgoutput')");
            s.sql("INSERT INTO big SELECT generate_series(1, 1000000)");

            String summary = consume(jvm, s, 1_000_000, 0, Duration.ofSeconds(150));

            assertThat(summary).matches("events 1000000 of 1 transactions, ids [0-9A-F]+/[0-9A-F]+:0\\.\\.999999 in order");
        }
    }

    @Test
    void rows_of_a_megabyte_behind_a_stalled_listener_stay_within_a_128_mb_heap() throws Exception {
        try (Streams s = Streams.newDatabase(); ChildJvm jvm = new ChildJvm()) {
            s.sql("CREATE TABLE wide (id int, body text)", "CREATE PUBLICATION tidings FOR ALL TABLES",
                    "SELECT pg_create_logical_replication_slot('" + s.slot + "', 'pgoutput')");
            // 300 MB of values in one transaction, and a listener that stalls 8 s on the first row: without a
            // byte bound the queue (4096 items) would take them all while it waits
            s.sql("INSERT INTO wide SELECT i, repeat(md5(i::text), 32768) FROM generate_series(1, 300) i");

            String summary = consume(jvm, s, 300, 8000, Duration.ofSeconds(120));

            assertThat(summary).matches("events 300 of 1 transactions, ids [0-9A-F]+/[0-9A-F]+:0\\.\\.299 in order");
        }
    }

    private String consume(ChildJvm jvm, Streams s, int events, int stallMillis, Duration timeout) throws Exception {
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process p = jvm.start(SMALL_HEAP, CountingConsumer.class.getName(),
                List.of(s.jdbcUrl, s.slot, Integer.toString(events), Integer.toString(stallMillis)), out, err);
        int exit = ChildJvm.await(p, timeout.toSeconds());
        String stdout = Files.readString(out).strip();
        assertThat(exit).as("exit code; stdout: %s%nstderr: %s", stdout, tail(Files.readString(err))).isZero();
        return stdout;
    }

    private static String tail(String s) {
        return s.length() > 4000 ? "…" + s.substring(s.length() - 4000) : s;
    }

    /**
     * The child: streams until {@code expected} events arrived, checking that they are the rows
     * 1..n of one table in order with ids {@code <commit LSN>:0..n-1}, then stops and prints a summary.
     * Arguments: JDBC URL, slot, expected events, milliseconds to stall on the first event.
     */
    public static final class CountingConsumer implements ChangeListener {
        private final int expected;
        private final int stallMillis;
        private final CountDownLatch done = new CountDownLatch(1);
        private String commitLsn;
        private int count;
        private int transactions;
        private String error;

        CountingConsumer(int expected, int stallMillis) {
            this.expected = expected;
            this.stallMillis = stallMillis;
        }

        public static void main(String[] args) throws Exception {
            CountingConsumer consumer = new CountingConsumer(Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            SourceConfig config = SourceConfig.of(DatabaseUrl.parse(args[0])).withSlot(args[1], false);
            Tidings tidings = Tidings.start(config, consumer);
            boolean finished = consumer.done.await(180, TimeUnit.SECONDS);
            tidings.stop();
            if (!finished || consumer.error != null || tidings.failure() != null) {
                System.out.println("failed after " + consumer.count + " events: "
                        + (consumer.error != null ? consumer.error : finished ? tidings.failure() : "timed out"));
                System.exit(1);
            }
            System.out.println("events " + consumer.count + " of " + consumer.transactions + " transactions, ids "
                    + consumer.commitLsn + ":0.." + (consumer.count - 1) + " in order");
            System.exit(0);
        }

        @Override
        public void onEvent(ChangeEvent event) throws InterruptedException {
            if (commitLsn == null) {
                commitLsn = event.tx().commitLsn().toString();
            }
            String expectedId = commitLsn + ":" + count;
            String row = event.record() == null ? null : event.record().json(0);
            if (error == null && !event.id().equals(expectedId)) {
                error = "event " + count + " has id " + event.id() + ", expected " + expectedId;
            } else if (error == null && !Integer.toString(count + 1).equals(row)) {
                error = "event " + event.id() + " carries row " + row + ", expected " + (count + 1);
            }
            if (count++ == 0) {
                Thread.sleep(stallMillis);
            }
        }

        @Override
        public void onTransaction(Transaction tx) {
            transactions++;
            if (count >= expected) {
                done.countDown();
            }
        }
    }
}
