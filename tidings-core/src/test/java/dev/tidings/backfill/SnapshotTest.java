package dev.tidings.backfill;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.event.Op;
import dev.tidings.base.Identifiers;
import dev.tidings.base.Lsn;
import dev.tidings.source.SourceConfig;
import dev.tidings.source.SourceException;
import dev.tidings.testing.Await;
import dev.tidings.testing.Fold;
import dev.tidings.testing.Json;
import dev.tidings.testing.RandomWriter;
import dev.tidings.testing.Streams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Initial snapshots through the embedded API against a real PostgreSQL: the rows read by the
 * backfill and the changes of a concurrent writer fold to exactly the table, read events carry
 * their backfill and chunk, values of every kind are exactly to_jsonb's (on both the bytes path the
 * engine reads them on and the Strings decoded from it), a table without a key is refused, and a
 * slot snapshots only once.
 */
@Tag("postgres")
class SnapshotTest {
    private static final EventFormat TIDINGS = EventFormat.named("tidings");

    @Test
    void snapshot_and_changes_of_a_concurrent_writer_fold_to_the_table() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql(RandomWriter.createTable(20_000));
            s.sql("CREATE PUBLICATION tidings FOR ALL TABLES");
            RandomWriter writer = new RandomWriter(s.jdbcUrl, 20_000, 7, 2);
            Thread w = Thread.ofPlatform().name("writer").start(writer);
            s.start(s.config().withSnapshot(new SourceConfig.Snapshot(500, 0)));
            awaitDone(s);
            writer.stopAndJoin(w);
            awaitConfirmed(s);

