package dev.tidings;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Op;
import dev.tidings.base.Lsn;
import dev.tidings.testing.EventCollector;
import dev.tidings.testing.Json;
import dev.tidings.testing.Streams;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import dev.tidings.testing.ChildJvm;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A non-transactional logical message emitted inside a transaction ({@code BEGIN; INSERT;
 * pg_logical_emit_message(false, …); COMMIT}): PostgreSQL decodes the message at once and the
 * transaction at its commit, whose record often starts exactly where the message's record ends
 * (the message's LSN). Whatever Tidings confirms for the message must not make PostgreSQL skip that
 * transaction when it was not yet acknowledged (a crash, a failing consumer), and the two must not
 * share an id.
 */
@Tag("postgres")
@Tag("process")
class StandaloneMessageTest {

    @BeforeAll
    static void messagesNeedProto2() {
        assumeTrue(TestPostgres.majorVersion() >= 14, "pgoutput sends messages from PostgreSQL 14 on");
    }

    @Test
    void a_transaction_around_a_standalone_message_comes_again_when_it_was_not_acknowledged() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            int aligned = 0;
            // the message's length moves the end of its WAL record through all eight alignments, so in one
            // round the commit record starts exactly at the message's LSN: the case that lost the transaction
            for (int length = 0; length < 8; length++) {
                EventCollector first = new EventCollector();
                int row = length;
                first.failOn(e -> e.op() == Op.INSERT && Json.row(e.record()).get("id").asInt() == row);
                try (Tidings tidings = Tidings.start(s.config(), first)) {
                    DeliveryGuaranteesTest.awaitStreaming(tidings);
                    transactionAroundMessage(s, row, length);
                    assertThat(tidings.await(30_000)).as("the listener refused the insert").isTrue();
                }
                ChangeEvent message = first.events.get(first.events.size() - 1);
                assertThat(message.op()).isEqualTo(Op.MESSAGE);
                assertThat(message.id()).isEqualTo(message.tx().commitLsn() + ":m");

                EventCollector second = new EventCollector();
                try (Tidings again = Tidings.start(s.config(), second)) {
                    ChangeEvent insert = awaitRow(second, row);
                    assertThat(insert.id()).as("a transaction's id never equals a message's").isNotEqualTo(message.id());
                    if (insert.tx().commitLsn().equals(message.tx().commitLsn())) {
                        aligned++;
                    }
                }
            }
            assertThat(aligned).as("rounds whose commit record started at the message's LSN").isPositive();
        }
    }

    @Test
    void a_kill_9_between_the_message_and_the_commit_loses_nothing(@TempDir Path dir) throws Exception {
        try (Streams s = Streams.newDatabase(); ChildJvm jvm = new ChildJvm()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            int length = alignedLength(s);
            Path out = dir.resolve("child.txt");
            Process child = jvm.start(List.of("-Xmx128m"), StallingConsumer.class.getName(),
                    List.of(s.jdbcUrl, s.slot), out, dir.resolve("child.err"));
            awaitLine(out, "streaming");
            transactionAroundMessage(s, 1, length);
            String messageId = awaitLine(out, "message ");
            awaitLine(out, "insert ");
            Lsn messageLsn = Lsn.parse(messageId.substring("message ".length(), messageId.lastIndexOf(':')));
            DeliveryGuaranteesTest.awaitConfirmedPast(s, messageLsn);
            ChildJvm.kill(child); // the message is confirmed, the transaction is stuck in the listener

            EventCollector collector = new EventCollector();
            try (Tidings again = Tidings.start(s.config(), collector)) {
                ChangeEvent insert = awaitRow(collector, 1);
                assertThat(insert.tx().commitLsn()).as("the commit record starts at the message's LSN")
                        .isEqualTo(messageLsn);
            }
        }
    }

    /** {@code BEGIN; INSERT; emit(false); COMMIT} in one session, the commit flushed at once. */
    private static void transactionAroundMessage(Streams s, int row, int length) throws SQLException {
        try (Connection c = TestPostgres.connect(s.jdbcUrl); Statement st = c.createStatement()) {
            st.execute("SET synchronous_commit = on");
            c.setAutoCommit(false);
            st.execute("INSERT INTO t VALUES (" + row + ")");
            st.execute("SELECT pg_logical_emit_message(false, 'mark', repeat('x', " + length + "))");
            c.commit();
        }
    }

    /** The content length that makes the message's WAL record end on an 8-byte boundary, found with a probe. */
    private static int alignedLength(Streams s) throws Exception {
        EventCollector probe = new EventCollector();
        try (Tidings tidings = Tidings.start(s.config(), probe)) {
            DeliveryGuaranteesTest.awaitStreaming(tidings);
            transactionAroundMessage(s, 0, 0);
            long end = probe.await(2).get(0).tx().commitLsn().value();
            return (int) ((8 - end % 8) % 8);
        }
    }

    private static String awaitLine(Path file, String prefix) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            if (Files.exists(file)) {
                for (String line : Files.readAllLines(file)) {
                    if (line.startsWith(prefix)) {
                        return line;
                    }
                }
            }
            assertThat(System.nanoTime()).as("no line %s in %s", prefix, file).isLessThan(deadline);
            EventCollector.sleep(20);
        }
    }

    /** The child: prints "streaming", then "&lt;op&gt; &lt;id&gt;" per event, and stalls for good on the first insert. */
    public static final class StallingConsumer {
        public static void main(String[] args) throws Exception {
            SourceConfig config = SourceConfig.of(DatabaseUrl.parse(args[0])).withSlot(args[1], false);
            Tidings tidings = Tidings.start(config, event -> {
                System.out.println(event.op().json() + " " + event.id());
                System.out.flush();
                if (event.op() == Op.INSERT) {
                    Thread.sleep(600_000);
                }
            });
            DeliveryGuaranteesTest.awaitStreaming(tidings);
            System.out.println("streaming");
            System.out.flush();
            tidings.await();
        }
    }

    @Test
    void a_stop_before_the_message_or_after_the_commit_loses_nothing_either() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            EventCollector collector = new EventCollector();
            Tidings tidings = Tidings.start(s.config(), collector);
            try (Connection c = TestPostgres.connect(s.jdbcUrl); Statement st = c.createStatement()) {
                DeliveryGuaranteesTest.awaitStreaming(tidings);
                c.setAutoCommit(false);
                st.execute("INSERT INTO t VALUES (1)");
                tidings.stop(); // before the message
                tidings = Tidings.start(s.config(), collector);
                DeliveryGuaranteesTest.awaitStreaming(tidings);
                st.execute("SELECT pg_logical_emit_message(false, 'mark', 'between')");
                c.commit();
                awaitRow(collector, 1);
                tidings.stop(); // after the commit
                s.sql("INSERT INTO t VALUES (2)");
                tidings = Tidings.start(s.config(), collector);
                awaitRow(collector, 2);
                List<String> seen = collector.events.stream()
                        .map(e -> e.op() == Op.MESSAGE ? "message" : "row " + Json.row(e.record()).get("id").asInt())
                        .toList();
                assertThat(seen).containsExactly("message", "row 1", "row 2");
            } finally {
                tidings.stop();
            }
        }
    }

    @Test
    void a_transactional_message_keeps_the_id_and_commit_of_its_transaction() throws SQLException {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            s.start();
            s.transaction("INSERT INTO t VALUES (1)", "SELECT pg_logical_emit_message(true, 'mark', 'inside')");
            List<ChangeEvent> events = s.collector.await(2);
            assertThat(events.get(1).op()).isEqualTo(Op.MESSAGE);
            assertThat(events.get(1).id()).isEqualTo(events.get(0).tx().commitLsn() + ":1");
            assertThat(events.get(1).tx()).isEqualTo(events.get(0).tx());
        }
    }

    private static ChangeEvent awaitRow(EventCollector collector, int id) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            for (ChangeEvent e : collector.events) {
                if (e.op() == Op.INSERT && Json.row(e.record()).get("id").asInt() == id) {
                    return e;
                }
            }
            assertThat(System.nanoTime()).as("row %s never came: %s", id, collector.summary()).isLessThan(deadline);
            EventCollector.sleep(20);
        }
    }

}
