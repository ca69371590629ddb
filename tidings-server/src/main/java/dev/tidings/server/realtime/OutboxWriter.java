package dev.tidings.server.realtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * Writes what the connections of one server have queued, on its own thread, many messages per write.
 *
 * <p>Design. The fan-out only queues: a change for 500 clients costs 500 enqueues on the
 * replication stream's thread, not 500 socket writes. An {@link Outbox} that has something queued
 * and no write in flight puts itself on this writer's ready queue (once); the writer takes the
 * connections in turn and hands each everything it has queued as one write, which the transport
 * gathers into one system call. While the writer goes round the ready connections, more changes
 * queue up behind it, so the busier the server, the more messages each write carries and the less
 * each message costs (as group commit does for a database); an idle server writes at once. A slow
 * client only keeps its own write in flight: its connection comes back to the ready queue when the
 * transport says that write completed, and nobody waits for it.
 */
public final class OutboxWriter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OutboxWriter.class);

    private final ConcurrentLinkedQueue<Outbox> ready = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean stopped;
    /** True while the writer may be about to park: only then does a producer pay for an unpark. */
    private volatile boolean idle;

    public OutboxWriter() {
        this.thread = Thread.ofPlatform().name("tidings-writer").daemon(true).start(this::run);
    }

    /** Puts a connection with queued messages on the ready queue; called once until it is flushed. */
    void schedule(Outbox outbox) {
        ready.add(outbox);
        if (idle) {
            LockSupport.unpark(thread);
        }
    }

    private void run() {
        while (!stopped) {
            Outbox next = ready.poll();
            if (next == null) {
                idle = true;
                if (ready.isEmpty() && !stopped) {
                    LockSupport.park(this);
                }
                idle = false;
                continue;
            }
            try {
                next.flush(true);
            } catch (RuntimeException e) {
                log.warn("writing to {} failed; the connection is dropped", next, e);
                next.fail(e);
            }
        }
    }

    /** Stops the writer thread; what is still queued is not written. */
    @Override
    public void close() {
        stopped = true;
        LockSupport.unpark(thread);
    }
}
