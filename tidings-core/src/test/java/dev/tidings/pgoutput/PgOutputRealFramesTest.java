package dev.tidings.pgoutput;

import dev.tidings.base.Lsn;
import dev.tidings.pgoutput.PgOutputMessage.*;
import dev.tidings.pgoutput.TupleData.Datum;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Frames recorded from a real server: {@code pg_logical_slot_peek_binary_changes} returns the
 * exact bytes pgoutput would put in XLogData, one message per row. Two-phase messages are not
 * covered here (the test server runs with {@code max_prepared_transactions = 0}); fixtures cover them.
 */
@Tag("postgres")
class PgOutputRealFramesTest {
    private static String url;
    private static int serverVersion;

    @BeforeAll
    static void database() {
        url = TestPostgres.newDatabase();
        serverVersion = TestPostgres.majorVersion();
        TestPostgres.execute(url,
                "CREATE TYPE mood AS ENUM ('sad', 'happy')",
                "CREATE TABLE todos (id bigint PRIMARY KEY, title text, done boolean, mood mood, note text)",
                "CREATE TABLE big (id int PRIMARY KEY, pad text)",
                "CREATE PUBLICATION pub FOR TABLE todos, big");
    }

    @Test
    void a_day_of_row_changes_decodes_from_real_proto_1_frames() throws Exception {
        assumeTrue(serverVersion >= 14, "the messages option needs PostgreSQL 14+");
        createSlot("day");
        TestPostgres.execute(url,
                "SET synchronous_commit = on",
                "INSERT INTO todos VALUES (1, 'buy milk', false, 'happy', NULL)",
                "UPDATE todos SET done = true WHERE id = 1",
                "UPDATE todos SET id = 2 WHERE id = 1",
                "DELETE FROM todos WHERE id = 2",
                "INSERT INTO todos VALUES (3, 'dé€😀', true, 'sad', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 1000) i))",
                "UPDATE todos SET done = false WHERE id = 3",
                "ALTER TABLE todos REPLICA IDENTITY FULL",
                "UPDATE todos SET title = 'x' WHERE id = 3",
                "DELETE FROM todos WHERE id = 3",
                "TRUNCATE todos RESTART IDENTITY CASCADE",
                "SELECT pg_logical_emit_message(false, 'nontx', 'now')",
                "SELECT pg_logical_emit_message(true, 'audit', 'hello')");

        List<PgOutputMessage> messages = decodeAll(1, peek("day", "proto_version", "1", "publication_names", "pub",
                "messages", "true"));

        assertTransactionsAreWellFormed(messages);
        var type = (PgOutputMessage.Type) messages.get(1);
        assertThat(type.xid()).isZero();
        assertThat(type.namespace()).isEqualTo("public");
        assertThat(type.name()).isEqualTo("mood");

        var relation = (Relation) messages.get(2);
        int oid = relation.relationId();
        assertThat(relation.xid()).isZero();
        assertThat(relation.namespace()).isEqualTo("public");
        assertThat(relation.name()).isEqualTo("todos");
        assertThat(relation.replicaIdentity()).isEqualTo(ReplicaIdentity.DEFAULT);
        assertThat(relation.columns()).containsExactly(
                new RelationColumn(true, "id", 20, -1),
                new RelationColumn(false, "title", 25, -1),
                new RelationColumn(false, "done", 16, -1),
                new RelationColumn(false, "mood", type.typeOid(), -1),
                new RelationColumn(false, "note", 25, -1));
        // the server sends Type and Relation again after every invalidation; the last one is under FULL
        List<Relation> relations = messages.stream().filter(Relation.class::isInstance).map(Relation.class::cast).toList();
        assertThat(relations.getLast().replicaIdentity()).isEqualTo(ReplicaIdentity.FULL);
        assertThat(relations.getLast().columns()).allMatch(RelationColumn::key);

        List<PgOutputMessage> changes = messages.stream().filter(m -> !(m instanceof Begin || m instanceof Commit
                || m instanceof PgOutputMessage.Type || m instanceof Relation)).toList();
        var insert = (Insert) changes.get(0);
        assertThat(insert.relationId()).isEqualTo(oid);
        assertThat(insert.newTuple().values()).containsExactly(text("1"), text("buy milk"), text("f"), text("happy"),
                Datum.NULL);

        var plainUpdate = (Update) changes.get(1);
        assertThat(plainUpdate.oldKind()).isNull();
        assertThat(plainUpdate.newTuple().get(2)).isEqualTo(text("t"));

        var keyUpdate = (Update) changes.get(2);
        assertThat(keyUpdate.oldKind()).isEqualTo(OldTupleKind.KEY);
        assertThat(keyUpdate.oldTuple().values()).containsExactly(text("1"), Datum.NULL, Datum.NULL, Datum.NULL, Datum.NULL);
        assertThat(keyUpdate.newTuple().get(0)).isEqualTo(text("2"));

        var delete = (Delete) changes.get(3);
        assertThat(delete.oldKind()).isEqualTo(OldTupleKind.KEY);
        assertThat(delete.oldTuple().get(0)).isEqualTo(text("2"));

        var toasted = (Insert) changes.get(4);
        assertThat(toasted.newTuple().get(1)).isEqualTo(text("dé€😀"));
        assertThat(((TupleData.Text) toasted.newTuple().get(4)).value()).hasSize(32_000);

        var toastUnchanged = (Update) changes.get(5);
        assertThat(toastUnchanged.newTuple().get(4)).isSameAs(Datum.UNCHANGED_TOAST);

        var fullUpdate = (Update) changes.get(6);
        assertThat(fullUpdate.oldKind()).isEqualTo(OldTupleKind.FULL);
        assertThat(fullUpdate.oldTuple().get(1)).isEqualTo(text("dé€😀"));
        assertThat(fullUpdate.newTuple().get(1)).isEqualTo(text("x"));

        var fullDelete = (Delete) changes.get(7);
        assertThat(fullDelete.oldKind()).isEqualTo(OldTupleKind.FULL);
        assertThat(fullDelete.oldTuple().get(1)).isEqualTo(text("x"));

        var truncate = (Truncate) changes.get(8);
        assertThat(truncate.xid()).isZero();
        assertThat(truncate.relationIds()).containsExactly(oid);
        assertThat(truncate.cascade()).isTrue();
        assertThat(truncate.restartIdentity()).isTrue();

        var nonTransactional = (PgOutputMessage.Message) changes.get(9);
        assertThat(nonTransactional.transactional()).isFalse();
        assertThat(nonTransactional.prefix()).isEqualTo("nontx");
        assertThat(nonTransactional.lsn()).isNotEqualTo(Lsn.ZERO);

        var transactional = (PgOutputMessage.Message) changes.get(10);
        assertThat(transactional.transactional()).isTrue();
        assertThat(transactional.prefix()).isEqualTo("audit");
        assertThat(new String(transactional.content(), StandardCharsets.UTF_8)).isEqualTo("hello");
        assertThat(changes).hasSize(11);
    }