            Fold fold = new Fold();
            Set<String> ids = new HashSet<>();
            long lastChunk = -1;
            int lastFlags = 0;
            for (ChangeEvent e : s.collector.events) {
                JsonNode json = Json.event(e, TIDINGS);
                fold.apply(json);
                if (e.op() == Op.READ) {
                    assertThat(ids.add(e.id())).as("read ids are unique: %s", e.id()).isTrue();
                    assertThat(e.snapshot().backfill()).isEqualTo("initial");
                    assertThat(e.snapshot().chunk()).isGreaterThanOrEqualTo(lastChunk);
                    lastChunk = e.snapshot().chunk();
                    lastFlags += e.snapshot().last() ? 1 : 0;
                    assertThat(json.get("snapshot").get("chunk").asLong()).isEqualTo(lastChunk);
                }
            }
            assertThat(fold.differences(s.toJsonb("SELECT * FROM items ORDER BY id"))).isEmpty();
            assertThat(fold.reads).as("rows read").isGreaterThan(15_000);
            assertThat(fold.changes).as("changes seen during the snapshot").isGreaterThan(50);
            assertThat(lastChunk).isGreaterThanOrEqualTo(35);
            assertThat(lastFlags).as("events flagged last").isLessThanOrEqualTo(1);
            assertThat(writer.transactions.get()).isGreaterThan(50);
        }
    }

    /**
     * A transaction that waits for a synchronous standby is committed in the WAL (the stream delivers it) but not yet
     * visible to new snapshots: a chunk read then must not deliver the row as it was before, after the change. Here
     * the standby never comes until the test releases the transaction.
     */
    @Test
    void a_change_committed_but_not_yet_visible_is_not_overwritten_by_an_older_read() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY, v int)", "INSERT INTO t SELECT g, 0 FROM generate_series(1, 100) g",
                    "CREATE PUBLICATION tidings FOR ALL TABLES");
            s.start(s.config().withSnapshot(new SourceConfig.Snapshot(30, 0)));
            awaitDone(s);
            Thread waiting = null;
            try {
                s.sql("ALTER SYSTEM SET synchronous_standby_names = 'absent_standby'", "SELECT pg_reload_conf()");
                waiting = Thread.ofPlatform().name("waits-for-standby").start(() ->
                        s.sql("SET synchronous_commit = on", "UPDATE t SET v = 1 WHERE id = 7"));
                Await.until(Duration.ofSeconds(30), "the update to wait for the standby", () ->
                        "1".equals(s.queryValue("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")));
                s.collector.await(101); // 100 reads and the update: the stream has it although no snapshot sees it
                assertThat(s.queryValue("SELECT v FROM t WHERE id = 7")).isEqualTo("0");

                String backfill = s.tidings().backfiller().submit(List.of(Identifiers.parseTable("public.t")), null, "");
                Thread.sleep(2_000);
                assertThat(s.queryValue("SELECT string_agg(DISTINCT state, ',') FROM tidings.backfills WHERE backfill = '"
                        + backfill + "'")).as("the backfill waits for the committed update to become visible")
                        .isEqualTo("running");
            } finally {
                s.sql("ALTER SYSTEM RESET synchronous_standby_names", "SELECT pg_reload_conf()");
                if (waiting != null) {
                    waiting.join(30_000);
                }
            }
            awaitDone(s);
            awaitConfirmed(s);
            Fold fold = new Fold();
            s.collector.events.forEach(e -> fold.apply(Json.event(e, TIDINGS)));
            assertThat(fold.differences(s.toJsonb("SELECT * FROM t ORDER BY id"))).isEmpty();
            assertThat(fold.reads).as("rows read by both backfills").isGreaterThanOrEqualTo(199);
        }
    }

    @Test
    void snapshot_values_of_every_kind_are_exactly_what_to_jsonb_gives() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE DOMAIN blob AS bytea", "CREATE DOMAIN amount AS numeric", "CREATE TYPE mood AS ENUM ('sad', 'ok')",
                    "CREATE TYPE pair AS (x int, label text)",
                    "CREATE TABLE kinds (id int PRIMARY KEY, b bool, i8 int8, f8 float8, n numeric, a amount, t text, "
                            + "j json, jb jsonb, ts timestamp, tz timestamptz, d date, by bytea, bl blob, arr int[], "
                            + "m mood, p pair, u uuid)",
                    "INSERT INTO kinds VALUES (1, true, -9223372036854775808, 1e-7, 1.50, 'NaN', "
                            + "E'quote \" back\\\\slash\nnew line \u0001 é 😀', '{\"b\": 1, \"a\": [1e2, -0]}', "
                            + "'{\"k\": \"v\"}', '2026-11-27 10:00:00.5', '2026-11-27 10:00:00+05:30', '0044-03-15 BC', "
                            + "'\\x00ff', '\\xdead', '{1,NULL,3}', 'ok', '(7,\"a b\")', "
                            + "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')",
                    "INSERT INTO kinds VALUES (2, false, 0, 'Infinity', '-0', '1e3', 'plain', '[]', 'null', 'infinity', "
                            + "'0044-03-15 10:00:00+00 BC', 'infinity', '', '', '{}', 'sad', '(,)', "
                            + "'00000000-0000-0000-0000-000000000000')",
                    "INSERT INTO kinds (id) VALUES (3)",
                    "CREATE PUBLICATION tidings FOR ALL TABLES");
            s.start(s.config().withSnapshot(new SourceConfig.Snapshot(2, 0)));
            awaitDone(s);
            List<ChangeEvent> reads = s.collector.await(3);
            JsonNode table = s.toJsonb("SELECT * FROM kinds ORDER BY id");
            for (int i = 0; i < 3; i++) {
                assertThat(reads.get(i).op()).isEqualTo(Op.READ);
                assertThat(Json.event(reads.get(i), TIDINGS).get("record")).as("row %d", i + 1).isEqualTo(table.get(i));
                assertThat(Json.row(reads.get(i).record())).as("row %d as Strings", i + 1).isEqualTo(table.get(i));
            }
        }
    }

    @Test
    void a_slot_snapshots_once_and_a_restart_streams_only_changes() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY, note text)", "INSERT INTO t SELECT g, 'n' FROM generate_series(1, 50) g",
                    "CREATE PUBLICATION tidings FOR ALL TABLES");
            SourceConfig config = s.config().withSnapshot(new SourceConfig.Snapshot(7, 0));
            s.start(config);
            awaitDone(s);
            List<ChangeEvent> first = s.collector.await(50);
            assertThat(first).allMatch(e -> e.op() == Op.READ);
            assertThat(first.get(49).snapshot().last()).isTrue();
            assertThat(first.get(49).snapshot().chunk()).isEqualTo(7);
            s.stop();

            s.collector.events.clear();
            s.start(config);
            s.sql("INSERT INTO t VALUES (51, 'after')");
            List<ChangeEvent> second = s.collector.await(1);
            assertThat(second).hasSize(1);
            assertThat(second.get(0).op()).isEqualTo(Op.INSERT);
        }
    }

    @Test
    void a_table_without_a_key_is_refused_with_the_fix() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE loose (a int, b text)", "CREATE PUBLICATION tidings FOR ALL TABLES");
            s.start(s.config().withSnapshot(SourceConfig.Snapshot.DEFAULT));
            assertThat(s.tidings().await(30_000)).isTrue();
            assertThat(s.tidings().failure()).isInstanceOf(SourceException.class)
                    .hasMessageContaining("public.loose").hasMessageContaining("ADD PRIMARY KEY");
        }
    }

    static void awaitDone(Streams s) {
        Await.until(Duration.ofSeconds(90), () -> "the snapshot done (state " + state(s) + ")", () -> {
            if (s.tidings().failure() != null) {
                throw new AssertionError("stream failed", s.tidings().failure());
            }
            return "done".equals(state(s));
        });
    }

    private static String state(Streams s) {
        return s.queryValue("SELECT to_regclass('tidings.backfills')") == null ? "not created"
                : s.queryValue("SELECT string_agg(DISTINCT state, ',') FROM tidings.backfills WHERE slot = '" + s.slot + "'");
    }

    static void awaitConfirmed(Streams s) {
        Lsn target = Lsn.parse(s.queryValue("SELECT pg_current_wal_insert_lsn()::text"));
        Await.until(Duration.ofSeconds(60), "the slot to confirm " + target, () -> s.confirmedFlush().compareTo(target) >= 0);
    }
}
