package dev.tidings;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Transaction;

/**
 * Receives committed changes in commit order, in the program that embeds Tidings — an observer
 * registered for event notification, in-process. Both methods are called on one
 * thread. Returning from {@link #onTransaction} acknowledges the transaction: it will not be
 * delivered again. An exception from either method stops the stream without acknowledging the
 * transaction, which is delivered again (same event ids) by the next start on the same slot.
 */
@FunctionalInterface
public interface ChangeListener {
    void onEvent(ChangeEvent event) throws Exception;

    /** Every change of {@code tx} has been passed to {@link #onEvent}. */
    default void onTransaction(Transaction tx) throws Exception {}
}
