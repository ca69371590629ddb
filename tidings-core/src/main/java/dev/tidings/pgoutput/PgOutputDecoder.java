package dev.tidings.pgoutput;

import dev.tidings.pgoutput.PgOutputMessage.OldTupleKind;
import dev.tidings.pgoutput.PgOutputMessage.RelationColumn;
import dev.tidings.pgoutput.PgOutputMessage.ReplicaIdentity;
import dev.tidings.pgoutput.TupleData.Datum;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Decodes pgoutput messages, proto versions 1 to 4, one XLogData payload at a time.
 *
 * <h2>Layout</h2>
 * Follows the PostgreSQL chapter "Logical Replication Message Formats". Integers are big-endian;
 * LSN = Int64; TS = Int64 microseconds since 2000-01-01 UTC; Str = NUL-terminated UTF-8;
 * [xid] = Int32 present only inside a stream block (see below).
 * <pre>
 *  B  Begin              LSN final, TS commit, Int32 xid
 *  C  Commit             Int8 flags, LSN commit, LSN end, TS commit
 *  O  Origin             LSN, Str name
 *  M  Message            [xid], Int8 flags (1 = transactional), LSN, Str prefix, Int32 n, Byte[n]
 *  R  Relation           [xid], Int32 oid, Str namespace, Str name, Int8 replident (d/n/f/i),
 *                        Int16 ncols, ncols * (Int8 flags (1 = key), Str name, Int32 type, Int32 typmod)
 *  Y  Type               [xid], Int32 oid, Str namespace, Str name
 *  I  Insert             [xid], Int32 oid, 'N' Tuple
 *  U  Update             [xid], Int32 oid, ['K' Tuple | 'O' Tuple], 'N' Tuple
 *  D  Delete             [xid], Int32 oid, 'K' Tuple | 'O' Tuple
 *  T  Truncate           [xid], Int32 n, Int8 options (1 = CASCADE, 2 = RESTART IDENTITY), n * Int32 oid
 *  S  Stream Start    2+ Int32 xid, Int8 first segment (1/0)
 *  E  Stream Stop     2+ (nothing)
 *  c  Stream Commit   2+ Int32 xid, Int8 flags, LSN commit, LSN end, TS commit
 *  A  Stream Abort    2+ Int32 xid, Int32 subxid, and from proto 4 with streaming = parallel: LSN abort, TS abort
 *  b  Begin Prepare   3+ LSN prepare, LSN end, TS prepare, Int32 xid, Str gid
 *  P  Prepare         3+ Int8 flags, LSN prepare, LSN end, TS prepare, Int32 xid, Str gid
 *  K  Commit Prepared 3+ Int8 flags, LSN commit, LSN end, TS commit, Int32 xid, Str gid
 *  r  Rollback Prep.  3+ Int8 flags, LSN prepare end, LSN rollback end, TS prepare, TS rollback, Int32 xid, Str gid
 *  p  Stream Prepare  3+ Int8 flags, LSN prepare, LSN end, TS prepare, Int32 xid, Str gid
 *  Tuple = Int16 ncols, ncols * ('n' | 'u' | 't' Int32 n Byte[n] | 'b' Int32 n Byte[n])
 * </pre>
 * An empty namespace in Relation and Type means {@code pg_catalog} (the server saves the bytes);
 * the records carry the real name {@code "pg_catalog"}.
 *
 * <h2>Stream state</h2>
 * The one thing the wire does not say in each message is whether the optional [xid] is there: it
 * is, exactly between a Stream Start and the next Stream Stop. So the decoder is stateful and
 * holds the invariant "{@code inStreamBlock} is true iff the last Stream Start or Stop decoded was
 * a Start". A Start inside a block or a Stop outside one breaks the protocol (the server never
 * nests blocks) and is rejected. The state changes only after a message decoded completely, so a
 * failed decode leaves it as it was. One decoder serves one replication connection and one thread;
 * after a reconnect, start a new decoder (the server never resumes in the middle of a block).
 *
 * <h2>Stream Abort in proto 4</h2>
 * The abort LSN and timestamp are sent only when the subscriber asked for {@code streaming =
 * parallel}, and the message does not say which. With proto 4 the decoder reads them when exactly
 * 16 bytes follow the subxid and leaves them {@code null} when none follow; anything else is an
 * error, like any trailing byte.
 *
 * <h2>Errors</h2>
 * Anything that is not a complete, well-formed message of the negotiated proto version raises
 * {@link DecodeException} with the byte offset inside the message — never an unchecked exception:
 * an empty buffer, a truncated field, an unknown message type or one newer than the proto version,
 * an unknown tuple kind, replica identity or old-tuple marker, a negative length or count, a length
 * or count larger than the bytes left (checked before anything is allocated, so a forged length
 * costs nothing), and trailing bytes after the last field (they would mean we misread the layout).
 * Flag bytes are not validated: they are carried raw or read as bits, as the server may add bits.
 * Strings are not validated as UTF-8: the walsender converts all text to the connection's UTF-8
 * client encoding, and malformed sequences would become U+FFFD rather than fail the stream.
 *
 * <h2>Cost</h2>
 * Fields are read with absolute gets straight from the buffer (heap buffers: strings decode from
 * the backing array with no copy); per message the allocations are the record and its values
 * (strings, {@code Lsn}, {@code Instant}, one datum per text or binary column, one array wrapped as
 * the tuple's list; null and unchanged-TOAST datums are shared singletons). No regex, no reflection,
 * no boxing ({@code DecoderBenchmark} in tidings-bench measures it).
 * On success the buffer's position moves to its limit; on failure it is left where it was.
 */
public final class PgOutputDecoder {
    private static final String PG_CATALOG = "pg_catalog";

    private final int protoVersion;
    private final WireReader in = new WireReader();
    private boolean inStreamBlock;

    /** @param protoVersion the pgoutput {@code proto_version} the stream was started with, 1 to 4 */
    public PgOutputDecoder(int protoVersion) {
        if (protoVersion < 1 || protoVersion > 4) {
            throw new IllegalArgumentException("pgoutput proto_version must be 1 to 4, got " + protoVersion);
        }
        this.protoVersion = protoVersion;
    }

    /** True between a decoded Stream Start and the next Stream Stop. */
    public boolean inStreamBlock() {
        return inStreamBlock;
    }

    /** Decodes one message from {@code buffer}'s position to its limit. Not thread-safe. */
    public PgOutputMessage decode(ByteBuffer buffer) throws DecodeException {
        in.reset(buffer);
        try {
            if (in.remaining() == 0) {
                throw in.error("empty message");
            }
            byte type = in.int8("message type");
            PgOutputMessage message = switch (type) {
                case 'B' -> begin();
                case 'C' -> commit();
                case 'O' -> origin();
                case 'M' -> message();
                case 'R' -> relation();
                case 'Y' -> type();
                case 'I' -> insert();
                case 'U' -> update();
                case 'D' -> delete();
                case 'T' -> truncate();
                case 'S' -> streamStart();
                case 'E' -> streamStop();
                case 'c' -> streamCommit();
                case 'A' -> streamAbort();
                case 'b' -> beginPrepare();
                case 'P' -> prepare();
                case 'K' -> commitPrepared();
                case 'r' -> rollbackPrepared();
                case 'p' -> streamPrepare();
                default -> throw in.errorAt(0, "unknown message type " + describe(type));
            };
            if (in.remaining() != 0) {
                throw in.error(in.remaining() + " unexpected trailing byte(s) after " + message.getClass().getSimpleName());
            }
            if (type == 'S') {
                inStreamBlock = true;
            } else if (type == 'E') {
                inStreamBlock = false;
            }
            buffer.position(buffer.limit());
            return message;
        } finally {
            in.clear();
        }
    }

    private PgOutputMessage.Begin begin() throws DecodeException {
        return new PgOutputMessage.Begin(in.lsn("Begin final LSN"), in.timestamp("Begin commit time"), in.int32("Begin xid"));
    }

    private PgOutputMessage.Commit commit() throws DecodeException {
        return new PgOutputMessage.Commit(in.int8("Commit flags"), in.lsn("Commit LSN"), in.lsn("Commit end LSN"),
                in.timestamp("Commit time"));
    }

    private PgOutputMessage.Origin origin() throws DecodeException {
        return new PgOutputMessage.Origin(in.lsn("Origin LSN"), in.string("Origin name"));
    }

    private PgOutputMessage.Message message() throws DecodeException {
        int xid = streamXid("Message xid");
        byte flags = in.int8("Message flags");
        var lsn = in.lsn("Message LSN");
        String prefix = in.string("Message prefix");
        byte[] content = in.bytes(in.length("Message content length"));
        return new PgOutputMessage.Message(xid, (flags & 1) != 0, lsn, prefix, content);
    }

    private PgOutputMessage.Relation relation() throws DecodeException {
        int xid = streamXid("Relation xid");
        int relationId = in.int32("Relation OID");
        String namespace = namespace(in.string("Relation namespace"));
        String name = in.string("Relation name");
        ReplicaIdentity identity = replicaIdentity(in.int8("Relation replica identity"));
        int count = countOf(in.uint16("Relation column count"), 10, "Relation column count");
        RelationColumn[] columns = new RelationColumn[count];
        for (int i = 0; i < count; i++) {
            boolean key = (in.int8("Relation column flags") & 1) != 0;
            columns[i] = new RelationColumn(key, in.string("Relation column name"),
                    in.int32("Relation column type OID"), in.int32("Relation column type modifier"));
        }
        return new PgOutputMessage.Relation(xid, relationId, namespace, name, identity, listOf(columns));
    }

    private PgOutputMessage.Type type() throws DecodeException {
        int xid = streamXid("Type xid");
        return new PgOutputMessage.Type(xid, in.int32("Type OID"), namespace(in.string("Type namespace")),
                in.string("Type name"));
    }

    private PgOutputMessage.Insert insert() throws DecodeException {
        int xid = streamXid("Insert xid");
        int relationId = in.int32("Insert relation OID");
        expectMarker('N', "Insert new tuple marker");
        return new PgOutputMessage.Insert(xid, relationId, tuple());
    }

    private PgOutputMessage.Update update() throws DecodeException {
        int xid = streamXid("Update xid");
        int relationId = in.int32("Update relation OID");
        int at = in.offset();
        byte marker = in.int8("Update tuple marker");
        OldTupleKind oldKind = null;
        TupleData oldTuple = null;
        if (marker == 'K' || marker == 'O') {
            oldKind = marker == 'K' ? OldTupleKind.KEY : OldTupleKind.FULL;
            oldTuple = tuple();
            expectMarker('N', "Update new tuple marker");
        } else if (marker != 'N') {
            throw in.errorAt(at, "Update tuple marker must be 'K', 'O' or 'N', got " + describe(marker));
        }
        return new PgOutputMessage.Update(xid, relationId, oldKind, oldTuple, tuple());
    }

    private PgOutputMessage.Delete delete() throws DecodeException {
        int xid = streamXid("Delete xid");
        int relationId = in.int32("Delete relation OID");
        int at = in.offset();
        byte marker = in.int8("Delete tuple marker");
        OldTupleKind oldKind = switch (marker) {
            case 'K' -> OldTupleKind.KEY;
            case 'O' -> OldTupleKind.FULL;
            default -> throw in.errorAt(at, "Delete tuple marker must be 'K' or 'O', got " + describe(marker));
        };
        return new PgOutputMessage.Delete(xid, relationId, oldKind, tuple());
    }

    private PgOutputMessage.Truncate truncate() throws DecodeException {
        int xid = streamXid("Truncate xid");
        int at = in.offset();
        int count = in.int32("Truncate relation count");
        byte options = in.int8("Truncate options");
        if (count < 0 || (long) count * 4 > in.remaining()) {
            throw in.errorAt(at, "Truncate relation count " + count + " does not fit the " + in.remaining() + " byte(s) left");
        }
        int[] relationIds = new int[count];
        for (int i = 0; i < count; i++) {
            relationIds[i] = in.int32("Truncate relation OID");
        }
        return new PgOutputMessage.Truncate(xid, (options & 1) != 0, (options & 2) != 0, relationIds);
    }

    private PgOutputMessage.StreamStart streamStart() throws DecodeException {
        requireProto(2, "Stream Start");
        if (inStreamBlock) {
            throw in.errorAt(0, "Stream Start inside a stream block: the previous block had no Stream Stop");
        }
        return new PgOutputMessage.StreamStart(in.int32("Stream Start xid"), in.int8("Stream Start first segment") != 0);
    }

    private PgOutputMessage.StreamStop streamStop() throws DecodeException {
        requireProto(2, "Stream Stop");
        if (!inStreamBlock) {
            throw in.errorAt(0, "Stream Stop outside a stream block");
        }
        return new PgOutputMessage.StreamStop();
    }

    private PgOutputMessage.StreamCommit streamCommit() throws DecodeException {
        requireProto(2, "Stream Commit");
        return new PgOutputMessage.StreamCommit(in.int32("Stream Commit xid"), in.int8("Stream Commit flags"),
                in.lsn("Stream Commit LSN"), in.lsn("Stream Commit end LSN"), in.timestamp("Stream Commit time"));
    }

    private PgOutputMessage.StreamAbort streamAbort() throws DecodeException {
        requireProto(2, "Stream Abort");
        int xid = in.int32("Stream Abort xid");
        int subXid = in.int32("Stream Abort subxid");
        if (protoVersion >= 4 && in.remaining() == 16) {
            return new PgOutputMessage.StreamAbort(xid, subXid, in.lsn("Stream Abort LSN"), in.timestamp("Stream Abort time"));
        }
        return new PgOutputMessage.StreamAbort(xid, subXid, null, null);
    }

    private PgOutputMessage.BeginPrepare beginPrepare() throws DecodeException {
        requireProto(3, "Begin Prepare");
        return new PgOutputMessage.BeginPrepare(in.lsn("Begin Prepare LSN"), in.lsn("Begin Prepare end LSN"),
                in.timestamp("Begin Prepare time"), in.int32("Begin Prepare xid"), in.string("Begin Prepare gid"));
    }

    private PgOutputMessage.Prepare prepare() throws DecodeException {
        requireProto(3, "Prepare");
        return new PgOutputMessage.Prepare(in.int8("Prepare flags"), in.lsn("Prepare LSN"), in.lsn("Prepare end LSN"),
                in.timestamp("Prepare time"), in.int32("Prepare xid"), in.string("Prepare gid"));
    }

    private PgOutputMessage.CommitPrepared commitPrepared() throws DecodeException {
        requireProto(3, "Commit Prepared");
        return new PgOutputMessage.CommitPrepared(in.int8("Commit Prepared flags"), in.lsn("Commit Prepared LSN"),
                in.lsn("Commit Prepared end LSN"), in.timestamp("Commit Prepared time"), in.int32("Commit Prepared xid"),
                in.string("Commit Prepared gid"));
    }

    private PgOutputMessage.RollbackPrepared rollbackPrepared() throws DecodeException {
        requireProto(3, "Rollback Prepared");
        return new PgOutputMessage.RollbackPrepared(in.int8("Rollback Prepared flags"),
                in.lsn("Rollback Prepared prepare end LSN"), in.lsn("Rollback Prepared end LSN"),
                in.timestamp("Rollback Prepared prepare time"), in.timestamp("Rollback Prepared time"),
                in.int32("Rollback Prepared xid"), in.string("Rollback Prepared gid"));
    }

    private PgOutputMessage.StreamPrepare streamPrepare() throws DecodeException {
        requireProto(3, "Stream Prepare");
        return new PgOutputMessage.StreamPrepare(in.int8("Stream Prepare flags"), in.lsn("Stream Prepare LSN"),
                in.lsn("Stream Prepare end LSN"), in.timestamp("Stream Prepare time"), in.int32("Stream Prepare xid"),
                in.string("Stream Prepare gid"));
    }

    private TupleData tuple() throws DecodeException {
        int count = countOf(in.uint16("tuple column count"), 1, "tuple column count");
        Datum[] values = new Datum[count];
        for (int i = 0; i < count; i++) {
            byte kind = in.int8("tuple column kind");
            values[i] = switch (kind) {
                case 'n' -> Datum.NULL;
                case 'u' -> Datum.UNCHANGED_TOAST;
                case 't' -> new TupleData.Text(in.utf8(in.length("tuple text length")));
                case 'b' -> new TupleData.Binary(in.bytes(in.length("tuple binary length")));
                default -> throw in.errorAt(in.offset() - 1,
                        "tuple column " + i + " has unknown kind " + describe(kind) + " (expected 'n', 'u', 't' or 'b')");
            };
        }
        return new TupleData(listOf(values));
    }

    private int streamXid(String what) throws DecodeException {
        return inStreamBlock ? in.int32(what) : 0;
    }

    /** Rejects a count whose elements, at {@code minBytes} each, cannot fit in what is left. */
    private int countOf(int count, int minBytes, String what) throws DecodeException {
        if ((long) count * minBytes > in.remaining()) {
            throw in.errorAt(in.offset() - 2, what + " " + count + " does not fit the " + in.remaining() + " byte(s) left");
        }
        return count;
    }

    private void expectMarker(char expected, String what) throws DecodeException {
        byte marker = in.int8(what);
        if (marker != expected) {
            throw in.errorAt(in.offset() - 1, what + " must be '" + expected + "', got " + describe(marker));
        }
    }

    private void requireProto(int minimum, String what) throws DecodeException {
        if (protoVersion < minimum) {
            throw in.errorAt(0, what + " needs proto_version " + minimum + "+, but the stream uses " + protoVersion);
        }
    }

    private ReplicaIdentity replicaIdentity(byte code) throws DecodeException {
        return switch (code) {
            case 'd' -> ReplicaIdentity.DEFAULT;
            case 'n' -> ReplicaIdentity.NOTHING;
            case 'f' -> ReplicaIdentity.FULL;
            case 'i' -> ReplicaIdentity.INDEX;
            default -> throw in.errorAt(in.offset() - 1, "unknown replica identity " + describe(code));
        };
    }

    private static String namespace(String wire) {
        return wire.isEmpty() ? PG_CATALOG : wire;
    }

    @SafeVarargs
    private static <T> List<T> listOf(T... elements) {
        return Collections.unmodifiableList(Arrays.asList(elements));
    }

    private static String describe(byte b) {
        String hex = String.format("0x%02X", b & 0xFF);
        return b >= 0x20 && b < 0x7F ? "'" + (char) b + "' (" + hex + ")" : hex;
    }
}
