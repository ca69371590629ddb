package dev.tidings.sink;

/**
 * A sink gave up on a batch and its {@link RetryPolicy} says stop: the pipeline ends with this
 * error, and nothing from the undelivered event on is confirmed to PostgreSQL.
 */
public final class SinkFailedException extends Exception {
    public SinkFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
