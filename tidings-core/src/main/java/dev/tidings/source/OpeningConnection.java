package dev.tidings.source;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * A connection being opened on a thread of its own, so that opening it (TCP, TLS, authentication,
 * and in a fresh JVM the driver's first run) overlaps other work: {@link ReplicationSource} opens
 * the replication connection while its checks run on the ordinary one. Whoever creates it must
 * either {@link #get()} the connection (and close it) or {@link #discard()} it.
 */
final class OpeningConnection {
    private final FutureTask<Connection> task;

    OpeningConnection(Callable<Connection> open) {
        task = new FutureTask<>(open);
        Thread.ofPlatform().daemon().name("tidings-connect").start(task);
    }

    /** Waits until it is open; throws what opening it threw. */
    Connection get() throws SQLException, InterruptedException {
        try {
            return task.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof SQLException sql) {
                throw sql;
            }
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(cause);
        }
    }

    /** Closes the connection once it is open; a failure to open it is of no interest any more. */
    void discard() {
        try {
            get().close();
        } catch (SQLException | RuntimeException e) {
            // nobody wants this connection: whatever went wrong with it does not matter
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
