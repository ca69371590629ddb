package dev.tidings.pipeline;

import dev.tidings.decode.ChangeDecoder;
import dev.tidings.event.ChangeEvent;
import dev.tidings.pgoutput.DecodeException;
import dev.tidings.source.Lsn;
import dev.tidings.source.MessageHandler;
import dev.tidings.value.TypeRegistry;

import java.nio.ByteBuffer;
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
 * <p>A failed delivery ends the pipeline: {@link #failure()} is set, the next source call
 * throws it, nothing after the last delivered commit is confirmed.
 */
public final class Pipeline implements MessageHandler {
    private static final Object STOP = new Object();

    private final ChangeDecoder decoder;
    private final Delivery delivery;
    private final Predicate<ChangeEvent> filter;
    private final BlockingQueue<Object> queue;
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
    public Pipeline(TypeRegistry types, Delivery delivery, Predicate<ChangeEvent> filter, int capacity) {
        this.decoder = new ChangeDecoder(types);
        this.delivery = delivery;
        this.filter = filter;
        this.queue = new ArrayBlockingQueue<>(capacity);
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
        decoder.streamStarted(protoVersion);
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
        }
        if (blocked[0] != null) {
            throw blocked[0];
        }
    }

    @Override
    public void streamEnding(KeepAlive keepAlive) throws Exception {
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
        while (!queue.offer(item, 1, TimeUnit.SECONDS)) {
            throwIfFailed();
            keepAlive.keepAlive();
        }
        queued++;
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
                Object item = queue.take();
                if (item == STOP) {
                    return;
                }
                switch ((StreamItem) item) {
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
                delivered++;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            fail(e);
        }
    }

    private synchronized void fail(Exception e) {
        if (failure == null) {
            failure = e;
            queue.clear();
            if (Thread.currentThread() != thread) {
                thread.interrupt();
            }
            onFailure.run();
        }
    }
}
