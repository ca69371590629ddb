package dev.tidings.pipeline;

import dev.tidings.sink.RetryPolicy;
import dev.tidings.sink.Sink;
import dev.tidings.sink.SinkException;
import dev.tidings.sink.SinkFailedException;
import dev.tidings.sink.SinkMessage;
import dev.tidings.sink.SinkMetrics;
import dev.tidings.sink.SinkSettings;
import dev.tidings.source.Fence;
import dev.tidings.source.LeadershipLostException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One sink's lane of the fan-out: a bounded queue fed by the delivery thread, and a sender thread
 * that batches, keeps a window of batches in flight, retries, and reports progress.
 *
 * <p>Design. The queue holds the sink's messages and, after each transaction's messages, a commit
 * mark (the transaction's sequence number in the fan-out). The sender takes what is there — up to
 * {@code maxBatch} messages, never waiting for more (a batch is what piled up while the previous
 * one was sent) — and calls {@link Sink#send}. A commit mark read while messages are being
 * gathered or still in flight rides on the newest batch; when that batch is confirmed, so is the
 * transaction. Batches are retired strictly oldest first, so {@link #confirmed()} only grows.
 *
 * <p>Failure. When the oldest batch failed, the sender stops taking new messages, waits for the
 * other batches in flight to settle, then sends each failed batch again, oldest first, with
 * backoff, until it succeeds or the {@link RetryPolicy} gives up: stop the pipeline, or
 * dead-letter the batch. Batches that succeeded meanwhile are not sent again, so with more than
 * one batch in flight a retried batch can land after a later one; with {@code maxInFlight = 1}
 * the sink sees commit order exactly (Kafka keeps order itself: idempotent producer).
 *
 * <p>Backpressure. A full queue blocks {@link #put} on the delivery thread, which fills the
 * pipeline's queue, which blocks the source thread: WAL reading pauses while the connection
 * stays alive. The queue is bounded by count and by bytes: each message reserves its weight (its
 * body plus the values of its event) when it is put, and keeps it until its batch is confirmed or
 * dead-lettered, so messages queued, gathered and in flight together stay within
 * {@code maxBytes}. One message larger than that still passes, alone.
 */
final class SinkChannel {
    private static final Logger log = LoggerFactory.getLogger(SinkChannel.class);

    private final Sink sink;
    private final Fence fence;
    private final SinkSettings settings;
    private final SinkMetrics metrics;
    private final BlockingQueue<Object> queue;
    private final Runnable onProgress;
    private final Consumer<Exception> onFailure;
    private final Thread thread;
    private final ArrayDeque<Batch> inFlight = new ArrayDeque<>();
    private volatile long confirmed;
    private volatile boolean running = true;
    private volatile Exception failure;
    private final long maxBytes;
    private final Object budget = new Object();
    private long reservedBytes; // guarded by budget

    private static final class Batch {
        final List<SinkMessage> messages;
        long commit = -1;
        CompletableFuture<Void> future;

        Batch(List<SinkMessage> messages) {
            this.messages = messages;
        }
    }

    private record CommitMark(long seq) {}

    SinkChannel(Sink sink, SinkSettings settings, long maxBytes, Fence fence, Runnable onProgress,
                Consumer<Exception> onFailure) {
        this.sink = sink;
        this.fence = fence;
        this.maxBytes = maxBytes;
        this.settings = settings;
        this.metrics = new SinkMetrics(settings.name());
        this.queue = new ArrayBlockingQueue<>(settings.queueCapacity());
        this.onProgress = onProgress;
        this.onFailure = onFailure;
        this.thread = Thread.ofPlatform().name("tidings-sink-" + settings.name()).daemon(true).unstarted(this::sendLoop);
    }

    void start() {
        thread.start();
    }

    SinkSettings settings() {
        return settings;
    }

    SinkMetrics metrics() {
        return metrics;
    }

    /** The sequence number of the newest transaction this sink has confirmed entirely. Thread-safe. */
    long confirmed() {
        return confirmed;
    }

    void put(SinkMessage message) throws Exception {
        reserve(weight(message));
        offer(message);
        metrics.onQueued(1);
    }

    /** What a message holds in memory until it is confirmed: its body and its event's values. */
    static long weight(SinkMessage message) {
        return message.body().length + Pipeline.weight(message.event());
    }

    /** Waits until {@code weight} more bytes fit (or nothing is reserved), then reserves them. Delivery thread. */
    private void reserve(long weight) throws Exception {
        synchronized (budget) {
            while (reservedBytes > 0 && reservedBytes + weight > maxBytes) {
                if (failure != null) {
                    throw failure;
                }
                if (!running) {
                    throw new IllegalStateException("sink " + settings.name() + " is closed");
                }
                budget.wait(100);
            }
            reservedBytes += weight;
        }
    }

    private void release(List<SinkMessage> messages) {
        long weight = 0;
        for (SinkMessage m : messages) {
            weight += weight(m);
        }
        synchronized (budget) {
            reservedBytes -= weight;
            budget.notifyAll();
        }
    }

    void commit(long seq) throws Exception {
        offer(new CommitMark(seq));
    }

    private void offer(Object item) throws Exception {
        while (!queue.offer(item, 100, TimeUnit.MILLISECONDS)) {
            if (failure != null) {
                throw failure;
            }
            if (!running) {
                throw new IllegalStateException("sink " + settings.name() + " is closed");
            }
        }
    }

    /** Stops sending; what is not confirmed stays unconfirmed (it is sent again after a restart). */
    void stop() throws InterruptedException {
        running = false;
        thread.interrupt();
        thread.join(10_000);
    }

    private void sendLoop() {
        try {
            while (running) {
                retireCompleted();
                Object first = inFlight.isEmpty() ? queue.poll(50, TimeUnit.MILLISECONDS) : queue.poll(1, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                List<SinkMessage> messages = new ArrayList<>(Math.min(settings.maxBatch(), queue.size() + 1));
                long commit = -1;
                for (Object item = first; item != null; item = messages.size() < settings.maxBatch() ? queue.poll() : null) {
                    if (item instanceof SinkMessage m) {
                        messages.add(m);
                    } else {
                        commit = ((CommitMark) item).seq();
                    }
                }
                if (messages.isEmpty()) {
                    if (inFlight.isEmpty()) {
                        confirmed = commit;
                        onProgress.run();
                    } else {
                        inFlight.peekLast().commit = commit;
                    }
                    continue;
                }
                metrics.onQueued(-messages.size());
                while (inFlight.size() >= settings.maxInFlight()) {
                    awaitOldest();
                    retireCompleted();
                }
                Batch batch = new Batch(messages);
                batch.commit = commit;
                send(batch);
                inFlight.add(batch);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            fail(e);
        } catch (Throwable t) {
            fail(new IllegalStateException("sink " + settings.name() + " crashed: " + t, t));
        }
    }

    private void send(Batch batch) {
        checkFence();
        metrics.onSent(batch.messages.size());
        try {
            batch.future = sink.send(batch.messages);
        } catch (RuntimeException e) {
            batch.future = CompletableFuture.failedFuture(e);
        }
    }

    private void awaitOldest() throws InterruptedException {
        try {
            inFlight.peek().future.get();
        } catch (ExecutionException ignored) {
            // retireCompleted sees the failure and retries
        }
    }

    /** Retires completed batches, oldest first; on the first failed one, recovers (retry or give up). */
    private void retireCompleted() throws Exception {
        while (!inFlight.isEmpty() && inFlight.peek().future.isDone()) {
            Batch oldest = inFlight.peek();
            if (oldest.future.isCompletedExceptionally()) {
                recover();
                return;
            }
            inFlight.poll();
            confirm(oldest, true);
        }
    }

    private void confirm(Batch batch, boolean delivered) {
        List<SinkMessage> m = batch.messages;
        release(m);
        if (delivered) {
            metrics.onDelivered(m);
        } else {
            metrics.onFailed(m.size());
        }
        if (batch.commit >= 0) {
            confirmed = batch.commit;
        }
        onProgress.run();
    }

    private void recover() throws Exception {
        for (Batch b : inFlight) {
            try {
                b.future.get();
            } catch (ExecutionException ignored) {
                // collected below
            }
        }
        List<Batch> batches = new ArrayList<>(inFlight);
        inFlight.clear();
        for (Batch b : batches) {
            boolean delivered = !b.future.isCompletedExceptionally() || retry(b, cause(b.future));
            confirm(b, delivered);
        }
    }

    /** Sends {@code batch} again until it succeeds (true) or was dead-lettered (false). */
    private boolean retry(Batch batch, Exception cause) throws Exception {
        RetryPolicy policy = settings.retry();
        long firstFailure = System.nanoTime();
        int attempts = 1;
        while (true) {
            boolean permanent = cause instanceof SinkException se && se.permanent();
            if (permanent || policy.exhausted(attempts, firstFailure)) {
                giveUp(batch, cause, attempts, firstFailure);
                return false;
            }
            long wait = cause instanceof SinkException se && se.retryAfter() != null
                    ? Math.min(se.retryAfter().toMillis(), policy.maxBackoff().toMillis())
                    : policy.backoffMillis(attempts);
            if (attempts == 1 || attempts % 10 == 0) {
                log.warn("sink {}: sending {} events failed ({}); attempt {} in {} ms", settings.name(),
                        batch.messages.size(), describe(cause), attempts + 1, wait);
            }
            metrics.onRetry(cause);
            Thread.sleep(wait);
            if (!running) {
                throw new InterruptedException();
            }
            attempts++;
            checkFence();
            try {
                batch.future = sink.send(batch.messages);
                batch.future.get();
                if (attempts > 1) {
                    log.info("sink {}: delivered after {} attempts", settings.name(), attempts);
                }
                return true;
            } catch (ExecutionException e) {
                cause = cause(batch.future);
            } catch (RuntimeException e) {
                cause = e;
            }
        }
    }

    private void giveUp(Batch batch, Exception cause, int attempts, long firstFailure) throws Exception {
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - firstFailure);
        String what = "sink " + settings.name() + " could not deliver event " + batch.messages.get(0).id()
                + (batch.messages.size() > 1 ? " and " + (batch.messages.size() - 1) + " more" : "") + " after "
                + attempts + " attempt" + (attempts == 1 ? "" : "s") + " over " + seconds + " s: " + describe(cause);
        if (settings.retry().giveUp() == RetryPolicy.GiveUp.DEAD_LETTER) {
            settings.deadLetters().write(settings.name(), batch.messages, cause);
            log.error("{}; written to the dead-letter file", what);
            return;
        }
        metrics.onFailed(batch.messages.size());
        throw new SinkFailedException(what + ". Nothing from this event on was confirmed to PostgreSQL: fix the sink "
                + "and start Tidings again, and delivery resumes from this event", cause);
    }

    /** A process that no longer leads its slot sends nothing: another one delivers from the confirmed position. */
    private void checkFence() {
        if (!fence.held()) {
            throw new LeadershipLostException("sink " + settings.name() + " stopped sending: this process no longer "
                    + "leads its slot");
        }
    }

    private void fail(Exception e) {
        failure = e;
        running = false;
        metrics.onStopped(e);
        log.error("sink {} stopped: {}", settings.name(), e.getMessage());
        onFailure.accept(e);
    }

    private static Exception cause(CompletableFuture<Void> future) {
        try {
            future.join();
            return new IllegalStateException("not failed");
        } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            return c instanceof Exception ex ? ex : new IllegalStateException(c);
        }
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
