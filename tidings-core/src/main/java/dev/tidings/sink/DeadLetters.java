package dev.tidings.sink;

import java.util.List;

/**
 * Where a sink puts a batch it gave up on ({@link RetryPolicy.GiveUp#DEAD_LETTER}). Writing must
 * be durable when it returns: the batch is then acknowledged as if delivered.
 */
@FunctionalInterface
public interface DeadLetters {
    void write(String sink, List<SinkMessage> batch, Exception cause) throws Exception;
}