    @Test
    void binary_tuples_decode_from_real_frames() throws Exception {
        assumeTrue(serverVersion >= 14, "the binary option needs PostgreSQL 14+");
        TestPostgres.execute(url, "CREATE TABLE bin (id bigint PRIMARY KEY, flag boolean)",
                "CREATE PUBLICATION binpub FOR TABLE bin");
        createSlot("bin");
        TestPostgres.execute(url, "SET synchronous_commit = on", "INSERT INTO bin VALUES (258, true)");

        List<PgOutputMessage> messages = decodeAll(1, peek("bin", "proto_version", "1", "publication_names", "binpub",
                "binary", "true"));

        var insert = (Insert) messages.get(2);
        assertThat(((TupleData.Binary) insert.newTuple().get(0)).value()).containsExactly(0, 0, 0, 0, 0, 0, 1, 2);
        assertThat(((TupleData.Binary) insert.newTuple().get(1)).value()).containsExactly(1);
    }

    @Test
    void origin_decodes_from_real_frames() throws Exception {
        TestPostgres.execute(url, "CREATE TABLE replayed (id int PRIMARY KEY)", "CREATE PUBLICATION origpub FOR TABLE replayed");
        createSlot("orig");
        try (Connection c = TestPostgres.connect(url); Statement s = c.createStatement()) {
            s.execute("SET synchronous_commit = on");
            s.execute("SELECT pg_replication_origin_create('upstream')");
            s.execute("SELECT pg_replication_origin_session_setup('upstream')");
            s.execute("BEGIN");
            s.execute("SELECT pg_replication_origin_xact_setup('0/ABCDEF', now())");
            s.execute("INSERT INTO replayed VALUES (1)");
            s.execute("COMMIT");
            s.execute("SELECT pg_replication_origin_session_reset()");
        }

        List<PgOutputMessage> messages = decodeAll(1, peek("orig", "proto_version", "1", "publication_names", "origpub"));

        // before 15 the empty transactions of the setup come first
        int origin = messages.indexOf(new Origin(Lsn.parse("0/ABCDEF"), "upstream"));
        assertThat(origin).as("%s", messages).isPositive();
        assertThat(messages.get(origin - 1)).isInstanceOf(Begin.class);
        assertThat(messages.get(origin + 2)).isInstanceOf(Insert.class);
    }

