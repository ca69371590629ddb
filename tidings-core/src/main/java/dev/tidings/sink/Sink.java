package dev.tidings.sink;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A durable destination for change events: a broker, an HTTP endpoint, a file. A sink only
 * writes; ordering, batching, the in-flight window, retries and acknowledgement to PostgreSQL are
 * done around it by the fan-out delivery ({@code dev.tidings.pipeline.SinkFanOut}).
 *
 * <p>Threads: {@link #send} is called by one thread per sink, in commit order, with at most
 * {@link SinkSettings#maxInFlight()} batches not yet completed. A batch that completes
 * exceptionally is sent again (same messages, same event ids) according to the sink's
 * {@link RetryPolicy}; batches are sent again in their original order, so the last copy of every
 * message is in commit order. {@link #close} is called once, after the last send.
 */
public interface Sink extends AutoCloseable {

    /**
     * Sends a batch. The future completes normally only when the server has confirmed every
     * message of the batch durable (broker acknowledgement, HTTP 2xx, fsync), and exceptionally
     * otherwise — with a {@link SinkException} to pass a {@code Retry-After} hint or to say that
     * retrying cannot help. Must not block for long: a sink whose client is synchronous may do
     * the work inline and return a completed future. The sink must time out what never answers.
     */
    CompletableFuture<Void> send(List<SinkMessage> batch);

    @Override
    default void close() throws Exception {}
}
