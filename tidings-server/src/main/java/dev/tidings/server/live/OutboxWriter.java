package dev.tidings.server.live;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Writes what the connections of one server have queued, on its own threads, many messages per write.
 *
 * <p>Design. The fan-out only queues: a change for 500 clients costs 500 enqueues on the
 * replication stream's thread, not 500 socket writes. An {@link Outbox} that has something queued
 * and no write in flight puts itself on the ready queue of its lane (once); the lane's thread takes
 * the connections in turn and hands each everything it has queued as one write, which the
 * transport gathers into one system call. Connections are spread over the lanes when they open,
 * one lane per two cores, so that the system calls of many connections use more than one core.
 * While a lane goes round its ready connections, more changes queue up behind it, so the busier
 * the server, the more messages each write carries and the less each message costs (as group
 * commit does for a database); an idle server writes at once. A slow
 * client only keeps its own write in flight: its connection comes back to the ready queue when the
 * transport says that write completed, and nobody waits for it.
 */
public final class OutboxWriter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OutboxWriter.class);

    /** The most direct memory the socket writes in flight may hold; beyond it they write from the heap. */
    private static final long DIRECT_BUDGET = 32L << 20;

    private final Lane[] lanes;
    private final WriteBuffers buffers = new WriteBuffers(DIRECT_BUDGET);
    private final AtomicInteger next = new AtomicInteger();
    private volatile boolean stopped;

    /** One writer thread per two cores, at least one and at most four. */
    public OutboxWriter() {
        this(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2)));
    }

    OutboxWriter(int threads) {
        lanes = new Lane[threads];
        for (int i = 0; i < threads; i++) {
            lanes[i] = new Lane("tidings-writer-" + i);
        }
    }

    /** The direct buffers socket writes copy their frames into. */
    public WriteBuffers buffers() {
        return buffers;
    }

    /** The lane a new connection is written by (round robin): a connection stays on its lane. */
    Lane assign() {
        return lanes[Math.floorMod(next.getAndIncrement(), lanes.length)];
    }

    /** One writer thread and the connections ready for it. */
    final class Lane {
        /** Guarded by itself; an array deque allocates nothing per entry, a concurrent queue a node. */
        private final ArrayDeque<Outbox> ready = new ArrayDeque<>();
        private final Thread thread;
        /** True while the thread may be about to park: only then does a producer pay for an unpark. */
        private volatile boolean idle;

        private Lane(String name) {
            this.thread = Thread.ofPlatform().name(name).daemon(true).start(this::run);
        }

        /** Puts a connection with queued messages on the ready queue; called once until it is flushed. */
        void schedule(Outbox outbox) {
            synchronized (ready) {
                ready.add(outbox);
            }
            if (idle) {
                LockSupport.unpark(thread);
            }
        }

        private boolean isEmpty() {
            synchronized (ready) {
                return ready.isEmpty();
            }
        }

        private void run() {
            while (!stopped) {
                Outbox outbox;
                synchronized (ready) {
                    outbox = ready.poll();
                }
                if (outbox == null) {
                    idle = true;
                    if (isEmpty() && !stopped) {
                        LockSupport.park(this);
                    }
                    idle = false;
                    continue;
                }
                try {
                    outbox.flush(true);
                } catch (RuntimeException e) {
                    log.warn("writing to {} failed; the connection is dropped", outbox, e);
                    outbox.fail(e);
                }
            }
        }
    }

    /** Stops the writer threads; what is still queued is not written. */
    @Override
    public void close() {
        stopped = true;
        for (Lane lane : lanes) {
            LockSupport.unpark(lane.thread);
        }
    }
}
