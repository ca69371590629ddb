package dev.tidings.pipeline;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Transaction;

/**
 * Where a {@link Pipeline} delivers, on its single delivery thread, in commit order. An exception
 * from any method stops the pipeline without confirming that transaction.
 *
 * <p>A transaction may be confirmed to PostgreSQL once the delivery calls
 * {@link Acknowledgement#acknowledge()} for it: at once inside {@link #commit} for a synchronous
 * delivery, or later from any thread for one that waits on a broker's confirmation. Later
 * transactions keep flowing meanwhile; acknowledgements must come in commit order.
 *
 * <p>After a reconnect a transaction that was cut off is sent again from its begin: a
 * {@link #begin} may follow changes that got no commit.
 */
public interface Delivery {
    default void begin(Transaction tx) throws Exception {}

    void change(ChangeEvent event) throws Exception;

    void commit(Transaction tx, Acknowledgement ack) throws Exception;

    /** Confirms one transaction, or fails the pipeline. Thread-safe. */
    interface Acknowledgement {
        void acknowledge();

        /** The transaction cannot be delivered: the pipeline stops and does not confirm it. */
        void fail(Exception cause);
    }
}
