package dev.tidings.sink;

import java.time.Duration;

/**
 * Why a {@link Sink} could not deliver a batch. {@code retryAfter} is the server's own hint (an
 * HTTP {@code Retry-After}) and overrides the computed backoff; {@code permanent} says that
 * sending the same batch again cannot succeed (an HTTP 400, a message too large), so the retry
 * policy's give-up action applies at once.
 */
public class SinkException extends Exception {
    private final Duration retryAfter;
    private final boolean permanent;

    public SinkException(String message, Throwable cause, Duration retryAfter, boolean permanent) {
        super(message, cause);
        this.retryAfter = retryAfter;
        this.permanent = permanent;
    }

    public SinkException(String message) {
        this(message, null, null, false);
    }

    public SinkException(String message, Throwable cause) {
        this(message, cause, null, false);
    }

    /** The server's requested wait before the next attempt, or null. */
    public Duration retryAfter() {
        return retryAfter;
    }

    public boolean permanent() {
        return permanent;
    }
}
