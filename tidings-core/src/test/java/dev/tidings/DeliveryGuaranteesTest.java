package dev.tidings;

import dev.tidings.base.Identifiers;
import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import dev.tidings.source.SourceException;
import dev.tidings.testing.Await;
import dev.tidings.testing.EventCollector;
import dev.tidings.testing.Json;
import dev.tidings.testing.Streams;
import dev.tidings.testing.TestPostgres;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Guarantees 1–3 in docs/architecture.md: at least once, in order, confirmed only when delivered. */
@Tag("postgres")
class DeliveryGuaranteesTest {

    @Test
    void restart_with_the_same_slot_resumes_after_the_last_acknowledged_transaction() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            s.start();
            s.sql("INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)");
            s.collector.awaitTransactions(2);
            s.stop();
            s.sql("INSERT INTO t VALUES (3)", "INSERT INTO t VALUES (4)");

            EventCollector second = new EventCollector();
            try (Tidings again = Tidings.start(s.config(), second)) {
                awaitStreaming(again);
                s.sql("INSERT INTO t VALUES (5)");
                // a redelivery of 1 or 2 would have come before 5
                List<ChangeEvent> events = second.await(3);
                assertThat(events).extracting(e -> Json.row(e.record()).get("id").asInt()).containsExactly(3, 4, 5);
            }
        }
    }

    @Test
    void a_failing_listener_stops_the_stream_and_the_transaction_comes_again_with_the_same_ids() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            String[] refused = new String[1];
            s.collector.failOn(e -> {
                boolean refuse = Json.row(e.record()).get("id").asInt() == 2;
                if (refuse) {
                    refused[0] = e.id();
                }
                return refuse;
            });
            s.start();
            s.sql("INSERT INTO t VALUES (1)");
            s.transaction("INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (3)");
            s.collector.awaitTransactions(1);
            assertThat(s.tidings().await(10_000)).as("the stream ends when the listener throws").isTrue();
            assertThat(s.tidings().failure()).hasMessageContaining("listener refuses");

            EventCollector second = new EventCollector();
            try (Tidings again = Tidings.start(s.config(), second)) {
                List<ChangeEvent> events = second.await(2);
                assertThat(events).extracting(e -> Json.row(e.record()).get("id").asInt()).containsExactly(2, 3);
                assertThat(events.get(0).id()).isEqualTo(refused[0]).endsWith(":0");
                assertThat(events.get(1).id()).endsWith(":1");
            }
        }
    }

    @Test
    void the_slot_never_passes_a_transaction_the_listener_has_not_returned_from() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch inside = new CountDownLatch(1);
            ChangeListener slow = event -> {
                if (Json.row(event.record()).get("id").asInt() == 2) {
                    inside.countDown();
                    release.await(30, TimeUnit.SECONDS);
                }
            };
            try (Tidings tidings = Tidings.start(s.config(), slow)) {
                awaitStreaming(tidings);
                s.sql("INSERT INTO t VALUES (1)");
                String afterFirst = s.queryValue("SELECT pg_current_wal_insert_lsn()::text");
                s.sql("INSERT INTO t VALUES (2)");
                assertThat(inside.await(30, TimeUnit.SECONDS)).isTrue();
                Lsn secondStart = Lsn.parse(afterFirst);
                if (TestPostgres.majorVersion() >= 12) { // reply_time tells when the source last reported
                    awaitStatusUpdateAfterNow(s);
                    Lsn confirmed = s.confirmedFlush();
                    assertThat(confirmed.compareTo(secondStart)).as("confirmed %s must not pass %s", confirmed, secondStart)
                            .isLessThanOrEqualTo(0);
                }
                release.countDown();
                awaitConfirmedPast(s, secondStart);
            }
        }
    }

    @Test
    void an_idle_or_filtered_database_still_confirms_the_server_position() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE watched (id int PRIMARY KEY)", "CREATE TABLE other (id int PRIMARY KEY)");
            s.start(s.config().withPublication("tidings", List.of(Identifiers.parseTable("watched"))));
            s.sql("INSERT INTO other SELECT generate_series(1, 1000)");
            Lsn after = Lsn.parse(s.queryValue("SELECT pg_current_wal_insert_lsn()::text"));
            awaitConfirmedPast(s, after);
            assertThat(s.collector.events).isEmpty();
        }
    }

    @Test
    void a_slow_listener_keeps_the_connection_alive_past_wal_sender_timeout() {
        assumeTrue(TestPostgres.majorVersion() >= 12, "wal_sender_timeout can be set per connection from PostgreSQL 12 on");
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            DatabaseUrl shortTimeout = DatabaseUrl.parse(s.jdbcUrl + "&options=-c%20wal_sender_timeout=1000");
            SourceConfig config = SourceConfig.of(shortTimeout).withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(1));
            EventCollector collector = new EventCollector();
            ChangeListener slow = event -> {
                sleep(40);
                collector.onEvent(event);
            };
            try (Tidings tidings = Tidings.start(config, slow)) {
                awaitStreaming(tidings);
                s.sql("INSERT INTO t SELECT generate_series(1, 100)");
                collector.await(100, Duration.ofSeconds(60));
                s.sql("INSERT INTO t VALUES (101)");
                // a reconnect would have sent the unconfirmed rows again before 101
                List<ChangeEvent> events = collector.await(101, Duration.ofSeconds(30));
                assertThat(events).extracting(e -> Json.row(e.record()).get("id").asInt())
                        .as("no reconnect, so no duplicate").containsExactlyElementsOf(IntStream.rangeClosed(1, 101).boxed().toList());
            }
        }
    }

    @Test
    void the_stream_reconnects_after_the_connection_is_killed_and_loses_nothing() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            s.start();
            s.sql("INSERT INTO t VALUES (1)");
            s.collector.awaitTransactions(1);
            s.sql("SELECT pg_terminate_backend(" + s.activePid() + ")");
            s.sql("INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (3)");
            Await.until(Duration.ofSeconds(30), () -> "row 3; got " + s.collector.summary(),
                    () -> s.collector.events.stream().anyMatch(e -> Json.row(e.record()).get("id").asInt() == 3));
            Map<Integer, String> idByRow = new LinkedHashMap<>();
            for (ChangeEvent e : s.collector.events) {
                String previous = idByRow.putIfAbsent(Json.row(e.record()).get("id").asInt(), e.id());
                assertThat(previous).as("a redelivered change keeps its id").isIn(null, e.id());
            }
            assertThat(idByRow.keySet()).containsExactly(1, 2, 3);
        }
    }

    @Test
    void a_slot_busy_in_another_process_is_reported_with_its_pid() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            s.start();
            String pid = s.activePid();
            try (Tidings second = Tidings.start(s.config(), new EventCollector())) {
                assertThat(second.await(20_000)).isTrue();
                assertThat(second.failure()).isInstanceOf(SourceException.class)
                        .hasMessageContaining("in use by another process (PID " + pid + ")")
                        .hasMessageContaining("pg_terminate_backend(" + pid + ")");
            }
        }
    }

    @Test
    void a_slot_of_another_plugin_is_refused_with_the_fix() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("SELECT pg_create_logical_replication_slot('" + s.slot + "', 'test_decoding')");
            try (Tidings t = Tidings.start(s.config(), new EventCollector())) {
                assertThat(t.await(20_000)).isTrue();
                assertThat(t.failure()).isInstanceOf(SourceException.class)
                        .hasMessageContaining("uses the output plugin test_decoding")
                        .hasMessageContaining("pg_drop_replication_slot('" + s.slot + "')");
            }
        }
    }

    @Test
    void an_invalidated_slot_stops_the_stream_with_how_to_recover_and_is_not_recreated() throws Exception {
        assumeTrue(TestPostgres.majorVersion() >= 13, "max_slot_wal_keep_size exists from PostgreSQL 13 on");
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder().setServerConfig("wal_level", "logical")
                .setServerConfig("max_slot_wal_keep_size", "1MB").setServerConfig("max_wal_size", "32MB")
                .setServerConfig("min_wal_size", "32MB").start()) {
            String url = "jdbc:postgresql://localhost:" + pg.getPort() + "/postgres?user=postgres";
            TestPostgres.execute(url, "CREATE TABLE t (id int PRIMARY KEY, pad text)");
            SourceConfig config = SourceConfig.of(DatabaseUrl.parse(url)).withSlot("doomed", false)
                    .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(1));
            try (Tidings first = Tidings.start(config, new EventCollector())) {
                awaitStreaming(first);
            }
            for (int i = 0; i < 6; i++) {
                TestPostgres.execute(url, "INSERT INTO t SELECT g + " + i * 10_000 + ", repeat('x', 500) FROM generate_series(1, 10000) g",
                        "SELECT pg_switch_wal()");
            }
            TestPostgres.execute(url, "CHECKPOINT");
            String status;
            try (var c = TestPostgres.connect(url); var st = c.createStatement();
                 var rs = st.executeQuery("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'doomed'")) {
                rs.next();
                status = rs.getString(1);
            }
            assertThat(status).as("the server invalidated the slot").isEqualTo("lost");
            try (Tidings again = Tidings.start(config, new EventCollector())) {
                assertThat(again.await(20_000)).isTrue();
                assertThat(again.failure()).isInstanceOf(SourceException.class)
                        .hasMessageContaining("was invalidated").hasMessageContaining("pg_drop_replication_slot('doomed')")
                        .hasMessageContaining("re-snapshot");
            }
            try (var c = TestPostgres.connect(url); var st = c.createStatement();
                 var rs = st.executeQuery("SELECT count(*) FROM pg_replication_slots")) {
                rs.next();
                assertThat(rs.getInt(1)).as("no new slot was created").isEqualTo(1);
            }
        }
    }

    static void awaitStreaming(Tidings tidings) {
        Await.until(Duration.ofSeconds(30), () -> "the stream to start; failure: " + tidings.failure(), tidings::streaming);
    }

    static void awaitConfirmedPast(Streams s, Lsn target) {
        Await.value(Duration.ofSeconds(30), "the slot confirmed past " + target, s::confirmedFlush,
                confirmed -> confirmed.compareTo(target) >= 0);
    }

    /**
     * Waits for a standby status update that the source sent after this call (pg_stat_replication's
     * reply_time, PostgreSQL 12 on): what the slot says after it is what Tidings confirmed then.
     */
    static void awaitStatusUpdateAfterNow(Streams s) {
        String now = s.queryValue("SELECT clock_timestamp()::text");
        Await.until(Duration.ofSeconds(30), "a status update from the blocked source", () -> "t".equals(s.queryValue(
                "SELECT reply_time > '" + now + "'::timestamptz FROM pg_stat_replication WHERE pid = " + s.activePid())));
    }

    static void sleep(long ms) {
        EventCollector.sleep(ms);
    }
}
