package dev.tidings.decode;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Transaction;

/**
 * What flows from the decoder to delivery, in WAL order: a transaction's begin, its changes, its
 * commit. {@code ackLsn} of a commit is the position that may be confirmed to PostgreSQL once the
 * transaction is delivered: the end of its commit record, so a restart does not send it again.
 */
public sealed interface StreamItem {
    record Begin(Transaction tx) implements StreamItem {}

    record Change(ChangeEvent event) implements StreamItem {}

    record Commit(Transaction tx, Lsn ackLsn) implements StreamItem {}
}