    @Test
    void streamed_transactions_decode_from_real_proto_2_frames_with_xids_inside_blocks() throws Exception {
        assumeTrue(serverVersion >= 14, "proto_version 2 needs PostgreSQL 14+");
        createSlot("stream2");
        bigTransaction("COMMIT", 0);
        bigTransaction("ROLLBACK", 10_000);

        List<PgOutputMessage> messages = decodeAll(2, peek("stream2", "proto_version", "2", "publication_names", "pub",
                "streaming", "on"));

        assertStreamed(messages, false);
    }

    @Test
    void streamed_abort_carries_abort_lsn_and_time_in_proto_4_with_parallel_streaming() throws Exception {
        assumeTrue(serverVersion >= 16, "proto_version 4 needs PostgreSQL 16+");
        createSlot("stream4");
        Instant before = Instant.now().minus(Duration.ofMinutes(1));
        bigTransaction("COMMIT", 20_000);
        bigTransaction("ROLLBACK", 30_000);

        List<PgOutputMessage> messages = decodeAll(4, peek("stream4", "proto_version", "4", "publication_names", "pub",
                "streaming", "parallel"));

        assertStreamed(messages, true);
        assumeTrue(serverVersion < 18, "PostgreSQL 18 discards a transaction it knows aborted before streaming it");
        var abort = messages.stream().filter(StreamAbort.class::isInstance).map(StreamAbort.class::cast).findFirst().orElseThrow();
        assertThat(abort.abortTime()).isAfter(before);
    }

    // ---------------------------------------------------------------- helpers

