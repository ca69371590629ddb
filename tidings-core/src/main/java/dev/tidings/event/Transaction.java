package dev.tidings.event;

import dev.tidings.base.Lsn;

import java.time.Instant;

/**
 * The committed transaction an event belongs to. {@code commitLsn} orders transactions and, with
 * the event's index, forms the event id. For a non-transactional logical message, {@code xid} is 0
 * and {@code commitLsn} is the message's own LSN.
 *
 * @param origin the name of the replication origin the transaction was replayed from (set with
 *               {@code pg_replication_origin_session_setup} by a replication tool), or null when it
 *               was written by an ordinary session
 */
public record Transaction(long xid, Lsn commitLsn, Instant commitTime, String origin) {

    public Transaction(long xid, Lsn commitLsn, Instant commitTime) {
        this(xid, commitLsn, commitTime, null);
    }

    public Transaction withOrigin(String origin) {
        return new Transaction(xid, commitLsn, commitTime, origin);
    }
}
