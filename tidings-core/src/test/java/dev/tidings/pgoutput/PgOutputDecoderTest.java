package dev.tidings.pgoutput;

import dev.tidings.base.Lsn;
import dev.tidings.pgoutput.PgOutputMessage.*;
import dev.tidings.pgoutput.TupleData.Datum;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

import static dev.tidings.pgoutput.PgOutputWriter.message;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Hand-built byte fixtures, one or more per message type and per proto version where the layout
 * differs. Fixtures are written field by field, independently of {@link PgOutputWriter#encode}.
 */
@Tag("unit")
class PgOutputDecoderTest {
    private static final Instant COMMIT_TIME = Instant.parse("2026-11-27T10:00:00.123456Z");
    /** The same instant as PostgreSQL sends it, computed by hand: µs from 2000-01-01 to COMMIT_TIME. */
    private static final long COMMIT_TIME_MICROS = 849_088_800_123_456L;
    private static final Instant LATER = Instant.parse("2026-11-27T10:00:01Z");
    private static final Lsn LSN_A = Lsn.parse("16/B374D848");
    private static final Lsn LSN_B = Lsn.parse("16/B374D8F0");

    // ---------------------------------------------------------------- transaction boundaries

    @Test
    void begin_carries_final_lsn_commit_time_and_xid() throws Exception {
        var b = (Begin) decode(1, message('B').lsn(LSN_A).int64(COMMIT_TIME_MICROS).int32(742));
        assertThat(b.finalLsn()).isEqualTo(LSN_A);
        assertThat(b.commitTime()).isEqualTo(COMMIT_TIME);
        assertThat(b.xid()).isEqualTo(742);
    }

    @Test
    void commit_carries_flags_commit_lsn_end_lsn_and_time() throws Exception {
        var c = (Commit) decode(1, message('C').int8(0).lsn(LSN_A).lsn(LSN_B).int64(COMMIT_TIME_MICROS));
        assertThat(c).isEqualTo(new Commit((byte) 0, LSN_A, LSN_B, COMMIT_TIME));
    }

    @Test
    void timestamps_count_microseconds_from_the_postgres_epoch_both_ways() throws Exception {
        var epoch = (Begin) decode(1, message('B').int64(0).int64(0).int32(1));
        assertThat(epoch.commitTime()).isEqualTo(Instant.parse("2000-01-01T00:00:00Z"));
        assertThat(epoch.finalLsn()).isSameAs(Lsn.ZERO);
        var before = (Begin) decode(1, message('B').int64(0).int64(-1).int32(1));
        assertThat(before.commitTime()).isEqualTo(Instant.parse("1999-12-31T23:59:59.999999Z"));
        var extreme = (Begin) decode(1, message('B').int64(-1).int64(Long.MAX_VALUE).int32(1));
        assertThat(extreme.commitTime()).isAfter(Instant.parse("+294000-01-01T00:00:00Z"));
        assertThat(extreme.finalLsn().toString()).isEqualTo("FFFFFFFF/FFFFFFFF");
    }

    @Test
    void origin_carries_lsn_and_name() throws Exception {
        var o = (Origin) decode(1, message('O').lsn(LSN_A).string("upstream"));
        assertThat(o).isEqualTo(new Origin(LSN_A, "upstream"));
    }

    // ---------------------------------------------------------------- logical decoding messages

    @Test
    void message_outside_a_stream_block_has_no_xid() throws Exception {
        var m = (PgOutputMessage.Message) decode(1,
                message('M').int8(1).lsn(LSN_A).string("audit").int32(3).raw((byte) 1, (byte) 0, (byte) -1));
        assertThat(m.xid()).isZero();
        assertThat(m.transactional()).isTrue();
        assertThat(m.lsn()).isEqualTo(LSN_A);
        assertThat(m.prefix()).isEqualTo("audit");
        assertThat(m.content()).containsExactly(1, 0, -1);
    }

    @Test
    void non_transactional_message_with_empty_content_decodes() throws Exception {
        var m = (PgOutputMessage.Message) decode(1, message('M').int8(0).lsn(LSN_B).string("").int32(0));
        assertThat(m.transactional()).isFalse();
        assertThat(m.prefix()).isEmpty();
        assertThat(m.content()).isEmpty();
    }

    @Test
    void message_inside_a_stream_block_carries_the_xid() throws Exception {
        var d = streamingDecoder(2, 900);
        var m = (PgOutputMessage.Message) d.decode(message('M').int32(900).int8(1).lsn(LSN_A).string("p").int32(1)
                .int8('x').buffer());
        assertThat(m.xid()).isEqualTo(900);
        assertThat(m.prefix()).isEqualTo("p");
        assertThat(m.content()).containsExactly('x');
    }

    // ---------------------------------------------------------------- relation and type

    @Test
    void relation_carries_namespace_name_identity_and_columns() throws Exception {
        var r = (Relation) decode(1, message('R').int32(16384).string("public").string("todos").int8('d').int16(3)
                .int8(1).string("id").int32(20).int32(-1)
                .int8(0).string("title").int32(1043).int32(104)
                .int8(0).string("done").int32(16).int32(-1));
        assertThat(r.xid()).isZero();
        assertThat(r.relationId()).isEqualTo(16384);
        assertThat(r.namespace()).isEqualTo("public");
        assertThat(r.name()).isEqualTo("todos");
        assertThat(r.replicaIdentity()).isEqualTo(ReplicaIdentity.DEFAULT);
        assertThat(r.columns()).containsExactly(
                new RelationColumn(true, "id", 20, -1),
                new RelationColumn(false, "title", 1043, 104),
                new RelationColumn(false, "done", 16, -1));
    }

    @ParameterizedTest
    @ValueSource(chars = {'d', 'n', 'f', 'i'})
    void relation_maps_every_replica_identity_code(char code) throws Exception {
        var r = (Relation) decode(1, message('R').int32(1).string("s").string("t").int8(code).int16(0));
        assertThat(r.replicaIdentity()).isEqualTo(switch (code) {
            case 'd' -> ReplicaIdentity.DEFAULT;
            case 'n' -> ReplicaIdentity.NOTHING;
            case 'f' -> ReplicaIdentity.FULL;
            default -> ReplicaIdentity.INDEX;
        });
        assertThat(r.columns()).isEmpty();
    }

    @Test
    void relation_with_empty_namespace_is_in_pg_catalog() throws Exception {
        var r = (Relation) decode(1, message('R').int32(1262).string("").string("pg_database").int8('n').int16(0));
        assertThat(r.namespace()).isEqualTo("pg_catalog");
    }

    @Test
    void relation_names_decode_as_utf8() throws Exception {
        var r = (Relation) decode(1, message('R').int32(1).string("schéma").string("表😀").int8('f').int16(1)
                .int8(1).string("ключ").int32(25).int32(-1));
        assertThat(r.namespace()).isEqualTo("schéma");
        assertThat(r.name()).isEqualTo("表😀");
        assertThat(r.columns().getFirst().name()).isEqualTo("ключ");
    }

    @Test
    void relation_inside_a_stream_block_carries_the_xid() throws Exception {
        var d = streamingDecoder(2, 77);
        var r = (Relation) d.decode(message('R').int32(77).int32(16384).string("public").string("t").int8('i').int16(1)
                .int8(1).string("id").int32(23).int32(-1).buffer());
        assertThat(r.xid()).isEqualTo(77);
        assertThat(r.relationId()).isEqualTo(16384);
        assertThat(r.replicaIdentity()).isEqualTo(ReplicaIdentity.INDEX);
        assertThat(r.columns()).containsExactly(new RelationColumn(true, "id", 23, -1));
    }

    @Test
    void relation_columns_are_immutable() throws Exception {
        var r = (Relation) decode(1, message('R').int32(1).string("s").string("t").int8('d').int16(1)
                .int8(0).string("a").int32(23).int32(-1));
        assertThatThrownBy(() -> r.columns().set(0, null)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void type_carries_oid_namespace_and_name() throws Exception {
        var t = (PgOutputMessage.Type) decode(1, message('Y').int32(16390).string("public").string("mood"));
        assertThat(t).isEqualTo(new PgOutputMessage.Type(0, 16390, "public", "mood"));
    }

    @Test
    void type_inside_a_stream_block_carries_the_xid_and_empty_namespace_is_pg_catalog() throws Exception {
        var d = streamingDecoder(3, 5);
        var t = (PgOutputMessage.Type) d.decode(message('Y').int32(5).int32(16390).string("").string("mood").buffer());
        assertThat(t).isEqualTo(new PgOutputMessage.Type(5, 16390, "pg_catalog", "mood"));
    }

    // ---------------------------------------------------------------- row changes

    @Test
    void insert_decodes_every_datum_kind() throws Exception {
        var i = (Insert) decode(1, message('I').int32(16384).int8('N').int16(6)
                .int8('t').int32(1).raw("5".getBytes(StandardCharsets.UTF_8))
                .int8('n')
                .int8('u')
                .int8('t').int32(0)
                .int8('t').int32(9).raw("naïve€".getBytes(StandardCharsets.UTF_8))
                .int8('b').int32(4).int32(42));
        assertThat(i.xid()).isZero();
        assertThat(i.relationId()).isEqualTo(16384);
        TupleData row = i.newTuple();
        assertThat(row.size()).isEqualTo(6);
        assertThat(row.get(0)).isEqualTo(new TupleData.Text("5"));
        assertThat(row.get(1)).isSameAs(Datum.NULL);
        assertThat(row.get(2)).isSameAs(Datum.UNCHANGED_TOAST);
        assertThat(row.get(3)).isEqualTo(new TupleData.Text(""));
        assertThat(row.get(4)).isEqualTo(new TupleData.Text("naïve€"));
        assertThat(((TupleData.Binary) row.get(5)).value()).containsExactly(0, 0, 0, 42);
    }

    @Test
    void insert_with_no_columns_decodes() throws Exception {
        var i = (Insert) decode(1, message('I').int32(7).int8('N').int16(0));
        assertThat(i.newTuple().values()).isEmpty();
    }

    @Test
    void insert_inside_a_stream_block_carries_the_xid() throws Exception {
        var d = streamingDecoder(2, 1234);
        var i = (Insert) d.decode(message('I').int32(1234).int32(16384).int8('N').int16(1).int8('t').int32(2)
                .raw((byte) '4', (byte) '2').buffer());
        assertThat(i.xid()).isEqualTo(1234);
        assertThat(i.relationId()).isEqualTo(16384);
        assertThat(i.newTuple().values()).containsExactly(new TupleData.Text("42"));
    }

    @Test
    void insert_after_a_stream_stop_has_no_xid_again() throws Exception {
        var d = streamingDecoder(2, 1234);
        d.decode(message('E').buffer());
        assertThat(d.inStreamBlock()).isFalse();
        var i = (Insert) d.decode(message('I').int32(16384).int8('N').int16(0).buffer());
        assertThat(i.xid()).isZero();
        assertThat(i.relationId()).isEqualTo(16384);
    }

    @Test
    void update_without_old_tuple_has_null_old_kind_and_tuple() throws Exception {
        var u = (Update) decode(1, message('U').int32(16384).int8('N').int16(2).int8('t').int32(1).int8('1').int8('u'));
        assertThat(u.xid()).isZero();
        assertThat(u.relationId()).isEqualTo(16384);
        assertThat(u.oldKind()).isNull();
        assertThat(u.oldTuple()).isNull();
        assertThat(u.newTuple().values()).containsExactly(new TupleData.Text("1"), Datum.UNCHANGED_TOAST);
    }

    @Test
    void update_of_a_key_carries_the_old_key_columns() throws Exception {
        var u = (Update) decode(1, message('U').int32(16384)
                .int8('K').int16(2).int8('t').int32(1).int8('1').int8('n')
                .int8('N').int16(2).int8('t').int32(1).int8('2').int8('t').int32(1).int8('x'));
        assertThat(u.oldKind()).isEqualTo(OldTupleKind.KEY);
        assertThat(u.oldTuple().values()).containsExactly(new TupleData.Text("1"), Datum.NULL);
        assertThat(u.newTuple().values()).containsExactly(new TupleData.Text("2"), new TupleData.Text("x"));
    }

    @Test
    void update_with_replica_identity_full_carries_old_row() throws Exception {
        var u = (Update) decode(1, message('U').int32(16384)
                .int8('O').int16(1).int8('t').int32(3).raw("old".getBytes(StandardCharsets.UTF_8))
                .int8('N').int16(1).int8('t').int32(3).raw("new".getBytes(StandardCharsets.UTF_8)));
        assertThat(u.oldKind()).isEqualTo(OldTupleKind.FULL);
        assertThat(u.oldTuple().values()).containsExactly(new TupleData.Text("old"));
        assertThat(u.newTuple().values()).containsExactly(new TupleData.Text("new"));
    }

    @Test
    void update_inside_a_stream_block_carries_the_xid() throws Exception {
        var d = streamingDecoder(4, 31);
        var u = (Update) d.decode(message('U').int32(31).int32(16384).int8('K').int16(1).int8('t').int32(1).int8('1')
                .int8('N').int16(1).int8('t').int32(1).int8('2').buffer());
        assertThat(u.xid()).isEqualTo(31);
        assertThat(u.relationId()).isEqualTo(16384);
        assertThat(u.oldKind()).isEqualTo(OldTupleKind.KEY);
    }

    @Test
    void delete_carries_the_old_key() throws Exception {
        var d = (Delete) decode(1, message('D').int32(16384).int8('K').int16(2).int8('t').int32(1).int8('9').int8('n'));
        assertThat(d.xid()).isZero();
        assertThat(d.relationId()).isEqualTo(16384);
        assertThat(d.oldKind()).isEqualTo(OldTupleKind.KEY);
        assertThat(d.oldTuple().values()).containsExactly(new TupleData.Text("9"), Datum.NULL);
    }

    @Test
    void delete_with_replica_identity_full_carries_old_row() throws Exception {
        var d = (Delete) decode(1, message('D').int32(16384).int8('O').int16(1).int8('b').int32(2).int16(7));
        assertThat(d.oldKind()).isEqualTo(OldTupleKind.FULL);
        assertThat(((TupleData.Binary) d.oldTuple().get(0)).value()).containsExactly(0, 7);
    }

    @Test
    void delete_inside_a_stream_block_carries_the_xid() throws Exception {
        var dec = streamingDecoder(2, 8);
        var d = (Delete) dec.decode(message('D').int32(8).int32(16384).int8('K').int16(0).buffer());
        assertThat(d.xid()).isEqualTo(8);
        assertThat(d.relationId()).isEqualTo(16384);
    }

    @Test
    void truncate_carries_options_and_every_relation() throws Exception {
        var t = (Truncate) decode(1, message('T').int32(3).int8(3).int32(16384).int32(16390).int32(-5));
        assertThat(t.xid()).isZero();
        assertThat(t.cascade()).isTrue();
        assertThat(t.restartIdentity()).isTrue();
        assertThat(t.relationIds()).containsExactly(16384, 16390, -5);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2})
    void truncate_options_are_independent_bits(int options) throws Exception {
        var t = (Truncate) decode(1, message('T').int32(1).int8(options).int32(16384));
        assertThat(t.cascade()).isEqualTo(options == 1);
        assertThat(t.restartIdentity()).isEqualTo(options == 2);
    }

    @Test
    void truncate_inside_a_stream_block_carries_the_xid() throws Exception {
        var d = streamingDecoder(2, 66);
        var t = (Truncate) d.decode(message('T').int32(66).int32(1).int8(0).int32(16384).buffer());
        assertThat(t.xid()).isEqualTo(66);
        assertThat(t.relationIds()).containsExactly(16384);
    }

    // ---------------------------------------------------------------- streaming (proto 2+)

    @Test
    void stream_start_opens_a_block_and_stream_stop_closes_it() throws Exception {
        var d = new PgOutputDecoder(2);
        var s = (StreamStart) d.decode(message('S').int32(500).int8(1).buffer());
        assertThat(s).isEqualTo(new StreamStart(500, true));
        assertThat(d.inStreamBlock()).isTrue();
        assertThat(d.decode(message('E').buffer())).isEqualTo(new StreamStop());
        assertThat(d.inStreamBlock()).isFalse();
        var next = (StreamStart) d.decode(message('S').int32(500).int8(0).buffer());
        assertThat(next.firstSegment()).isFalse();
    }

    @Test
    void stream_commit_carries_xid_flags_lsns_and_time() throws Exception {
        var c = (StreamCommit) decode(2, message('c').int32(500).int8(0).lsn(LSN_A).lsn(LSN_B).int64(COMMIT_TIME_MICROS));
        assertThat(c).isEqualTo(new StreamCommit(500, (byte) 0, LSN_A, LSN_B, COMMIT_TIME));
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void stream_abort_without_parallel_streaming_has_no_abort_lsn(int proto) throws Exception {
        var a = (StreamAbort) decode(proto, message('A').int32(500).int32(501));
        assertThat(a).isEqualTo(new StreamAbort(500, 501, null, null));
    }

    @Test
    void stream_abort_in_proto_4_with_parallel_streaming_carries_abort_lsn_and_time() throws Exception {
        var a = (StreamAbort) decode(4, message('A').int32(500).int32(500).lsn(LSN_A).int64(COMMIT_TIME_MICROS));
        assertThat(a).isEqualTo(new StreamAbort(500, 500, LSN_A, COMMIT_TIME));
    }

    @Test
    void stream_abort_before_proto_4_rejects_abort_fields_as_trailing_bytes() {
        assertThatThrownBy(() -> decode(3, message('A').int32(500).int32(500).lsn(LSN_A).int64(COMMIT_TIME_MICROS)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("trailing")
                .extracting(e -> ((DecodeException) e).offset()).isEqualTo(9);
    }

    @Test
    void stream_abort_in_proto_4_with_a_partial_abort_lsn_is_rejected() {
        assertThatThrownBy(() -> decode(4, message('A').int32(500).int32(500).int32(1)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("trailing");
    }

    // ---------------------------------------------------------------- two-phase (proto 3+)

    @Test
    void begin_prepare_carries_lsns_time_xid_and_gid() throws Exception {
        var b = (BeginPrepare) decode(3, message('b').lsn(LSN_A).lsn(LSN_B).int64(COMMIT_TIME_MICROS).int32(900)
                .string("gid-1"));
        assertThat(b).isEqualTo(new BeginPrepare(LSN_A, LSN_B, COMMIT_TIME, 900, "gid-1"));
    }

    @Test
    void prepare_carries_flags_lsns_time_xid_and_gid() throws Exception {
        var p = (Prepare) decode(3, message('P').int8(0).lsn(LSN_A).lsn(LSN_B).int64(COMMIT_TIME_MICROS).int32(900)
                .string("gid-1"));
        assertThat(p).isEqualTo(new Prepare((byte) 0, LSN_A, LSN_B, COMMIT_TIME, 900, "gid-1"));
    }

    @Test
    void commit_prepared_carries_flags_lsns_time_xid_and_gid() throws Exception {
        var c = (CommitPrepared) decode(4, message('K').int8(0).lsn(LSN_A).lsn(LSN_B).int64(COMMIT_TIME_MICROS)
                .int32(900).string("gid-1"));
        assertThat(c).isEqualTo(new CommitPrepared((byte) 0, LSN_A, LSN_B, COMMIT_TIME, 900, "gid-1"));
    }

    @Test
    void rollback_prepared_carries_both_end_lsns_both_times_xid_and_gid() throws Exception {
        var r = (RollbackPrepared) decode(3, message('r').int8(0).lsn(LSN_A).lsn(LSN_B).int64(COMMIT_TIME_MICROS)
                .timestamp(LATER).int32(900).string("gid-1"));
        assertThat(r).isEqualTo(new RollbackPrepared((byte) 0, LSN_A, LSN_B, COMMIT_TIME, LATER, 900, "gid-1"));
    }

    @Test
    void stream_prepare_carries_flags_lsns_time_xid_and_gid() throws Exception {
        var p = (StreamPrepare) decode(3, message('p').int8(0).lsn(LSN_A).lsn(LSN_B).int64(COMMIT_TIME_MICROS)
                .int32(900).string("ünïcode gid"));
        assertThat(p).isEqualTo(new StreamPrepare((byte) 0, LSN_A, LSN_B, COMMIT_TIME, 900, "ünïcode gid"));
    }

    // ---------------------------------------------------------------- proto version gating

    @ParameterizedTest
    @ValueSource(chars = {'S', 'E', 'c', 'A'})
    void streaming_messages_are_rejected_in_proto_1(char type) {
        assertThatThrownBy(() -> decode(1, message(type).int32(1).int8(1)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("needs proto_version 2+")
                .extracting(e -> ((DecodeException) e).offset()).isEqualTo(0);
    }

    @ParameterizedTest
    @ValueSource(chars = {'b', 'P', 'K', 'r', 'p'})
    void two_phase_messages_are_rejected_before_proto_3(char type) {
        assertThatThrownBy(() -> decode(2, message(type).int8(0)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("needs proto_version 3+");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 5, -1})
    void proto_versions_outside_1_to_4_are_refused_at_construction(int proto) {
        assertThatThrownBy(() -> new PgOutputDecoder(proto)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1 to 4");
    }

    // ---------------------------------------------------------------- stream state invariant

    @Test
    void stream_start_inside_a_stream_block_is_rejected_and_keeps_the_block_open() throws Exception {
        var d = streamingDecoder(2, 1);
        assertThatThrownBy(() -> d.decode(message('S').int32(2).int8(1).buffer()))
                .isInstanceOf(DecodeException.class).hasMessageContaining("inside a stream block");
        assertThat(d.inStreamBlock()).isTrue();
    }

    @Test
    void stream_stop_outside_a_stream_block_is_rejected() {
        var d = new PgOutputDecoder(2);
        assertThatThrownBy(() -> d.decode(message('E').buffer()))
                .isInstanceOf(DecodeException.class).hasMessageContaining("outside a stream block");
        assertThat(d.inStreamBlock()).isFalse();
    }

    @Test
    void a_truncated_stream_start_does_not_open_a_block() {
        var d = new PgOutputDecoder(2);
        assertThatThrownBy(() -> d.decode(message('S').int32(1).buffer())).isInstanceOf(DecodeException.class);
        assertThat(d.inStreamBlock()).isFalse();
    }

    @Test
    void a_stream_stop_with_trailing_bytes_does_not_close_the_block() throws Exception {
        var d = streamingDecoder(2, 1);
        assertThatThrownBy(() -> d.decode(message('E').int8(0).buffer())).isInstanceOf(DecodeException.class);
        assertThat(d.inStreamBlock()).isTrue();
    }

    // ---------------------------------------------------------------- malformed input

    @Test
    void empty_buffer_is_rejected_at_offset_0() {
        assertThatThrownBy(() -> new PgOutputDecoder(1).decode(ByteBuffer.allocate(0)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("empty message (at byte 0)");
    }

    @Test
    void unknown_message_type_is_rejected_with_the_type_byte() {
        assertThatThrownBy(() -> decode(4, message('Z').int32(0)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("unknown message type 'Z' (0x5A)");
        assertThatThrownBy(() -> decode(4, new PgOutputWriter().int8(0xF3)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("unknown message type 0xF3");
    }

    @Test
    void truncated_begin_reports_the_offset_of_the_missing_field() {
        assertThatThrownBy(() -> decode(1, message('B').lsn(LSN_A).int32(0)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("Begin commit time")
                .extracting(e -> ((DecodeException) e).offset()).isEqualTo(9);
    }

    @Test
    void string_without_a_terminating_nul_is_rejected() {
        assertThatThrownBy(() -> decode(1, message('O').lsn(LSN_A).raw("upstream".getBytes(StandardCharsets.UTF_8))))
                .isInstanceOf(DecodeException.class).hasMessageContaining("no terminating NUL");
    }

    @Test
    void negative_text_length_is_rejected_at_the_length_field() {
        assertThatThrownBy(() -> decode(1, message('I').int32(1).int8('N').int16(1).int8('t').int32(-1)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("negative tuple text length -1")
                .extracting(e -> ((DecodeException) e).offset()).isEqualTo(9);
    }

    @Test
    void forged_huge_lengths_are_rejected_before_allocating() {
        assertThatThrownBy(() -> decode(1, message('I').int32(1).int8('N').int16(1).int8('b').int32(Integer.MAX_VALUE)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("exceeds the 0 byte(s) left");
        assertThatThrownBy(() -> decode(1, message('M').int8(0).lsn(LSN_A).string("p").int32(Integer.MAX_VALUE).int8(1)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("exceeds the 1 byte(s) left");
    }

    @Test
    void forged_counts_are_rejected_before_allocating() {
        assertThatThrownBy(() -> decode(1, message('I').int32(1).int8('N').int16(0xFFFF).int8('n')))
                .isInstanceOf(DecodeException.class).hasMessageContaining("tuple column count 65535");
        assertThatThrownBy(() -> decode(1, message('R').int32(1).string("s").string("t").int8('d').int16(2)
                .int8(0).string("a").int32(23).int32(-1)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("Relation column count 2");
        assertThatThrownBy(() -> decode(1, message('T').int32(Integer.MAX_VALUE).int8(0).int32(1)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("Truncate relation count");
        assertThatThrownBy(() -> decode(1, message('T').int32(-1).int8(0)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("Truncate relation count -1")
                .extracting(e -> ((DecodeException) e).offset()).isEqualTo(1);
    }

    @Test
    void unknown_tuple_kind_is_rejected_at_its_byte() {
        assertThatThrownBy(() -> decode(1, message('I').int32(1).int8('N').int16(2).int8('n').int8('x')))
                .isInstanceOf(DecodeException.class).hasMessageContaining("tuple column 1 has unknown kind 'x'")
                .extracting(e -> ((DecodeException) e).offset()).isEqualTo(9);
    }

    @Test
    void unknown_replica_identity_is_rejected() {
        assertThatThrownBy(() -> decode(1, message('R').int32(1).string("s").string("t").int8('q').int16(0)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("unknown replica identity 'q'")
                .extracting(e -> ((DecodeException) e).offset()).isEqualTo(9);
    }

    @Test
    void insert_without_the_new_tuple_marker_is_rejected() {
        assertThatThrownBy(() -> decode(1, message('I').int32(1).int8('K').int16(0)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("must be 'N', got 'K'");
    }

    @Test
    void update_with_an_unknown_tuple_marker_is_rejected() {
        assertThatThrownBy(() -> decode(1, message('U').int32(1).int8('X').int16(0)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("must be 'K', 'O' or 'N'");
        assertThatThrownBy(() -> decode(1, message('U').int32(1).int8('K').int16(0).int8('K').int16(0)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("Update new tuple marker must be 'N'");
    }

    @Test
    void delete_without_an_old_tuple_is_rejected() {
        assertThatThrownBy(() -> decode(1, message('D').int32(1).int8('N').int16(0)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("must be 'K' or 'O'");
    }

    @Test
    void trailing_bytes_after_a_complete_message_are_rejected() {
        assertThatThrownBy(() -> decode(1, message('C').int8(0).lsn(LSN_A).lsn(LSN_B).int64(0).int8(0)))
                .isInstanceOf(DecodeException.class).hasMessageContaining("1 unexpected trailing byte(s) after Commit")
                .extracting(e -> ((DecodeException) e).offset()).isEqualTo(26);
    }

    @Test
    void xid_in_a_change_outside_a_stream_block_is_misread_and_rejected() {
        // the walsender never does this; it shows why the stream state matters
        assertThatThrownBy(() -> decode(2, message('I').int32(1234).int32(16384).int8('N').int16(0)))
                .isInstanceOf(DecodeException.class);
    }

    @Test
    void invalid_utf8_decodes_to_replacement_characters_rather_than_failing() throws Exception {
        var o = (Origin) decode(1, message('O').lsn(LSN_A).raw((byte) 'a', (byte) 0xC3, (byte) 'b').int8(0));
        assertThat(o.name()).isEqualTo("a\uFFFDb");
    }

    // ---------------------------------------------------------------- buffers

    @Test
    void success_consumes_the_buffer_and_failure_leaves_its_position() throws Exception {
        ByteBuffer ok = message('E').buffer();
        streamingDecoder(2, 1).decode(ok);
        assertThat(ok.hasRemaining()).isFalse();
        ByteBuffer bad = message('B').int32(0).buffer();
        assertThatThrownBy(() -> new PgOutputDecoder(1).decode(bad)).isInstanceOf(DecodeException.class);
        assertThat(bad.position()).isZero();
    }

    @Test
    void decodes_from_a_direct_buffer() throws Exception {
        byte[] bytes = message('I').int32(16384).int8('N').int16(2).int8('t').int32(3)
                .raw("€".getBytes(StandardCharsets.UTF_8)).int8('b').int32(1).int8(9).bytes();
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
        var i = (Insert) new PgOutputDecoder(1).decode(direct);
        assertThat(i.newTuple().get(0)).isEqualTo(new TupleData.Text("€"));
        assertThat(((TupleData.Binary) i.newTuple().get(1)).value()).containsExactly(9);
    }

    @Test
    void decodes_a_direct_buffer_with_a_string_longer_than_the_scratch_array() throws Exception {
        String big = "x".repeat(20_000) + "é";
        byte[] bytes = message('O').lsn(LSN_A).string(big).bytes();
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
        assertThat(((Origin) new PgOutputDecoder(1).decode(direct)).name()).isEqualTo(big);
    }

    @Test
    void decodes_a_slice_in_the_middle_of_a_larger_array_and_reports_offsets_from_the_message_start() throws Exception {
        byte[] message = message('O').lsn(LSN_A).string("o").bytes();
        byte[] framed = new byte[message.length + 10];
        System.arraycopy(message, 0, framed, 5, message.length);
        ByteBuffer slice = ByteBuffer.wrap(framed, 2, framed.length - 2).slice().position(3).limit(3 + message.length);
        assertThat(new PgOutputDecoder(1).decode(slice)).isEqualTo(new Origin(LSN_A, "o"));

        ByteBuffer truncated = ByteBuffer.wrap(framed, 5, 4);
        assertThatThrownBy(() -> new PgOutputDecoder(1).decode(truncated))
                .isInstanceOf(DecodeException.class).extracting(e -> ((DecodeException) e).offset()).isEqualTo(1);
    }

    @Test
    void reads_big_endian_whatever_the_buffers_byte_order() throws Exception {
        ByteBuffer le = message('B').lsn(LSN_A).int64(COMMIT_TIME_MICROS).int32(742).buffer().order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new PgOutputDecoder(1).decode(le)).isEqualTo(new Begin(LSN_A, COMMIT_TIME, 742));
        ByteBuffer leTuple = message('I').int32(16384).int8('N').int16(1).int8('t').int32(1).int8('z').buffer()
                .order(ByteOrder.LITTLE_ENDIAN);
        assertThat(((Insert) new PgOutputDecoder(1).decode(leTuple)).newTuple().values())
                .containsExactly(new TupleData.Text("z"));
    }

    @Test
    void tuples_are_immutable() throws Exception {
        var i = (Insert) decode(1, message('I').int32(1).int8('N').int16(1).int8('n'));
        assertThatThrownBy(() -> i.newTuple().values().set(0, Datum.UNCHANGED_TOAST))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    // ---------------------------------------------------------------- helpers

    private static PgOutputMessage decode(int proto, PgOutputWriter w) throws DecodeException {
        return new PgOutputDecoder(proto).decode(w.buffer());
    }

    private static PgOutputDecoder streamingDecoder(int proto, int xid) throws DecodeException {
        var d = new PgOutputDecoder(proto);
        d.decode(message('S').int32(xid).int8(1).buffer());
        return d;
    }
}
