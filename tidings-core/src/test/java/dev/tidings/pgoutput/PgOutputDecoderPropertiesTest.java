package dev.tidings.pgoutput;

import dev.tidings.base.Lsn;
import dev.tidings.pgoutput.PgOutputMessage.*;
import dev.tidings.pgoutput.TupleData.Datum;
import net.jqwik.api.*;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Properties of the decoder over generated input: it round-trips every valid message, and on any
 * other input it returns a message or throws {@link DecodeException}, nothing else.
 */
@Tag("unit")
class PgOutputDecoderPropertiesTest {

    // ---------------------------------------------------------------- properties

    @Property(tries = 2000)
    void random_bytes_never_throw_anything_but_decode_exception(
            @ForAll @Size(max = 64) byte[] bytes, @ForAll @IntRange(min = 1, max = 4) int proto, @ForAll boolean inStream) {
        decodeSafely(decoder(proto, inStream), bytes);
    }

    @Property(tries = 2000)
    void random_bytes_after_a_valid_type_byte_never_throw_anything_but_decode_exception(
            @ForAll("typeBytes") byte type, @ForAll @Size(max = 48) byte[] rest,
            @ForAll @IntRange(min = 1, max = 4) int proto, @ForAll boolean inStream) {
        byte[] bytes = new byte[rest.length + 1];
        bytes[0] = type;
        System.arraycopy(rest, 0, bytes, 1, rest.length);
        decodeSafely(decoder(proto, inStream), bytes);
    }

    @Property(tries = 1000)
    void valid_messages_round_trip(@ForAll("cases") Case c) throws DecodeException {
        PgOutputMessage decoded = c.decoder().decode(ByteBuffer.wrap(c.bytes()));
        assertThat(PgOutputWriter.canonical(decoded)).isEqualTo(PgOutputWriter.canonical(c.message()));
    }

    @Property(tries = 300)
    void valid_messages_round_trip_from_direct_buffers(@ForAll("cases") Case c) throws DecodeException {
        byte[] bytes = c.bytes();
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
        assertThat(PgOutputWriter.canonical(c.decoder().decode(direct))).isEqualTo(PgOutputWriter.canonical(c.message()));
    }

    @Property(tries = 300)
    void every_strict_prefix_of_a_valid_message_is_rejected(@ForAll("cases") Case c) throws DecodeException {
        byte[] bytes = c.bytes();
        for (int length = 0; length < bytes.length; length++) {
            PgOutputDecoder decoder = c.decoder();
            boolean before = decoder.inStreamBlock();
            try {
                PgOutputMessage m = decoder.decode(ByteBuffer.wrap(bytes, 0, length));
                // the one message whose prefix is itself valid: proto 4 Stream Abort without the parallel fields
                assertThat(m).isInstanceOf(StreamAbort.class);
                assertThat(length).isEqualTo(9);
            } catch (DecodeException e) {
                assertThat(e.offset()).isBetween(0, length);
                assertThat(decoder.inStreamBlock()).isEqualTo(before);
            }
        }
    }

    @Property(tries = 3000)
    void mutated_messages_decode_or_throw_decode_exception(@ForAll("cases") Case c, @ForAll("mutations") Mutation mutation) {
        decodeSafely(c.decoder(), mutation.apply(c.bytes()));
    }

    @Property(tries = 300)
    void every_single_byte_flip_decodes_or_throws_decode_exception(@ForAll("cases") Case c, @ForAll byte xor) {
        Assume.that(xor != 0);
        byte[] bytes = c.bytes();
        for (int i = 0; i < bytes.length; i++) {
            byte[] flipped = bytes.clone();
            flipped[i] ^= xor;
            decodeSafely(c.decoder(), flipped);
        }
    }

    @Property(tries = 500)
    void a_sequence_of_valid_messages_decodes_with_one_decoder(@ForAll("streamedTransactions") List<Case> sequence)
            throws DecodeException {
        PgOutputDecoder decoder = new PgOutputDecoder(sequence.getFirst().proto());
        for (Case c : sequence) {
            PgOutputMessage decoded = decoder.decode(ByteBuffer.wrap(c.bytes()));
            assertThat(PgOutputWriter.canonical(decoded)).isEqualTo(PgOutputWriter.canonical(c.message()));
        }
        assertThat(decoder.inStreamBlock()).isFalse();
    }

