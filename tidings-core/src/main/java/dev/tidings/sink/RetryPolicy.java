package dev.tidings.sink;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What a sink does when a batch fails: retry with exponential backoff and full jitter, and after
 * {@code maxAttempts} attempts or {@code maxTime} since the first failure, {@link GiveUp give up}.
 * Zero for either limit means no limit. The default never gives up: delivery blocks, WAL reading
 * pauses, nothing is lost.
 *
 * @param maxAttempts    attempts per batch including the first; 0 = unlimited
 * @param maxTime        how long to keep retrying one batch; zero = unlimited
 * @param initialBackoff wait before the first retry (before jitter)
 * @param maxBackoff     the longest wait between attempts
 * @param giveUp         what to do when the limits are reached
 */
public record RetryPolicy(int maxAttempts, Duration maxTime, Duration initialBackoff, Duration maxBackoff,
                          GiveUp giveUp) {

    /** What happens to a batch that exhausted its retries. Neither choice loses an event silently. */
    public enum GiveUp {
        /** Stop the pipeline with an error; nothing after the last delivered transaction is confirmed. */
        STOP,
        /** Write the batch to the sink's dead-letter file and go on; {@code tidings replay-dead-letters} sends it later. */
        DEAD_LETTER
    }

    public static final RetryPolicy FOREVER = new RetryPolicy(0, Duration.ZERO, Duration.ofMillis(100),
            Duration.ofSeconds(30), GiveUp.STOP);

    public RetryPolicy {
        if (maxAttempts < 0) {
            throw new IllegalArgumentException("max attempts must be 0 (unlimited) or more, not " + maxAttempts);
        }
    }

    public boolean exhausted(int attempts, long firstFailureNanos) {
        if (maxAttempts > 0 && attempts >= maxAttempts) {
            return true;
        }
        return !maxTime.isZero() && System.nanoTime() - firstFailureNanos >= maxTime.toNanos();
    }

    /** Backoff before retry number {@code retry} (1 = first retry): full jitter over the exponential bound. */
    public long backoffMillis(int retry) {
        long bound = initialBackoff.toMillis() << Math.min(retry - 1, 20);
        bound = Math.min(Math.max(bound, 1), maxBackoff.toMillis());
        return bound / 2 + ThreadLocalRandom.current().nextLong(bound / 2 + 1);
    }
}
