package dev.tidings.server.live;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The bounded send queue of one connection (a WebSocket or an SSE stream).
 *
 * <p>Design. {@link #offer} never blocks: the fan-out thread that calls it also carries the
 * replication stream, and one slow client must not slow it or anyone else. The server's
 * {@link OutboxWriter} drains the queue, everything waiting at once in one write, and at most one
 * write is in flight at the transport; the rest wait here, counted in bytes and messages. When a
 * message would take the queue over either limit while a write is in flight, the client has
 * fallen behind for good: what is queued is dropped, one last message saying why is written, then
 * the connection is closed — and aborted after a grace period if even that cannot be written (a
 * client that stopped reading). When no write is in flight the client is not behind, the writer
 * is: the offering thread then writes the queue itself. So the memory one connection can hold is
 * its limit plus one write in flight, whatever it does.
 *
 * <p>Frames are shared: the fan-out hands every subscriber of an event the same bytes where it can,
 * so a queue holds references, not copies. Thread-safe.
 */
public final class Outbox {
    /**
     * The most bytes handed to the transport in one write (unless one message is bigger); the rest
     * goes in the next. 64 KB is the loopback MTU and far above what a write carries when the
     * server keeps up; it also bounds what a write in flight holds (see {@link WriteBuffers}).
     */
    static final int MAX_WRITE_BYTES = 64 * 1024;

    /** Where the bytes go. {@code write} may complete inline or on another thread. */
    public interface Transport {
        /**
         * Writes the messages, in order, each as its own message (frame, event) of the protocol. The
         * arrays may be shared with other connections and must not be changed; the list is reused
         * for the next write once this one is reported done or failed, so read it before that.
         */
        void write(List<byte[]> messages, Runnable done, Consumer<Throwable> failed);

        /** A polite close after the last message. */
        void close(String reason);

        /** Drops the connection now. */
        void abort();
    }

    private final Transport transport;
    private final long maxBytes;
    private final int maxMessages;
    private final OutboxWriter.Lane writer;
    private final ScheduledExecutorService timers;
    private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
    /** The messages of the write in flight; reused, as there is one write at a time (see flush). */
    private final List<byte[]> batch = new ArrayList<>();
    /** Made once: a write costs no allocation here. */
    private final Runnable onWritten = this::written;
    private final Consumer<Throwable> onFailed = this::fail;
    private long queuedBytes;
    private boolean writing;
    private boolean scheduled;
    private boolean closing;
    private String closeReason;
    private volatile boolean overflowed;

    public Outbox(Transport transport, long maxBytes, int maxMessages, OutboxWriter writer,
                  ScheduledExecutorService timers) {
        this.transport = transport;
        this.maxBytes = maxBytes;
        this.maxMessages = maxMessages;
        this.writer = writer.assign();
        this.timers = timers;
    }

    /**
     * Queues a message. When it does not fit, {@code farewell}'s message (if any) is queued instead of
     * everything pending and the connection is closed after it; returns false then and afterwards.
     */
    public boolean offer(byte[] message, Supplier<byte[]> farewell, String reason) {
        boolean schedule;
        boolean accepted;
        boolean writeNow = false;
        synchronized (this) {
            if (closing) {
                return false;
            }
            boolean full = queuedBytes + message.length > maxBytes || queue.size() >= maxMessages;
            if (full && !writing) {
                // not the client's fault: the writer has not come round yet, so this thread writes
                writeNow = true;
                full = false;
            }
            if (full) {
                overflowed = true;
                queue.clear();
                queuedBytes = 0;
                byte[] last = farewell == null ? null : farewell.get();
                if (last != null) {
                    queue.add(last);
                }
                closing = true;
                closeReason = reason;
                timers.schedule(transport::abort, 2, TimeUnit.SECONDS);
            } else {
                queue.add(message);
                queuedBytes += message.length;
            }
            accepted = !closing;
            schedule = !writeNow && !scheduled && !writing;
            scheduled |= schedule;
        }
        if (writeNow) {
            flush(false);
        } else if (schedule) {
            writer.schedule(this);
        }
        return accepted;
    }

    /**
     * A reply to the client's own message (a heartbeat's), offered on the thread that read that message: written at
     * once from this thread when nothing is queued or being written, which spares the hand-over to the writer thread;
     * otherwise as {@link #offer}.
     */
    public boolean reply(byte[] message, Supplier<byte[]> farewell, String reason) {
        boolean idle;
        synchronized (this) {
            idle = !closing && !writing && !scheduled && queue.isEmpty();
            if (idle) {
                queue.add(message);
                queuedBytes += message.length;
            }
        }
        if (!idle) {
            return offer(message, farewell, reason);
        }
        flush(false);
        return true;
    }

    /** Queues a last message (if any) and closes after it. */
    public void closeAfter(byte[] last, String reason) {
        synchronized (this) {
            if (closing) {
                return;
            }
            if (last != null) {
                queue.add(last);
                queuedBytes += last.length;
            }
            closing = true;
            closeReason = reason;
        }
        timers.schedule(transport::abort, 5, TimeUnit.SECONDS);
        scheduleIfIdle();
    }

    /** True once this connection was dropped for falling behind. */
    public boolean overflowed() {
        return overflowed;
    }

    public synchronized long queuedBytes() {
        return queuedBytes;
    }

    /** Whether less than half of both bounds is used: a producer that can wait (a replay) offers only then. */
    public synchronized boolean belowHalf() {
        return queuedBytes < maxBytes / 2 && queue.size() < maxMessages / 2;
    }

    /** True once closing: nothing more is accepted. */
    public synchronized boolean closing() {
        return closing;
    }

    /** Stops accepting messages; nothing more is written. */
    public synchronized void discard() {
        closing = true;
        closeReason = null;
        queue.clear();
        queuedBytes = 0;
    }

    /** Puts this outbox on the writer's ready queue unless it is there or a write is in flight. */
    private void scheduleIfIdle() {
        synchronized (this) {
            if (scheduled || writing || (queue.isEmpty() && closeReason == null)) {
                return;
            }
            scheduled = true;
        }
        writer.schedule(this);
    }

    /**
     * Hands what is queued to the transport, or closes after the last message. On the writer thread
     * ({@code fromWriter}), or on a thread offering to a queue the writer has not drained in time.
     */
    void flush(boolean fromWriter) {
        boolean write = false;
        String close = null;
        synchronized (this) {
            if (fromWriter) {
                scheduled = false;
            }
            if (writing) {
                return;
            }
            if (queue.isEmpty()) {
                if (closing && closeReason != null) {
                    close = closeReason;
                    closeReason = null;
                }
            } else {
                // the transport has read the previous batch before it reported that write done
                batch.clear();
                long bytes = 0;
                while (!queue.isEmpty() && (batch.isEmpty() || bytes + queue.peek().length <= MAX_WRITE_BYTES)) {
                    byte[] next = queue.poll();
                    bytes += next.length;
                    batch.add(next);
                }
                queuedBytes -= bytes;
                writing = true;
                write = true;
            }
        }
        if (close != null) {
            String reason = close;
            timers.execute(() -> transport.close(reason));
        } else if (write) {
            transport.write(batch, onWritten, onFailed);
        }
    }

    private void written() {
        synchronized (this) {
            writing = false;
        }
        scheduleIfIdle();
    }

    /** The transport failed: nothing more is written and the connection is dropped. */
    void fail(Throwable cause) {
        discard();
        transport.abort();
    }

    @Override
    public String toString() {
        return "outbox of " + transport;
    }
}