    private static void decodeSafely(PgOutputDecoder decoder, byte[] bytes) {
        boolean before = decoder.inStreamBlock();
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        try {
            decoder.decode(buffer);
            assertThat(buffer.hasRemaining()).isFalse();
        } catch (DecodeException e) {
            assertThat(e.offset()).isBetween(0, bytes.length);
            assertThat(decoder.inStreamBlock()).isEqualTo(before);
            assertThat(buffer.position()).isZero();
        } catch (RuntimeException | Error e) {
            fail("decoder threw " + e + " on " + Arrays.toString(bytes), e);
        }
    }

    private static PgOutputDecoder decoder(int proto, boolean inStream) {
        PgOutputDecoder d = new PgOutputDecoder(proto);
        if (inStream && proto >= 2) {
            try {
                d.decode(ByteBuffer.wrap(PgOutputWriter.encode(new StreamStart(1, true), false)));
            } catch (DecodeException e) {
                throw new AssertionError(e);
            }
        }
        return d;
    }

    // ---------------------------------------------------------------- a generated message and its context

    /**
     * A message valid under {@code proto}. Changes with a non-zero xid, and Stream Stop, belong
     * inside a stream block; {@link #decoder()} hands out a decoder already in the right state.
     */
    record Case(int proto, PgOutputMessage message) {
        boolean inStream() {
            return switch (message) {
                case Relation r -> r.xid() != 0;
                case PgOutputMessage.Type t -> t.xid() != 0;
                case Insert i -> i.xid() != 0;
                case Update u -> u.xid() != 0;
                case Delete d -> d.xid() != 0;
                case Truncate t -> t.xid() != 0;
                case PgOutputMessage.Message m -> m.xid() != 0;
                case StreamStop s -> true;
                default -> false;
            };
        }

        byte[] bytes() {
            return PgOutputWriter.encode(message, inStream());
        }

        PgOutputDecoder decoder() {
            return PgOutputDecoderPropertiesTest.decoder(proto, inStream());
        }

        @Override
        public String toString() {
            return "proto " + proto + ": " + PgOutputWriter.canonical(message);
        }
    }

    record Mutation(String kind, int position, byte[] bytes) {
        byte[] apply(byte[] original) {
            int at = original.length == 0 ? 0 : Math.floorMod(position, original.length + 1);
            return switch (kind) {
                case "overwrite" -> {
                    byte[] copy = original.clone();
                    for (int i = 0; i < bytes.length && at + i < copy.length; i++) {
                        copy[at + i] = bytes[i];
                    }
                    yield copy;
                }
                case "truncate" -> Arrays.copyOf(original, at);
                case "insert" -> {
                    byte[] copy = new byte[original.length + bytes.length];
                    System.arraycopy(original, 0, copy, 0, at);
                    System.arraycopy(bytes, 0, copy, at, bytes.length);
                    System.arraycopy(original, at, copy, at + bytes.length, original.length - at);
                    yield copy;
                }
                case "delete" -> {
                    int end = Math.min(original.length, at + Math.max(1, bytes.length));
                    byte[] copy = new byte[original.length - (end - at)];
                    System.arraycopy(original, 0, copy, 0, at);
                    System.arraycopy(original, end, copy, at, original.length - end);
                    yield copy;
                }
                default -> { // extend
                    byte[] copy = Arrays.copyOf(original, original.length + bytes.length);
                    System.arraycopy(bytes, 0, copy, original.length, bytes.length);
                    yield copy;
                }
            };
        }

        @Override
        public String toString() {
            return kind + " at " + position + " " + Arrays.toString(bytes);
        }
    }

    // ---------------------------------------------------------------- generators

    @Provide
    Arbitrary<Byte> typeBytes() {
        return Arbitraries.of("BCOMRYIUDTSEcAbPKrp".chars().mapToObj(ch -> (byte) ch).toList());
    }