    private static void assertStreamed(List<PgOutputMessage> messages, boolean parallel) {
        int commits = 0;
        int streamedInserts = 0;
        boolean inBlock = false;
        int xid = 0;
        for (PgOutputMessage m : messages) {
            switch (m) {
                case StreamStart s -> {
                    inBlock = true;
                    xid = s.xid();
                }
                case StreamStop s -> inBlock = false;
                case Insert i -> {
                    assertThat(inBlock).isTrue();
                    assertThat(i.xid()).isEqualTo(xid).isNotZero();
                    streamedInserts++;
                }
                case Relation r -> assertThat(r.xid()).isEqualTo(inBlock ? xid : 0);
                case StreamCommit c -> {
                    commits++;
                    assertThat(c.commitLsn().isAfter(Lsn.ZERO)).isTrue();
                    assertThat(c.endLsn().isAfter(c.commitLsn())).isTrue();
                }
                case StreamAbort a -> {
                    assertThat(a.abortLsn() != null).isEqualTo(parallel);
                    assertThat(a.abortTime() != null).isEqualTo(parallel);
                    assertThat(a.subXid()).isEqualTo(a.xid());
                }
                default -> {}
            }
        }
        assertThat(commits).isEqualTo(1);
        // PostgreSQL 18 discards a transaction already known to be aborted instead of streaming it
        // (peek decodes after the fact); before 18 both transactions are streamed and one aborted
        boolean abortedIsStreamed = serverVersion < 18;
        if (abortedIsStreamed) {
            assertThat(streamedInserts).isGreaterThan(5_000);
        } else {
            assertThat(streamedInserts).isEqualTo(5_000);
        }
        assertThat(messages.stream().filter(StreamAbort.class::isInstance).count()).isEqualTo(abortedIsStreamed ? 1 : 0);
        assertThat(messages.stream().filter(StreamStart.class::isInstance).map(StreamStart.class::cast).findFirst())
                .hasValueSatisfying(s -> assertThat(s.firstSegment()).isTrue());
    }

    /** 5000 rows of ~100 bytes: more than the 64kB of decoding memory peek() allows, so the server streams it. */
    private static void bigTransaction(String end, int firstId) throws SQLException {
        try (Connection c = TestPostgres.connect(url); Statement s = c.createStatement()) {
            s.execute("SET synchronous_commit = on");
            s.execute("BEGIN");
            s.execute("INSERT INTO big SELECT i, repeat('x', 100) FROM generate_series(" + (firstId + 1) + ", "
                    + (firstId + 5000) + ") i");
            s.execute(end);
            // an abort record is not flushed by itself, and peek reads only flushed WAL
            s.execute("CREATE TABLE IF NOT EXISTS unpublished (x int)");
            s.execute("INSERT INTO unpublished VALUES (1)");
        }
    }

    private static void assertTransactionsAreWellFormed(List<PgOutputMessage> messages) {
        Begin open = null;
        for (PgOutputMessage m : messages) {
            if (m instanceof Begin b) {
                assertThat(open).isNull();
                open = b;
            } else if (m instanceof Commit c) {
                assertThat(open).isNotNull();
                assertThat(c.commitLsn()).isEqualTo(open.finalLsn());
                assertThat(c.commitTime()).isEqualTo(open.commitTime());
                assertThat(c.endLsn().isAfter(c.commitLsn())).isTrue();
                open = null;
            }
        }
        assertThat(open).isNull();
    }

    private static List<PgOutputMessage> decodeAll(int proto, List<byte[]> frames) throws DecodeException {
        PgOutputDecoder decoder = new PgOutputDecoder(proto);
        List<PgOutputMessage> out = new ArrayList<>();
        for (byte[] frame : frames) {
            out.add(decoder.decode(ByteBuffer.wrap(frame)));
        }
        assertThat(decoder.inStreamBlock()).isFalse();
        assertThat(out).isNotEmpty();
        return out;
    }

    private static void createSlot(String slot) {
        TestPostgres.execute(url, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
    }

    private static List<byte[]> peek(String slot, String... options) throws SQLException {
        try (Connection c = TestPostgres.connect(url)) {
            if (serverVersion >= 13) { // before 13 nothing is streamed, and the setting does not exist
                try (Statement s = c.createStatement()) {
                    s.execute("SET logical_decoding_work_mem = '64kB'");
                }
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT data FROM pg_logical_slot_peek_binary_changes(?, NULL, NULL, VARIADIC ?::text[])")) {
                ps.setString(1, slot);
                ps.setArray(2, c.createArrayOf("text", options));
                List<byte[]> frames = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        frames.add(rs.getBytes(1));
                    }
                }
                return frames;
            }
        }
    }

    private static TupleData.Text text(String value) {
        return new TupleData.Text(value);
    }
}
