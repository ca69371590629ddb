package dev.tidings;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.base.Identifiers;
import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Op;
import dev.tidings.testing.Json;
import dev.tidings.testing.Streams;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The streaming core against a real PostgreSQL: what each kind of change becomes. */
@Tag("postgres")
class StreamingTest {

    @Test
    void insert_update_delete_arrive_in_commit_order_with_to_jsonb_values() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE todos (id bigint PRIMARY KEY, title text, done boolean, due timestamptz, price numeric)");
            s.start();
            s.sql("INSERT INTO todos VALUES (1, 'buy milk', false, '2026-11-27 10:00:00.123456+02', 1.50)",
                    "UPDATE todos SET done = true WHERE id = 1",
                    "DELETE FROM todos WHERE id = 1");
            List<ChangeEvent> events = s.collector.await(3);
            assertThat(events).extracting(ChangeEvent::op).containsExactly(Op.INSERT, Op.UPDATE, Op.DELETE);
            assertThat(events.get(0).schema()).isEqualTo("public");
            assertThat(events.get(0).table()).isEqualTo("todos");
            assertThat(Json.row(events.get(0).record())).isEqualTo(Json.parse(
                    "{\"id\":1,\"title\":\"buy milk\",\"done\":false,\"due\":\"2026-11-27T08:00:00.123456+00:00\",\"price\":1.50}"));
            assertThat(Json.row(events.get(1).record()).get("done").asBoolean()).isTrue();
            assertThat(events.get(1).oldRecord()).as("no old row under REPLICA IDENTITY DEFAULT when the key stays").isNull();
            assertThat(events.get(2).record()).isNull();
            assertThat(Json.row(events.get(2).oldRecord())).isEqualTo(Json.parse("{\"id\":1}"));
            assertThat(Json.row(events.get(2).key())).isEqualTo(Json.parse("{\"id\":1}"));
            assertThat(events.get(0).columns()).extracting(c -> c.name() + ":" + c.type() + ":" + c.key())
                    .containsExactly("id:int8:true", "title:text:false", "done:bool:false", "due:timestamptz:false",
                            "price:numeric:false");
            Lsn a = events.get(0).tx().commitLsn();
            Lsn b = events.get(1).tx().commitLsn();
            assertThat(b.isAfter(a)).isTrue();
            assertThat(events.get(0).id()).isEqualTo(a + ":0");
        }
    }

    @Test
    void changes_of_one_transaction_share_its_commit_lsn_and_count_up() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            s.start();
            s.transaction("INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)", "UPDATE t SET id = 3 WHERE id = 2");
            List<ChangeEvent> events = s.collector.await(3);
            assertThat(events).extracting(ChangeEvent::index).containsExactly(0, 1, 2);
            assertThat(events).extracting(e -> e.tx().commitLsn()).containsOnly(events.get(0).tx().commitLsn());
            assertThat(events.get(2).oldRecord()).as("a key change sends the old key").isNotNull();
            assertThat(Json.row(events.get(2).oldRecord())).isEqualTo(Json.parse("{\"id\":2}"));
            assertThat(Json.row(events.get(2).key())).isEqualTo(Json.parse("{\"id\":3}"));
            s.collector.awaitTransactions(1);
            assertThat(s.collector.transactions.get(0).xid()).isPositive();
        }
    }

    @Test
    void aborted_transactions_are_never_delivered() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            s.start();
            try (var c = TestPostgres.connect(s.jdbcUrl); var st = c.createStatement()) {
                c.setAutoCommit(false);
                st.execute("INSERT INTO t VALUES (1)");
                c.rollback();
            }
            s.sql("INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (3)");
            // the aborted insert would have come before the committed ones
            List<ChangeEvent> events = s.collector.await(2);
            assertThat(events).extracting(e -> Json.row(e.record()).get("id").asInt()).containsExactly(2, 3);
        }
    }

    @Test
    void update_with_replica_identity_full_carries_old_row() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY, v text, n int)", "ALTER TABLE t REPLICA IDENTITY FULL",
                    "INSERT INTO t VALUES (1, 'a', 10)");
            s.start();
            s.sql("UPDATE t SET v = 'b' WHERE id = 1", "DELETE FROM t");
            List<ChangeEvent> events = s.collector.await(2);
            assertThat(Json.row(events.get(0).oldRecord())).isEqualTo(Json.parse("{\"id\":1,\"v\":\"a\",\"n\":10}"));
            assertThat(Json.row(events.get(0).record())).isEqualTo(Json.parse("{\"id\":1,\"v\":\"b\",\"n\":10}"));
            assertThat(Json.row(events.get(1).oldRecord())).isEqualTo(Json.parse("{\"id\":1,\"v\":\"b\",\"n\":10}"));
            assertThat(events.get(0).columns()).as("the key is the primary key, not every column pgoutput flags")
                    .filteredOn(c -> c.key()).extracting(c -> c.name()).containsExactly("id");
            assertThat(Json.row(events.get(1).key())).isEqualTo(Json.parse("{\"id\":1}"));
        }
    }

    @Test
    void replica_identity_nothing_sends_no_old_values_and_using_index_keys_by_the_index() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE nothing (id int PRIMARY KEY, v text)", "ALTER TABLE nothing REPLICA IDENTITY NOTHING",
                    "CREATE TABLE idx (id int PRIMARY KEY, code text NOT NULL, v text)",
                    "CREATE UNIQUE INDEX idx_code ON idx (code)", "ALTER TABLE idx REPLICA IDENTITY USING INDEX idx_code",
                    "INSERT INTO nothing VALUES (1, 'a')", "INSERT INTO idx VALUES (1, 'x', 'a')");
            s.start();
            s.sql("INSERT INTO nothing VALUES (2, 'b')", "UPDATE idx SET v = 'b'", "DELETE FROM idx");
            List<ChangeEvent> events = s.collector.await(3);
            assertThat(events.get(0).key()).as("no replica identity, no key").isNull();
            assertThat(events.get(1).columns()).filteredOn(c -> c.key()).extracting(c -> c.name()).containsExactly("code");
            assertThat(Json.row(events.get(2).oldRecord())).isEqualTo(Json.parse("{\"code\":\"x\"}"));
        }
    }

    @Test
    void unchanged_toast_columns_are_listed_and_left_out_of_the_record() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE docs (id int PRIMARY KEY, body text, n int)",
                    "ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL",
                    "INSERT INTO docs SELECT 1, string_agg(md5(i::text), '') FROM generate_series(1, 2000) i");
            s.start();
            s.sql("UPDATE docs SET n = 5 WHERE id = 1");
            ChangeEvent update = s.collector.await(1).get(0);
            assertThat(update.unchangedToast()).containsExactly("body");
            assertThat(Json.row(update.record()).has("body")).isFalse();
            assertThat(Json.row(update.record()).get("n").asInt()).isEqualTo(5);
        }
    }

    @Test
    void truncate_of_several_tables_becomes_one_event_per_table_including_cascade() {
        assumeTrue(TestPostgres.majorVersion() >= 11, "pgoutput sends TRUNCATE from PostgreSQL 11 on");
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE a (id int PRIMARY KEY)", "CREATE TABLE b (id int PRIMARY KEY)",
                    "CREATE TABLE c (id int PRIMARY KEY, a_id int REFERENCES a(id))");
            s.start();
            s.sql("TRUNCATE a, b CASCADE");
            List<ChangeEvent> events = s.collector.await(3);
            assertThat(events).extracting(ChangeEvent::op).containsOnly(Op.TRUNCATE);
            assertThat(events).extracting(ChangeEvent::table).containsExactlyInAnyOrder("a", "b", "c");
            assertThat(events).extracting(ChangeEvent::index).containsExactly(0, 1, 2);
        }
    }

    @Test
    void logical_decoding_messages_become_message_events() {
        assumeTrue(TestPostgres.majorVersion() >= 14, "pgoutput sends messages from PostgreSQL 14 on");
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            s.start();
            s.transaction("INSERT INTO t VALUES (1)", "SELECT pg_logical_emit_message(true, 'audit', 'user 7 did it')");
            s.sql("SELECT pg_logical_emit_message(false, 'ping', 'now')");
            List<ChangeEvent> events = s.collector.await(3);
            ChangeEvent tx = events.get(1);
            assertThat(tx.op()).isEqualTo(Op.MESSAGE);
            assertThat(tx.message().prefix()).isEqualTo("audit");
            assertThat(new String(tx.message().content(), StandardCharsets.UTF_8)).isEqualTo("user 7 did it");
            assertThat(tx.tx()).isEqualTo(events.get(0).tx());
            ChangeEvent alone = events.get(2);
            assertThat(alone.message().transactional()).isFalse();
            assertThat(alone.message().prefix()).isEqualTo("ping");
        }
    }

    @Test
    void partitions_are_reported_as_the_root_table_with_publish_via_partition_root() {
        assumeTrue(TestPostgres.majorVersion() >= 13, "publish_via_partition_root exists from PostgreSQL 13 on");
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE m (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
                    "CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
                    "CREATE PUBLICATION tidings FOR TABLE m WITH (publish_via_partition_root = true)");
            s.start(s.config().withPublication("tidings", List.of(Identifiers.parseTable("m"))));
            s.sql("INSERT INTO m VALUES (1, '2026-05-01')");
            ChangeEvent e = s.collector.await(1).get(0);
            assertThat(e.table()).isEqualTo("m");
            assertThat(Json.row(e.record())).isEqualTo(Json.parse("{\"id\":1,\"at\":\"2026-05-01\"}"));
        }
    }

    @Test
    void quoted_mixed_case_unicode_and_spaced_names_arrive_as_written() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE SCHEMA \"Ünï Schema\"",
                    "CREATE TABLE \"Ünï Schema\".\"My \"\"Odd\"\" Table.x\" (\"Id\" int PRIMARY KEY, \"välue with space\" text, \"😀\" int)");
            s.start(s.config().withPublication("tidings",
                    List.of(Identifiers.parseTable("\"Ünï Schema\".\"My \"\"Odd\"\" Table.x\""))));
            s.sql("INSERT INTO \"Ünï Schema\".\"My \"\"Odd\"\" Table.x\" VALUES (1, 'v', 2)");
            ChangeEvent e = s.collector.await(1).get(0);
            assertThat(e.schema()).isEqualTo("Ünï Schema");
            assertThat(e.table()).isEqualTo("My \"Odd\" Table.x");
            assertThat(Json.row(e.record())).isEqualTo(Json.parse("{\"Id\":1,\"välue with space\":\"v\",\"😀\":2}"));
        }
    }

    @Test
    void schema_changes_mid_stream_are_followed() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY, a text, b int)");
            s.start();
            s.sql("INSERT INTO t VALUES (1, 'x', 1)",
                    "ALTER TABLE t ADD COLUMN c jsonb DEFAULT '{\"k\": [1, 2]}'",
                    "INSERT INTO t VALUES (2, 'y', 2)",
                    "ALTER TABLE t DROP COLUMN a",
                    "ALTER TABLE t RENAME COLUMN b TO bee",
                    "ALTER TABLE t ALTER COLUMN bee TYPE numeric USING bee * 1.5",
                    "INSERT INTO t VALUES (3, 3.25)");
            List<ChangeEvent> events = s.collector.await(3);
            assertThat(Json.row(events.get(0).record())).isEqualTo(Json.parse("{\"id\":1,\"a\":\"x\",\"b\":1}"));
            assertThat(Json.row(events.get(1).record())).isEqualTo(Json.parse("{\"id\":2,\"a\":\"y\",\"b\":2,\"c\":{\"k\":[1,2]}}"));
            assertThat(Json.row(events.get(2).record())).isEqualTo(s.toJsonb("SELECT * FROM t WHERE id = 3").get(0));
            assertThat(events.get(2).columns()).extracting(c -> c.name() + ":" + c.type())
                    .containsExactly("id:int4", "bee:numeric", "c:jsonb");
        }
    }

    @Test
    void user_types_enums_with_values_added_later_domains_and_composites_match_to_jsonb() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TYPE mood AS ENUM ('sad', 'ok')",
                    "CREATE DOMAIN posint AS int CHECK (VALUE > 0)",
                    "CREATE TYPE pair AS (label text, n numeric)",
                    "CREATE TABLE t (id int PRIMARY KEY, m mood, p posint, pr pair, prs pair[], ms mood[])");
            s.start();
            s.sql("INSERT INTO t VALUES (1, 'ok', 5, ROW('a \"q\"', 1.50), ARRAY[ROW('x', NULL)::pair, NULL], '{sad,ok}')",
                    "ALTER TYPE mood ADD VALUE 'happy'",
                    "INSERT INTO t VALUES (2, 'happy', 7, NULL, '{}', '{happy}')");
            List<ChangeEvent> events = s.collector.await(2);
            JsonNode expected = s.toJsonb("SELECT * FROM t ORDER BY id");
            assertThat(Json.row(events.get(0).record())).isEqualTo(expected.get(0));
            assertThat(Json.row(events.get(1).record())).isEqualTo(expected.get(1));
            assertThat(events.get(0).columns()).extracting(c -> c.type())
                    .containsExactly("int4", "mood", "posint", "pair", "_pair", "_mood");
        }
    }

    @Test
    void only_the_listed_tables_reach_the_listener() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE a (id int PRIMARY KEY)", "CREATE TABLE b (id int PRIMARY KEY)",
                    "CREATE PUBLICATION tidings FOR ALL TABLES");
            s.start(s.config().withPublication("tidings", List.of(Identifiers.parseTable("public.b"))));
            s.sql("INSERT INTO a VALUES (1)", "INSERT INTO b VALUES (2)", "INSERT INTO a VALUES (3)", "INSERT INTO b VALUES (4)");
            List<ChangeEvent> events = s.collector.await(2);
            assertThat(events).extracting(ChangeEvent::table).containsExactly("b", "b");
            Set<String> tables = new HashSet<>();
            s.collector.events.forEach(e -> tables.add(e.table()));
            assertThat(tables).containsExactly("b");
        }
    }
}
