package dev.tidings.server.realtime;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The bounded send queue of one connection (a WebSocket or an SSE stream).
 *
 * <p>Design. {@link #offer} never blocks: the fan-out thread that calls it also carries the
 * replication stream, and one slow client must not slow it or anyone else. At most one write is in
 * flight at the transport; the rest wait here, counted in bytes and messages. When a message would
 * take the queue over either limit, the client has fallen behind for good: what is queued is
 * dropped, one last message saying why is written, then the connection is closed — and aborted
 * after a grace period if even that cannot be written (a client that stopped reading). So the
 * memory one connection can hold is its limit plus one message in flight, whatever it does.
 *
 * <p>Frames are shared: the fan-out hands every subscriber of an event buffers over the same
 * bytes where it can, so a queue holds references, not copies. Thread-safe.
 */
public final class Outbox {
    /** Where the bytes go. {@code write} may complete inline or on another thread. */
    public interface Transport {
        void write(ByteBuffer bytes, Runnable done, Consumer<Throwable> failed);

        /** A polite close after the last message. */
        void close(String reason);

        /** Drops the connection now. */
        void abort();
    }

    private final Transport transport;
    private final long maxBytes;
    private final int maxMessages;
    private final ScheduledExecutorService timers;
    private final ArrayDeque<ByteBuffer> queue = new ArrayDeque<>();
    private final AtomicBoolean pumping = new AtomicBoolean();
    private long queuedBytes;
    private boolean writing;
    private boolean closing;
    private String closeReason;
    private volatile boolean overflowed;

    public Outbox(Transport transport, long maxBytes, int maxMessages, ScheduledExecutorService timers) {
        this.transport = transport;
        this.maxBytes = maxBytes;
        this.maxMessages = maxMessages;
        this.timers = timers;
    }

    /**
     * Queues a message. When it does not fit, {@code farewell}'s message (if any) is queued instead of
     * everything pending and the connection is closed after it; returns false then and afterwards.
     */
    public boolean offer(byte[] message, java.util.function.Supplier<byte[]> farewell, String reason) {
        ByteBuffer buffer = ByteBuffer.wrap(message);
        synchronized (this) {
            if (closing) {
                return false;
            }
            if (queuedBytes + message.length > maxBytes || queue.size() >= maxMessages) {
                overflowed = true;
                queue.clear();
                queuedBytes = 0;
                byte[] last = farewell == null ? null : farewell.get();
                if (last != null) {
                    queue.add(ByteBuffer.wrap(last));
                }
                closing = true;
                closeReason = reason;
            } else {
                queue.add(buffer);
                queuedBytes += message.length;
            }
        }
        if (overflowed) {
            timers.schedule(transport::abort, 2, TimeUnit.SECONDS);
        }
        pump();
        return !overflowed;
    }

    /** Queues a last message (if any) and closes after it. */
    public void closeAfter(byte[] last, String reason) {
        synchronized (this) {
            if (closing) {
                return;
            }
            if (last != null) {
                queue.add(ByteBuffer.wrap(last));
                queuedBytes += last.length;
            }
            closing = true;
            closeReason = reason;
        }
        timers.schedule(transport::abort, 5, TimeUnit.SECONDS);
        pump();
    }

    /** True once this connection was dropped for falling behind. */
    public boolean overflowed() {
        return overflowed;
    }

    public synchronized long queuedBytes() {
        return queuedBytes;
    }

    /** Stops accepting messages; nothing more is written. */
    public synchronized void discard() {
        closing = true;
        queue.clear();
        queuedBytes = 0;
    }

    private void pump() {
        while (pumping.compareAndSet(false, true)) {
            try {
                while (true) {
                    ByteBuffer next;
                    boolean closeNow = false;
                    synchronized (this) {
                        if (writing) {
                            break;
                        }
                        next = queue.poll();
                        if (next == null) {
                            if (closing && closeReason != null) {
                                closeNow = true;
                                String reason = closeReason;
                                closeReason = null;
                                transportClose(reason);
                            }
                            break;
                        }
                        queuedBytes -= next.remaining();
                        writing = true;
                    }
                    if (!closeNow) {
                        transport.write(next, this::written, this::failed);
                    }
                }
            } finally {
                pumping.set(false);
            }
            synchronized (this) {
                if (writing || (queue.isEmpty() && (closeReason == null || !closing))) {
                    return;
                }
            }
        }
    }

    private void transportClose(String reason) {
        timers.execute(() -> transport.close(reason));
    }

    private void written() {
        synchronized (this) {
            writing = false;
        }
        pump();
    }

    private void failed(Throwable cause) {
        discard();
        transport.abort();
    }
}
