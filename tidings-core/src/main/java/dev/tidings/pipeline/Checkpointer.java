package dev.tidings.pipeline;

import dev.tidings.base.Lsn;

/**
 * Decides which LSN may be confirmed to PostgreSQL (guarantee 2 in docs/architecture.md): the
 * end of the commit record of the newest transaction that delivery has acknowledged — never a
 * position inside a transaction, never past a transaction still in flight.
 *
 * <p>Invariant: transactions are dispatched and acknowledged in the same (commit) order, so
 * counting them is enough to know whether anything is in flight. When nothing is — no
 * transaction half-received, every dispatched one acknowledged — the server's WAL end from its
 * keepalives may be confirmed too: everything before it was either delivered or not published,
 * and an idle or fully filtered database then does not pile up WAL.
 *
 * <p>Threads: {@link #dispatched}, {@link #undispatched} and {@link #confirmable} are called by the source thread,
 * {@link #acknowledged} by whichever thread the delivery acknowledges on, in commit order.
 */
final class Checkpointer {
    private long dispatched;
    private volatile long acknowledgedCount;
    private volatile Lsn acknowledged = Lsn.ZERO;

    void dispatched() {
        dispatched++;
    }

    /** {@code n} dispatched transactions never reached delivery and will be received again. Source thread. */
    void undispatched(int n) {
        dispatched -= n;
    }

    synchronized void acknowledged(Lsn ackLsn) {
        acknowledged = Lsn.max(acknowledged, ackLsn);
        acknowledgedCount++;
    }

    /** True when every dispatched transaction was acknowledged. Source thread only. */
    boolean allAcknowledged() {
        return acknowledgedCount == dispatched;
    }

    Lsn confirmable(Lsn serverWalEnd, boolean inTransaction) {
        Lsn acked = acknowledged;
        if (!inTransaction && allAcknowledged()) {
            return Lsn.max(acked, serverWalEnd);
        }
        return acked;
    }
}
