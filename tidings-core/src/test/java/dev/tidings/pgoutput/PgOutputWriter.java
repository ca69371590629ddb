package dev.tidings.pgoutput;

import dev.tidings.base.Lsn;
import dev.tidings.pgoutput.PgOutputMessage.*;

import java.lang.reflect.RecordComponent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.StringJoiner;

/**
 * The server side of pgoutput, for tests: field-by-field builders for hand-made fixtures, and
 * {@link #encode} that writes any {@link PgOutputMessage} the way the walsender would.
 */
final class PgOutputWriter {
    private static final long PG_EPOCH_SECONDS = 946_684_800L;

    private ByteBuffer buf = ByteBuffer.allocate(64);

    static PgOutputWriter message(char type) {
        return new PgOutputWriter().int8(type);
    }

    PgOutputWriter int8(int v) {
        ensure(1).put((byte) v);
        return this;
    }

    PgOutputWriter int16(int v) {
        ensure(2).putShort((short) v);
        return this;
    }

    PgOutputWriter int32(int v) {
        ensure(4).putInt(v);
        return this;
    }

    PgOutputWriter int64(long v) {
        ensure(8).putLong(v);
        return this;
    }

    PgOutputWriter lsn(Lsn lsn) {
        return int64(lsn.value());
    }

    PgOutputWriter timestamp(Instant t) {
        return int64(micros(t));
    }

    /** Microseconds since 2000-01-01; plain (wrapping) arithmetic inverts the decoder for every long. */
    static long micros(Instant t) {
        return (t.getEpochSecond() - PG_EPOCH_SECONDS) * 1_000_000L + t.getNano() / 1_000;
    }

    PgOutputWriter string(String s) {
        return raw(s.getBytes(StandardCharsets.UTF_8)).int8(0);
    }

    PgOutputWriter raw(byte... bytes) {
        ensure(bytes.length).put(bytes);
        return this;
    }

    PgOutputWriter tuple(TupleData tuple) {
        int16(tuple.size());
        for (TupleData.Datum d : tuple.values()) {
            switch (d) {
                case TupleData.Null n -> int8('n');
                case TupleData.UnchangedToast u -> int8('u');
                case TupleData.Text t -> {
                    byte[] b = t.value().getBytes(StandardCharsets.UTF_8);
                    int8('t').int32(b.length).raw(b);
                }
                case TupleData.Binary b -> int8('b').int32(b.value().length).raw(b.value());
            }
        }
        return this;
    }

    byte[] bytes() {
        return Arrays.copyOf(buf.array(), buf.position());
    }

    ByteBuffer buffer() {
        return ByteBuffer.wrap(bytes());
    }

