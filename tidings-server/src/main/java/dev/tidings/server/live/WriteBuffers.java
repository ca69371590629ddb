package dev.tidings.server.live;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct buffers that the frames of one socket write are copied into, reused from write to write.
 *
 * <p>Design. A write of many shared heap arrays costs the JDK a temporary direct buffer, a copy and
 * an I/O vector entry per array, every time (under a profile of 500 clients that was a quarter of
 * the writer thread); one copy into one direct buffer and a plain write cost a single memcpy. A
 * write that completes at once gives its buffer straight back, so a busy writer cycles through a
 * handful. A write that stays in flight (a client not reading) keeps its buffer until it completes,
 * so the direct memory held is bounded too: past {@link #budget} bytes, or for a write bigger than
 * one buffer, {@link #merge} returns null and the caller writes the heap arrays as they are.
 * Thread-safe.
 */
public final class WriteBuffers {
    static final int SIZE = Outbox.MAX_WRITE_BYTES;
    private static final int POOLED = 16;

    /** Guarded by itself; an array deque allocates nothing per release, a concurrent queue a node. */
    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>(POOLED);
    private final AtomicLong held = new AtomicLong();
    private final long budget;

    /** @param budget the most direct bytes held by writes in flight and the pool together */
    WriteBuffers(long budget) {
        this.budget = budget;
    }

    /**
     * The messages copied, in order, into one direct buffer ready to be written; null when they
     * do not fit in one or the budget is spent. Give it back with {@link #release} once written.
     */
    public ByteBuffer merge(List<byte[]> messages) {
        int bytes = 0;
        for (int i = 0; i < messages.size(); i++) {
            bytes += messages.get(i).length;
        }
        if (bytes > SIZE) {
            return null;
        }
        ByteBuffer buffer;
        synchronized (free) {
            buffer = free.poll();
        }
        if (buffer == null) {
            if (held.addAndGet(SIZE) > budget) {
                held.addAndGet(-SIZE);
                return null;
            }
            buffer = ByteBuffer.allocateDirect(SIZE);
        }
        buffer.clear();
        for (int i = 0; i < messages.size(); i++) {
            buffer.put(messages.get(i));
        }
        return buffer.flip();
    }

    /** Takes back a buffer of {@link #merge} whose write completed or failed. */
    public void release(ByteBuffer buffer) {
        synchronized (free) {
            if (free.size() < POOLED) {
                free.push(buffer);
                return;
            }
        }
        held.addAndGet(-SIZE); // left to the collector
    }

    /** Direct bytes held now, by writes in flight and the pool (for tests). */
    long held() {
        return held.get();
    }
}
