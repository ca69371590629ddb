package dev.tidings.pipeline;

import dev.tidings.base.Lsn;
import dev.tidings.decode.ChangeDecoder;
import dev.tidings.decode.StreamItem;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Row;
import dev.tidings.pgoutput.DecodeException;
import dev.tidings.source.MessageHandler;
import dev.tidings.value.CatalogLookupException;

import java.nio.ByteBuffer;
import java.sql.SQLTransientConnectionException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Carries decoded transactions from the source thread to one {@link Delivery} on a thread of its
 * own, through a bounded queue, and tells the source what may be confirmed.
 *
 * <p>Design. The source thread decodes (bytes → messages → events with JSON values) and puts
 * {@link StreamItem}s into a queue of fixed capacity; the delivery thread takes them in order. A
 * full queue blocks the source thread, which stops reading WAL — backpressure reaches
 * PostgreSQL instead of memory — while it keeps the connection alive with status updates. No
 * component holds a whole transaction: a million-row transaction passes through the queue a
 * change at a time, and is confirmed when its commit is delivered.
 *
 * <p>The queue is bounded twice: by item count, and by the size of the values waiting in it
 * (guarantee 4 in docs/architecture.md). A count alone would let 4096 rows of a megabyte each queue up
 * behind a slow delivery; the byte budget (by default an eighth of the heap, at most 64 MB) stops
 * the source first. One change larger than the budget is still let through, alone, so any row
 * PostgreSQL can store can be delivered. A change's weight is the length of its JSON values — the
 * bulk of what it holds — computed alike when it enters and when it leaves the queue.
 *
 * <p>Items cross the queue in batches: the source thread collects up to {@code batchSize} items and
 * hands them over at once, always at a commit (so a transaction is never held back from delivery:
 * PostgreSQL sends a transaction's changes right before its commit) and before it would wait for
 * the byte budget. One hand-off per batch instead of per item saves lock round trips and wake-ups
 * of the delivery thread. The queue holds {@code capacity / batchSize} batches, so the item bound
 * stays {@code capacity}.
 *
 * <p>Threads: {@link #message}, {@link #confirmable} and {@link #streamEnding} run on the source
 * thread; {@link Delivery} is called on this pipeline's own {@code tidings-delivery} thread.
 *
 * <p>When the connection dies while the source thread waits for room (a keepalive throws), the
 * batch it was handing over stays with it and is discarded when the next stream starts: PostgreSQL
 * sends those items again, and the commits they hold stop counting as dispatched.
 *
 * <p>A failed delivery ends the pipeline: {@link #failure()} is set, the next source call
 * throws it, nothing after the last delivered commit is confirmed.
 */
public final class Pipeline implements MessageHandler {
    private static final Object STOP = new Object();

    private final ChangeDecoder decoder;
    private final Delivery delivery;
    private final Predicate<ChangeEvent> filter;
    private final BlockingQueue<Object> queue;
    private final int batchSize;
    private ArrayList<StreamItem> batch; // source thread only
    private final long maxQueuedChars;
    private final Object budget = new Object();
    private long queuedChars; // guarded by budget
    private final Checkpointer checkpointer = new Checkpointer();
    private final Thread thread;
    private long queued;
    private volatile long delivered;
    private volatile long decodeErrors;
    private volatile Exception failure;
    private volatile Runnable onFailure = () -> {};

    /**
     * @param filter   which events reach the delivery (the rest still count as delivered)
     * @param capacity how many items may wait between decoding and delivery
     */
    public Pipeline(ChangeDecoder decoder, Delivery delivery, Predicate<ChangeEvent> filter, int capacity) {
        this(decoder, delivery, filter, capacity, defaultMaxQueuedChars());
    }

    /** @param maxQueuedChars how many characters of JSON values may wait between decoding and delivery */
    public Pipeline(ChangeDecoder decoder, Delivery delivery, Predicate<ChangeEvent> filter, int capacity,
                    long maxQueuedChars) {
        this.decoder = decoder;
        this.delivery = delivery;
        this.filter = filter;
        this.batchSize = Math.max(1, Math.min(64, capacity / 4));
        this.queue = new ArrayBlockingQueue<>(Math.max(1, capacity / batchSize));
        this.batch = new ArrayList<>(batchSize);
        this.maxQueuedChars = maxQueuedChars;
        this.thread = Thread.ofPlatform().name("tidings-delivery").daemon(true).unstarted(this::deliverLoop);
    }

    public void start(Runnable onFailure) {
        this.onFailure = onFailure;
        thread.start();
    }

    /** How many messages could not be decoded (each ends the stream). Thread-safe. */
    public long decodeErrors() {
        return decodeErrors;
    }

    /** The delivery's failure, once it failed. */
    public Exception failure() {
        return failure;
    }

    /**
     * Lets the delivery thread finish what is queued, then ends it. Call after the source stopped.
     * Returns false if it did not finish within the timeout.
     */
    public boolean drainAndStop(long timeoutMs) throws InterruptedException {
        if (thread.isAlive() && failure == null) {
            if (!queue.offer(STOP, timeoutMs, TimeUnit.MILLISECONDS)) {
                thread.interrupt();
                return false;
            }
        }
        thread.join(timeoutMs);
        return !thread.isAlive();
    }

    @Override
    public void streamStarted(int protoVersion) {
        discardUnsentBatch();
        decoder.streamStarted(protoVersion);
    }

    /**
     * Forgets what was collected but not handed over when the previous stream ended (its connection
     * died while the queue was full): PostgreSQL sends it again from its Begin, as none of it was
     * confirmed. Its commits no longer count as dispatched and its reservation is released, so
     * "everything acknowledged" can become true again and the byte budget is whole.
     */
    private void discardUnsentBatch() {
        long weight = 0;
        int commits = 0;
        for (StreamItem item : batch) {
            weight += weight(item);
            if (item instanceof StreamItem.Commit) {
                commits++;
            }
        }
        batch.clear();
        checkpointer.undispatched(commits);
        if (weight > 0) {
            release(weight);
        }
    }

    @Override
    public void message(Lsn walStart, ByteBuffer payload, KeepAlive keepAlive) throws Exception {
        throwIfFailed();
        Exception[] blocked = new Exception[1];
        try {
            decoder.decode(walStart, payload, item -> {
                if (blocked[0] == null) {
                    try {
                        put(item, keepAlive);
                    } catch (Exception e) {
                        blocked[0] = e;
                    }
                }
            });
        } catch (DecodeException e) {
            decodeErrors++; // only the source thread writes
            throw e;
        } catch (CatalogLookupException e) {
            // transient: the source reconnects with backoff and PostgreSQL sends the transaction again
            throw new SQLTransientConnectionException(e.getMessage() + "; the stream starts again from the last"
                    + " confirmed transaction once the database answers", "08000", e);
        }
        if (blocked[0] != null) {
            throw blocked[0];
        }
    }

    @Override
    public void streamEnding(KeepAlive keepAlive) throws Exception {
        handOver(keepAlive);
        long lastKeepAlive = System.nanoTime();
        long deadline = lastKeepAlive + TimeUnit.SECONDS.toNanos(30);
        while ((delivered != queued || !checkpointer.allAcknowledged()) && failure == null && System.nanoTime() < deadline) {
            Thread.sleep(2);
            if (System.nanoTime() - lastKeepAlive > TimeUnit.SECONDS.toNanos(1)) {
                keepAlive.keepAlive();
                lastKeepAlive = System.nanoTime();
            }
        }
    }

    @Override
    public Lsn confirmable(Lsn serverWalEnd) {
        return checkpointer.confirmable(serverWalEnd, decoder.inTransaction());
    }

    private void put(StreamItem item, KeepAlive keepAlive) throws Exception {
        if (item instanceof StreamItem.Commit) {
            checkpointer.dispatched();
        }
        long weight = weight(item);
        if (weight > 0) {
            reserve(weight, keepAlive);
        }
        batch.add(item);
        if (item instanceof StreamItem.Commit || batch.size() >= batchSize) {
            handOver(keepAlive);
        }
    }

    /** Puts the collected items into the queue as one batch, waiting (with keepalives) while it is full. */
    private void handOver(KeepAlive keepAlive) throws Exception {
        if (batch.isEmpty()) {
            return;
        }
        // the batch is replaced only once the queue took it: if the keepalive throws (the connection
        // died while the queue was full) it stays here, and streamStarted discards it
        while (!queue.offer(batch, 1, TimeUnit.SECONDS)) {
            throwIfFailed();
            keepAlive.keepAlive();
        }
        queued += batch.size();
        batch = new ArrayList<>(batchSize);
    }

    /** Waits until the values of {@code weight} characters fit in the budget (or the queue is empty of values). */
    private void reserve(long weight, KeepAlive keepAlive) throws Exception {
        synchronized (budget) {
            if (queuedChars == 0 || queuedChars + weight <= maxQueuedChars) {
                queuedChars += weight;
                return;
            }
        }
        handOver(keepAlive); // the delivery can only free what it was given
        while (true) {
            synchronized (budget) {
                if (queuedChars == 0 || queuedChars + weight <= maxQueuedChars) {
                    queuedChars += weight;
                    return;
                }
                budget.wait(1000);
                if (queuedChars == 0 || queuedChars + weight <= maxQueuedChars) {
                    queuedChars += weight;
                    return;
                }
            }
            throwIfFailed();
            keepAlive.keepAlive();
        }
    }

    private void release(long weight) {
        synchronized (budget) {
            queuedChars -= weight;
            budget.notifyAll();
        }
    }

    static long weight(StreamItem item) {
        if (!(item instanceof StreamItem.Change c)) {
            return 0;
        }
        return weight(c.event());
    }

    /** The length of an event's JSON values and message content: the bulk of what it holds. */
    static long weight(ChangeEvent e) {
        long chars = weight(e.record()) + weight(e.oldRecord());
        if (e.message() != null) {
            chars += e.message().content().length;
        }
        return chars;
    }

    private static long weight(Row row) {
        if (row == null) {
            return 0;
        }
        long chars = 0;
        for (int i = 0; i < row.size(); i++) {
            String json = row.json(i);
            if (json != null) {
                chars += json.length();
            }
        }
        return chars;
    }

    private static long defaultMaxQueuedChars() {
        return Math.max(1 << 20, Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 8));
    }

    private void throwIfFailed() throws Exception {
        Exception f = failure;
        if (f != null) {
            throw f;
        }
    }

    private void deliverLoop() {
        try {
            while (failure == null) {
                Object taken = queue.take();
                if (taken == STOP) {
                    return;
                }
                @SuppressWarnings("unchecked")
                List<StreamItem> items = (List<StreamItem>) taken;
                long weight = 0; // released once per batch; a failure resets the budget instead
                for (int i = 0; i < items.size() && failure == null; i++) {
                    StreamItem item = items.get(i);
                    weight += weight(item);
                    deliver(item);
                    delivered++;
                }
                if (weight > 0 && failure == null) {
                    release(weight);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            fail(e);
        }
    }

    private void deliver(StreamItem item) throws Exception {
        switch (item) {
            case StreamItem.Begin b -> delivery.begin(b.tx());
            case StreamItem.Change c -> {
                if (filter.test(c.event())) {
                    delivery.change(c.event());
                }
            }
            case StreamItem.Commit c -> delivery.commit(c.tx(), new Delivery.Acknowledgement() {
                @Override
                public void acknowledge() {
                    checkpointer.acknowledged(c.ackLsn());
                }

                @Override
                public void fail(Exception cause) {
                    Pipeline.this.fail(cause);
                }
            });
        }
    }

    private synchronized void fail(Exception e) {
        if (failure == null) {
            failure = e;
            queue.clear();
            synchronized (budget) {
                queuedChars = 0;
                budget.notifyAll();
            }
            if (Thread.currentThread() != thread) {
                thread.interrupt();
            }
            onFailure.run();
        }
    }
}