    @Provide
    Arbitrary<Mutation> mutations() {
        Arbitrary<byte[]> bytes = Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(8)
                .injectDuplicates(0.1);
        Arbitrary<byte[]> interesting = Arbitraries.of(
                new byte[] {0}, new byte[] {-1}, new byte[] {-1, -1, -1, -1}, new byte[] {0x7F, -1, -1, -1},
                new byte[] {-128, 0, 0, 0}, new byte[] {'t'}, new byte[] {'b'}, new byte[] {'N'}, new byte[] {'K'});
        return Combinators.combine(
                Arbitraries.of("overwrite", "truncate", "insert", "delete", "extend"),
                Arbitraries.integers().between(0, 1 << 16),
                Arbitraries.frequencyOf(Tuple.of(3, bytes), Tuple.of(1, interesting))
        ).as(Mutation::new);
    }

    @Provide
    Arbitrary<Case> cases() {
        return Arbitraries.integers().between(1, 4).flatMap(proto -> messages(proto).map(m -> new Case(proto, m)));
    }

    /** A streamed transaction: some blocks of changes, then a stream commit or abort, at proto 2+. */
    @Provide
    Arbitrary<List<Case>> streamedTransactions() {
        return Arbitraries.integers().between(2, 4).flatMap(proto -> Combinators.combine(
                xids(),
                streamableChange(proto).list().ofMinSize(1).ofMaxSize(4).list().ofMinSize(1).ofMaxSize(3),
                Arbitraries.of(true, false),
                lsns(), instants()
        ).as((xid, blocks, commit, lsn, time) -> {
            List<Case> out = new ArrayList<>();
            boolean first = true;
            for (List<PgOutputMessage> block : blocks) {
                out.add(new Case(proto, new StreamStart(xid, first)));
                first = false;
                for (PgOutputMessage change : block) {
                    out.add(new Case(proto, withXid(change, xid)));
                }
                out.add(new Case(proto, new StreamStop()));
            }
            out.add(new Case(proto, commit
                    ? new StreamCommit(xid, (byte) 0, lsn, lsn, time)
                    : new StreamAbort(xid, xid, proto >= 4 ? lsn : null, proto >= 4 ? time : null)));
            return out;
        }));
    }

    private Arbitrary<PgOutputMessage> messages(int proto) {
        List<Arbitrary<? extends PgOutputMessage>> kinds = new ArrayList<>(List.of(
                Combinators.combine(lsns(), instants(), Arbitraries.integers()).as(Begin::new),
                Combinators.combine(Arbitraries.bytes(), lsns(), lsns(), instants()).as(Commit::new),
                Combinators.combine(lsns(), strings()).as(Origin::new),
                streamableChange(proto)));
        if (proto >= 2) {
            kinds.addAll(List.of(
                    Combinators.combine(Arbitraries.integers(), Arbitraries.of(true, false)).as(StreamStart::new),
                    Arbitraries.just(new StreamStop()),
                    Combinators.combine(Arbitraries.integers(), Arbitraries.bytes(), lsns(), lsns(), instants())
                            .as(StreamCommit::new),
                    Combinators.combine(Arbitraries.integers(), Arbitraries.integers(), lsns(), instants(),
                                    Arbitraries.of(true, false))
                            .as((x, s, l, t, parallel) -> parallel && proto >= 4
                                    ? new StreamAbort(x, s, l, t) : new StreamAbort(x, s, null, null))));
        }
        if (proto >= 3) {
            kinds.addAll(List.of(
                    Combinators.combine(lsns(), lsns(), instants(), Arbitraries.integers(), strings()).as(BeginPrepare::new),
                    Combinators.combine(Arbitraries.bytes(), lsns(), lsns(), instants(), Arbitraries.integers(), strings())
                            .as(Prepare::new),
                    Combinators.combine(Arbitraries.bytes(), lsns(), lsns(), instants(), Arbitraries.integers(), strings())
                            .as(CommitPrepared::new),
                    Combinators.combine(Arbitraries.bytes(), lsns(), lsns(), instants(), instants(), Arbitraries.integers(),
                            strings()).as(RollbackPrepared::new),
                    Combinators.combine(Arbitraries.bytes(), lsns(), lsns(), instants(), Arbitraries.integers(), strings())
                            .as(StreamPrepare::new)));
        }
        return Arbitraries.oneOf(kinds);
    }

