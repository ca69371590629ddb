package dev.tidings;

import dev.tidings.event.ChangeEvent;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import dev.tidings.testing.Await;
import dev.tidings.testing.EventCollector;
import dev.tidings.testing.Json;
import dev.tidings.testing.Streams;
import dev.tidings.testing.TcpProxy;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.replication.PGReplicationStream;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Losing the replication connection, again and again, or without being told: the source comes back. */
@Tag("postgres")
class ReconnectTest {
    private static final Duration PATIENCE = Duration.ofSeconds(3);

    /**
     * Two busy episodes, each followed by a plain disconnect: the second episode must get the full
     * patience again, and after each the backoff must be back at its start (a busy episode of
     * 1.5 s grows it to about 1.6 s), so the disconnect is mended at once.
     */
    @Test
    void a_second_slot_busy_episode_gets_the_full_patience_again_and_backoff_starts_over() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            s.start(s.config().withTimeouts(PATIENCE, Duration.ofSeconds(5)));
            for (int episode = 1; episode <= 2; episode++) {
                takeSlotFor(s, Duration.ofMillis(1500));
                Await.until(Duration.ofSeconds(20), "the stream to come back; failure: " + s.tidings().failure(),
                        () -> s.tidings().streaming() && s.activePid() != null);
                s.sql("INSERT INTO t VALUES (" + episode + ")");
                s.collector.awaitTransactions(episode);

                String pid = s.activePid();
                long lost = System.nanoTime();
                s.sql("SELECT pg_terminate_backend(" + pid + ")");
                Await.until(Duration.ofSeconds(20), "a new walsender", () -> {
                    String now = s.activePid();
                    return now != null && !now.equals(pid);
                });
                long backMs = (System.nanoTime() - lost) / 1_000_000;
                // backoff at its start: 50–100 ms, then connecting; a grown one would wait 0.8–1.6 s
                assertThat(backMs).as("reconnected after a plain disconnect following busy episode " + episode)
                        .isLessThan(700);
                // longer than the patience: a busy clock still running from this episode would end the next at once
                EventCollector.sleep(PATIENCE.toMillis() + 1000);
                assertThat(s.tidings().failure()).as("after busy episode " + episode).isNull();
            }
            // a disconnect may deliver a transaction again, with its id
            Map<String, Integer> rowById = new LinkedHashMap<>();
            s.collector.events.forEach(e -> rowById.putIfAbsent(e.id(), Json.row(e.record()).get("id").asInt()));
            assertThat(rowById.values()).containsExactly(1, 2);
        }
    }

    @Test
    void a_connection_that_goes_silent_is_given_up_and_reopened_without_loss() throws Exception {
        assumeTrue(TestPostgres.majorVersion() >= 12, "wal_sender_timeout can be set per connection from PostgreSQL 12 on");
        try (Streams s = Streams.newDatabase(); TcpProxy proxy = new TcpProxy(TestPostgres.port())) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            DatabaseUrl viaProxy = DatabaseUrl.parse(s.jdbcUrl.replace(":" + TestPostgres.port() + "/", ":" + proxy.port() + "/")
                    + "&options=-c%20wal_sender_timeout=1000");
            SourceConfig config = SourceConfig.of(viaProxy).withSlot(s.slot, false)
                    .withTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(1));
            s.start(config);
            s.sql("INSERT INTO t VALUES (1)");
            s.collector.awaitTransactions(1);

            AtomicBoolean reportedDown = new AtomicBoolean();
            Thread watcher = Thread.ofVirtual().start(() -> {
                while (!reportedDown.get() && !Thread.currentThread().isInterrupted()) {
                    reportedDown.set(!s.tidings().streaming());
                    EventCollector.sleep(2);
                }
            });
            long stalled = System.nanoTime();
            proxy.stall();
            s.sql("INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (3)");
            Await.until(Duration.ofSeconds(20), () -> "row 3 over a new connection; got " + s.collector.summary(),
                    () -> s.collector.events.stream().anyMatch(e -> Json.row(e.record()).get("id").asInt() == 3));
            long tookMs = (System.nanoTime() - stalled) / 1_000_000;
            watcher.interrupt();

            assertThat(s.tidings().reconnects()).as("reconnected").isGreaterThanOrEqualTo(1);
            assertThat(reportedDown).as("the source said it was not streaming while it reconnected").isTrue();
            // wal_sender_timeout 1 s + 1 s margin, then a reconnect: well within 10 s
            assertThat(tookMs).as("noticed within the server's timeout and a margin").isLessThan(10_000);
            Map<Integer, String> idByRow = new LinkedHashMap<>();
            for (ChangeEvent e : s.collector.events) {
                String previous = idByRow.putIfAbsent(Json.row(e.record()).get("id").asInt(), e.id());
                assertThat(previous).as("a redelivered change keeps its id").isIn(null, e.id());
            }
            assertThat(idByRow.keySet()).containsExactly(1, 2, 3);
            assertThat(s.tidings().failure()).isNull();
        }
    }

    @Test
    void an_idle_stream_is_not_taken_for_a_silent_one() throws Exception {
        assumeTrue(TestPostgres.majorVersion() >= 12, "wal_sender_timeout can be set per connection from PostgreSQL 12 on");
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            // the server would send nothing for 5 s unless asked: the source asks, the server answers
            s.start(SourceConfig.of(DatabaseUrl.parse(s.jdbcUrl + "&options=-c%20wal_sender_timeout=1000"))
                    .withSlot(s.slot, false).withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(1)));
            EventCollector.sleep(5_000);
            assertThat(s.tidings().reconnects()).as("no reconnect on an idle database").isZero();
            s.sql("INSERT INTO t VALUES (1)");
            s.collector.awaitTransactions(1);
        }
    }

    /**
     * Ends the source's walsender and streams from the slot in its place for {@code hold}, as a
     * second consumer (or the source's own walsender lingering after a lost connection) would:
     * meanwhile each attempt of the source finds the slot busy.
     */
    private static void takeSlotFor(Streams s, Duration hold) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            String pid = s.activePid();
            if (pid != null) {
                s.sql("SELECT pg_terminate_backend(" + pid + ")");
            }
            try (Connection c = DriverManager.getConnection(s.database.jdbcUrl(), s.database.replicationProperties())) {
                PGReplicationStream stream = c.unwrap(PGConnection.class).getReplicationAPI().replicationStream().logical()
                        .withSlotName(s.slot).withSlotOption("proto_version", 1)
                        .withSlotOption("publication_names", "tidings").start();
                EventCollector.sleep(hold.toMillis());
                stream.close();
                return;
            } catch (SQLException busy) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("could not take the slot from the source", busy);
                }
                EventCollector.sleep(10);
            }
        }
    }
}