    private ByteBuffer ensure(int n) {
        if (buf.remaining() < n) {
            buf = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n)).put(buf.flip());
        }
        return buf;
    }

    /**
     * Encodes {@code m} as the server would. {@code inStreamBlock} says whether the optional xid of
     * Relation, Type, Insert, Update, Delete, Truncate and Message is written.
     */
    static byte[] encode(PgOutputMessage m, boolean inStreamBlock) {
        PgOutputWriter w = switch (m) {
            case Begin b -> message('B').lsn(b.finalLsn()).timestamp(b.commitTime()).int32(b.xid());
            case Commit c -> message('C').int8(c.flags()).lsn(c.commitLsn()).lsn(c.endLsn()).timestamp(c.commitTime());
            case Origin o -> message('O').lsn(o.originLsn()).string(o.name());
            case PgOutputMessage.Message x -> xid(message('M'), x.xid(), inStreamBlock).int8(x.transactional() ? 1 : 0)
                    .lsn(x.lsn()).string(x.prefix()).int32(x.content().length).raw(x.content());
            case Relation r -> {
                PgOutputWriter rw = xid(message('R'), r.xid(), inStreamBlock).int32(r.relationId())
                        .string(namespace(r.namespace())).string(r.name()).int8(identityCode(r.replicaIdentity()))
                        .int16(r.columns().size());
                for (RelationColumn c : r.columns()) {
                    rw.int8(c.key() ? 1 : 0).string(c.name()).int32(c.typeOid()).int32(c.typeModifier());
                }
                yield rw;
            }
            case Type t -> xid(message('Y'), t.xid(), inStreamBlock).int32(t.typeOid()).string(namespace(t.namespace()))
                    .string(t.name());
            case Insert i -> xid(message('I'), i.xid(), inStreamBlock).int32(i.relationId()).int8('N').tuple(i.newTuple());
            case Update u -> {
                PgOutputWriter uw = xid(message('U'), u.xid(), inStreamBlock).int32(u.relationId());
                if (u.oldKind() != null) {
                    uw.int8(u.oldKind() == OldTupleKind.KEY ? 'K' : 'O').tuple(u.oldTuple());
                }
                yield uw.int8('N').tuple(u.newTuple());
            }
            case Delete d -> xid(message('D'), d.xid(), inStreamBlock).int32(d.relationId())
                    .int8(d.oldKind() == OldTupleKind.KEY ? 'K' : 'O').tuple(d.oldTuple());
            case Truncate t -> {
                PgOutputWriter tw = xid(message('T'), t.xid(), inStreamBlock).int32(t.relationIds().length)
                        .int8((t.cascade() ? 1 : 0) | (t.restartIdentity() ? 2 : 0));
                for (int id : t.relationIds()) {
                    tw.int32(id);
                }
                yield tw;
            }
            case StreamStart s -> message('S').int32(s.xid()).int8(s.firstSegment() ? 1 : 0);
            case StreamStop s -> message('E');
            case StreamCommit c -> message('c').int32(c.xid()).int8(c.flags()).lsn(c.commitLsn()).lsn(c.endLsn())
                    .timestamp(c.commitTime());
            case StreamAbort a -> {
                PgOutputWriter aw = message('A').int32(a.xid()).int32(a.subXid());
                yield a.abortLsn() == null ? aw : aw.lsn(a.abortLsn()).timestamp(a.abortTime());
            }
            case BeginPrepare b -> message('b').lsn(b.prepareLsn()).lsn(b.endLsn()).timestamp(b.prepareTime())
                    .int32(b.xid()).string(b.gid());
            case Prepare p -> message('P').int8(p.flags()).lsn(p.prepareLsn()).lsn(p.endLsn()).timestamp(p.prepareTime())
                    .int32(p.xid()).string(p.gid());
            case CommitPrepared c -> message('K').int8(c.flags()).lsn(c.commitLsn()).lsn(c.endLsn())
                    .timestamp(c.commitTime()).int32(c.xid()).string(c.gid());
            case RollbackPrepared r -> message('r').int8(r.flags()).lsn(r.prepareEndLsn()).lsn(r.rollbackEndLsn())
                    .timestamp(r.prepareTime()).timestamp(r.rollbackTime()).int32(r.xid()).string(r.gid());
            case StreamPrepare p -> message('p').int8(p.flags()).lsn(p.prepareLsn()).lsn(p.endLsn())
                    .timestamp(p.prepareTime()).int32(p.xid()).string(p.gid());
        };
        return w.bytes();
    }

    private static PgOutputWriter xid(PgOutputWriter w, int xid, boolean inStreamBlock) {
        return inStreamBlock ? w.int32(xid) : w;
    }

    private static String namespace(String name) {
        return name.equals("pg_catalog") ? "" : name;
    }

    private static char identityCode(ReplicaIdentity identity) {
        return switch (identity) {
            case DEFAULT -> 'd';
            case NOTHING -> 'n';
            case FULL -> 'f';
            case INDEX -> 'i';
        };
    }

    /**
     * A rendering of any message that compares arrays and lists by content, so two messages are
     * equal exactly when their canonical forms are (records compare arrays by identity).
     */
    static String canonical(Object value) {
        if (value instanceof Record r) {
            StringJoiner j = new StringJoiner(", ", r.getClass().getSimpleName() + "[", "]");
            for (RecordComponent c : r.getClass().getRecordComponents()) {
                try {
                    j.add(c.getName() + "=" + canonical(c.getAccessor().invoke(r)));
                } catch (ReflectiveOperationException e) {
                    throw new AssertionError(e);
                }
            }
            return j.toString();
        }
        if (value instanceof List<?> list) {
            StringJoiner j = new StringJoiner(", ", "[", "]");
            list.forEach(e -> j.add(canonical(e)));
            return j.toString();
        }
        if (value instanceof byte[] b) {
            return Arrays.toString(b);
        }
        if (value instanceof int[] a) {
            return Arrays.toString(a);
        }
        if (value instanceof String s) {
            return '"' + s + '"';
        }
        return String.valueOf(value);
    }
}
