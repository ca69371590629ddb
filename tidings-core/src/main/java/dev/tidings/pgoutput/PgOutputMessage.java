package dev.tidings.pgoutput;

import dev.tidings.base.Lsn;

import java.time.Instant;
import java.util.List;

/**
 * One message of the pgoutput logical replication protocol, proto versions 1 to 4, as described
 * in the PostgreSQL documentation chapter "Logical Replication Message Formats".
 *
 * <p>Records carry what the wire carries, already typed: LSNs as {@link Lsn}, timestamps as
 * {@link Instant} (the wire counts microseconds since 2000-01-01 UTC), names as Java strings.
 * {@code xid} fields that exist only inside streamed transactions (proto 2+, between Stream Start
 * and Stream Stop) are {@code 0} when absent; {@code 0} is never a valid transaction id.
 */
public sealed interface PgOutputMessage {

    /** Begin ('B'). {@code finalLsn} is the LSN of the commit record, the same as {@link Commit#commitLsn()}. */
    record Begin(Lsn finalLsn, Instant commitTime, int xid) implements PgOutputMessage {}

    /** Commit ('C'). {@code endLsn} is the end of the commit record: where a restart resumes. */
    record Commit(byte flags, Lsn commitLsn, Lsn endLsn, Instant commitTime) implements PgOutputMessage {}

    /** Origin ('O'): the transaction was replayed from another node. */
    record Origin(Lsn originLsn, String name) implements PgOutputMessage {}

    /** Relation ('R'): the shape of a table, sent before its first change and after every change of shape. */
    record Relation(int xid, int relationId, String namespace, String name, ReplicaIdentity replicaIdentity,
                    List<RelationColumn> columns) implements PgOutputMessage {}

    /** One column of a {@link Relation}; {@code key} when it is part of the replica identity. */
    record RelationColumn(boolean key, String name, int typeOid, int typeModifier) {}

    /** Type ('Y'): name of a non-built-in type used by a following Relation. */
    record Type(int xid, int typeOid, String namespace, String name) implements PgOutputMessage {}

    record Insert(int xid, int relationId, TupleData newTuple) implements PgOutputMessage {}

    /**
     * Update ('U'). {@code oldTuple} is {@code null} unless the old row was sent: only its key columns
     * ({@link OldTupleKind#KEY}, when the key changed) or the whole row ({@link OldTupleKind#FULL},
     * under REPLICA IDENTITY FULL).
     */
    record Update(int xid, int relationId, OldTupleKind oldKind, TupleData oldTuple, TupleData newTuple)
            implements PgOutputMessage {}

    /** Delete ('D'); the old tuple holds the key columns or, under REPLICA IDENTITY FULL, the whole row. */
    record Delete(int xid, int relationId, OldTupleKind oldKind, TupleData oldTuple) implements PgOutputMessage {}

    /** Truncate ('T') of one or more tables in one statement. */
    record Truncate(int xid, boolean cascade, boolean restartIdentity, int[] relationIds) implements PgOutputMessage {}

    /** Logical decoding message ('M') from {@code pg_logical_emit_message}. */
    record Message(int xid, boolean transactional, Lsn lsn, String prefix, byte[] content) implements PgOutputMessage {}

    /** Stream Start ('S'), proto 2+. */
    record StreamStart(int xid, boolean firstSegment) implements PgOutputMessage {}

    /** Stream Stop ('E'), proto 2+. */
    record StreamStop() implements PgOutputMessage {}

    /** Stream Commit ('c'), proto 2+. */
    record StreamCommit(int xid, byte flags, Lsn commitLsn, Lsn endLsn, Instant commitTime) implements PgOutputMessage {}

    /**
     * Stream Abort ('A'), proto 2+. {@code abortLsn} and {@code abortTime} are sent only by proto 4
     * with parallel streaming; {@code null} otherwise.
     */
    record StreamAbort(int xid, int subXid, Lsn abortLsn, Instant abortTime) implements PgOutputMessage {}

    /** Begin Prepare ('b'), proto 3+. */
    record BeginPrepare(Lsn prepareLsn, Lsn endLsn, Instant prepareTime, int xid, String gid) implements PgOutputMessage {}

    /** Prepare ('P'), proto 3+. */
    record Prepare(byte flags, Lsn prepareLsn, Lsn endLsn, Instant prepareTime, int xid, String gid) implements PgOutputMessage {}

    /** Commit Prepared ('K'), proto 3+. */
    record CommitPrepared(byte flags, Lsn commitLsn, Lsn endLsn, Instant commitTime, int xid, String gid) implements PgOutputMessage {}

    /** Rollback Prepared ('r'), proto 3+. */
    record RollbackPrepared(byte flags, Lsn prepareEndLsn, Lsn rollbackEndLsn, Instant prepareTime, Instant rollbackTime,
                            int xid, String gid) implements PgOutputMessage {}

    /** Stream Prepare ('p'), proto 3+. */
    record StreamPrepare(byte flags, Lsn prepareLsn, Lsn endLsn, Instant prepareTime, int xid, String gid) implements PgOutputMessage {}

    enum OldTupleKind {
        /** 'K': the replica identity key columns; other columns are null. */
        KEY,
        /** 'O': the whole old row (REPLICA IDENTITY FULL). */
        FULL
    }

    /** The relation's {@code relreplident}: d(efault), n(othing), f(ull), i(ndex). */
    enum ReplicaIdentity {
        DEFAULT, NOTHING, FULL, INDEX;

        public static ReplicaIdentity fromCode(byte code) {
            return switch (code) {
                case 'd' -> DEFAULT;
                case 'n' -> NOTHING;
                case 'f' -> FULL;
                case 'i' -> INDEX;
                default -> throw new IllegalArgumentException("unknown replica identity '" + (char) code + "'");
            };
        }
    }
}
