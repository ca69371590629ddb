package dev.tidings.pipeline;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Transaction;

/**
 * Where a {@link Pipeline} delivers, on its single delivery thread, in commit order. A
 * transaction counts as delivered — and may be confirmed to PostgreSQL — when {@link #commit}
 * returns; an exception from any method stops the pipeline without confirming that transaction.
 *
 * <p>After a reconnect a transaction that was cut off is sent again from its begin: a
 * {@link #begin} may follow changes that got no commit.
 */
public interface Delivery {
    default void begin(Transaction tx) throws Exception {}

    void change(ChangeEvent event) throws Exception;

    void commit(Transaction tx) throws Exception;
}
