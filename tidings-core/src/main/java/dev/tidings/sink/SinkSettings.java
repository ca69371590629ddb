package dev.tidings.sink;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;

import java.util.function.Predicate;

/**
 * How the fan-out drives one {@link Sink}.
 *
 * @param name          names the sink in logs, errors and metrics
 * @param filter        which events go to this sink (tables, ops)
 * @param format        how events are written for it
 * @param maxBatch      the most messages in one {@link Sink#send} call
 * @param maxInFlight   the most batches sent but not yet confirmed (1 = strictly one at a time)
 * @param queueCapacity messages (and commit marks) waiting for this sink before delivery blocks
 * @param retry         what happens when a batch fails
 * @param deadLetters   where {@link RetryPolicy.GiveUp#DEAD_LETTER} puts batches; null otherwise
 */
public record SinkSettings(String name, Predicate<ChangeEvent> filter, EventFormat format, int maxBatch,
                           int maxInFlight, int queueCapacity, RetryPolicy retry, DeadLetters deadLetters) {

    public SinkSettings {
        if (maxBatch < 1 || maxInFlight < 1 || queueCapacity < 1) {
            throw new IllegalArgumentException("sink " + name + ": batch, in-flight and queue sizes must be at least 1");
        }
        if (retry.giveUp() == RetryPolicy.GiveUp.DEAD_LETTER && deadLetters == null) {
            throw new IllegalArgumentException("sink " + name + ": give-up action dead_letter needs a dead-letter file");
        }
    }

    /** Messages per {@link Sink#send} unless a sink says otherwise. */
    public static final int DEFAULT_BATCH = 500;
    /**
     * Batches in flight unless a sink says otherwise: one keeps commit order through retries (with
     * more, a batch sent again can land after a later one).
     */
    public static final int DEFAULT_IN_FLIGHT = 1;
    /** Messages waiting for one sink before delivery blocks. */
    public static final int DEFAULT_QUEUE = 8192;

    /** Every event, the tidings format, the default batch, in-flight and queue sizes, retry forever. */
    public static SinkSettings defaults(String name) {
        return new SinkSettings(name, e -> true, EventFormat.named("tidings"), DEFAULT_BATCH, DEFAULT_IN_FLIGHT,
                DEFAULT_QUEUE, RetryPolicy.FOREVER, null);
    }

    public SinkSettings withFilter(Predicate<ChangeEvent> filter) {
        return new SinkSettings(name, filter, format, maxBatch, maxInFlight, queueCapacity, retry, deadLetters);
    }

    public SinkSettings withFormat(EventFormat format) {
        return new SinkSettings(name, filter, format, maxBatch, maxInFlight, queueCapacity, retry, deadLetters);
    }

    public SinkSettings withWindow(int maxBatch, int maxInFlight, int queueCapacity) {
        return new SinkSettings(name, filter, format, maxBatch, maxInFlight, queueCapacity, retry, deadLetters);
    }

    public SinkSettings withRetry(RetryPolicy retry, DeadLetters deadLetters) {
        return new SinkSettings(name, filter, format, maxBatch, maxInFlight, queueCapacity, retry, deadLetters);
    }
}