    /** Messages that carry an xid inside a stream block; the xid is 0 (outside) or, from proto 2, any. */
    private Arbitrary<PgOutputMessage> streamableChange(int proto) {
        Arbitrary<Integer> xid = proto >= 2 ? Arbitraries.oneOf(Arbitraries.just(0), xids()) : Arbitraries.just(0);
        Arbitrary<Integer> oid = Arbitraries.integers();
        return Arbitraries.oneOf(
                Combinators.combine(xid, oid, namespaces(), strings(), Arbitraries.of(ReplicaIdentity.values()),
                        columns().list().ofMaxSize(6)).as(Relation::new),
                Combinators.combine(xid, oid, namespaces(), strings()).as(PgOutputMessage.Type::new),
                Combinators.combine(xid, oid, tuples()).as(Insert::new),
                Combinators.combine(xid, oid, Arbitraries.of(OldTupleKind.values()).injectNull(0.4), tuples(), tuples())
                        .as((x, r, kind, old, neu) -> new Update(x, r, kind, kind == null ? null : old, neu)),
                Combinators.combine(xid, oid, Arbitraries.of(OldTupleKind.values()), tuples()).as(Delete::new),
                Combinators.combine(xid, Arbitraries.of(true, false), Arbitraries.of(true, false),
                        Arbitraries.integers().array(int[].class).ofMaxSize(5)).as(Truncate::new),
                Combinators.combine(xid, Arbitraries.of(true, false), lsns(), strings(),
                        Arbitraries.bytes().array(byte[].class).ofMaxSize(16)).as(PgOutputMessage.Message::new));
    }

    private static PgOutputMessage withXid(PgOutputMessage m, int xid) {
        return switch (m) {
            case Relation r -> new Relation(xid, r.relationId(), r.namespace(), r.name(), r.replicaIdentity(), r.columns());
            case PgOutputMessage.Type t -> new PgOutputMessage.Type(xid, t.typeOid(), t.namespace(), t.name());
            case Insert i -> new Insert(xid, i.relationId(), i.newTuple());
            case Update u -> new Update(xid, u.relationId(), u.oldKind(), u.oldTuple(), u.newTuple());
            case Delete d -> new Delete(xid, d.relationId(), d.oldKind(), d.oldTuple());
            case Truncate t -> new Truncate(xid, t.cascade(), t.restartIdentity(), t.relationIds());
            case PgOutputMessage.Message x -> new PgOutputMessage.Message(xid, x.transactional(), x.lsn(), x.prefix(), x.content());
            default -> m;
        };
    }

    private Arbitrary<Integer> xids() {
        return Arbitraries.integers().filter(x -> x != 0);
    }

    private Arbitrary<RelationColumn> columns() {
        return Combinators.combine(Arbitraries.of(true, false), strings(), Arbitraries.integers(), Arbitraries.integers())
                .as(RelationColumn::new);
    }

    private Arbitrary<TupleData> tuples() {
        Arbitrary<Datum> datum = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(Datum.NULL)),
                Tuple.of(1, Arbitraries.just(Datum.UNCHANGED_TOAST)),
                Tuple.of(4, strings().map(TupleData.Text::new)),
                Tuple.of(2, Arbitraries.bytes().array(byte[].class).ofMaxSize(12).map(TupleData.Binary::new)));
        return datum.list().ofMaxSize(8).map(TupleData::new);
    }

    private Arbitrary<Lsn> lsns() {
        return Arbitraries.longs().map(Lsn::of);
    }

    /** Any microsecond count maps to an Instant; the decoder must give back exactly the instant encoded. */
    private Arbitrary<Instant> instants() {
        return Arbitraries.longs().map(micros -> Instant.ofEpochSecond(946_684_800L + Math.floorDiv(micros, 1_000_000L),
                Math.floorMod(micros, 1_000_000L) * 1_000L));
    }

    /** Strings the wire can carry: no NUL, no lone surrogates; some multi-byte and supplementary characters. */
    private Arbitrary<String> strings() {
        Arbitrary<String> bmp = Arbitraries.strings().withCharRange('\u0001', '\u007F').withCharRange('\u00A0', '\uD7FF')
                .withCharRange('\uE000', '\uFFFD').ofMaxLength(12);
        return Arbitraries.frequencyOf(Tuple.of(4, bmp), Tuple.of(1, bmp.map(s -> s + "😀")));
    }

    private Arbitrary<String> namespaces() {
        return Arbitraries.oneOf(Arbitraries.just("pg_catalog"), strings().filter(s -> !s.isEmpty()));
    }
}
