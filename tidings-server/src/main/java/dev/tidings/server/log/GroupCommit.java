package dev.tidings.server.log;

import dev.tidings.event.ChangeEvent;
import dev.tidings.pipeline.Delivery.Acknowledgement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The change log as a consumer in the acknowledgement rule: the delivery thread appends events and
 * hands over each transaction's acknowledgement; the {@code tidings-log-sync} thread syncs the log
 * and only then acknowledges, oldest first. Group commit: while one sync runs, the transactions
 * that commit meanwhile wait together for the next, so one fsync covers many transactions under
 * load and an idle stream's single transaction waits for one fsync only. Live clients do not wait
 * for it: they get an event right after it was appended.
 *
 * <p>The same thread trims the log to its retention at most every {@code trimEvery}. A failed sync
 * fails every waiting acknowledgement: the pipeline stops and confirms nothing more, so the slot
 * sends those transactions again on the next start.
 */
public final class GroupCommit implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GroupCommit.class);

    private final ChangeLog changeLog;
    private final Duration trimEvery;
    private final Thread thread;
    private final Object lock = new Object();
    private List<Acknowledgement> waiting = new ArrayList<>();
    private boolean closed;
    private final AtomicLong syncs = new AtomicLong();
    private final AtomicLong syncNanos = new AtomicLong();
    private volatile EventId durable;
    private volatile Supplier<EventId> keepFrom = () -> null;

    public GroupCommit(ChangeLog changeLog, Duration trimEvery) {
        this.changeLog = changeLog;
        this.trimEvery = trimEvery;
        this.durable = changeLog.last();
        this.thread = Thread.ofPlatform().name("tidings-log-sync").daemon(true).unstarted(this::run);
        thread.start();
    }

    public ChangeLog changeLog() {
        return changeLog;
    }

    /** On the delivery thread: appends the event (snapshot reads, which belong to one consumer, are not logged). */
    public void append(ChangeEvent event) {
        if (event.snapshot() == null) {
            changeLog.append(event);
        }
    }

    /**
     * On the delivery thread, after the transaction's events were appended: acknowledges once they
     * are durable. Also for any write to the log's file that must be durable before an answer
     * (a consumer group's acknowledgements): it joins the same group commit.
     */
    public void commit(Acknowledgement ack) {
        synchronized (lock) {
            if (closed) {
                ack.fail(new IllegalStateException("the change log is closed"));
                return;
            }
            waiting.add(ack);
            lock.notifyAll();
        }
    }

    /** What a trim must keep: this id and newer ones ({@link ChangeLog#trim}); the supplier is called on the sync thread. */
    public void keepFrom(Supplier<EventId> keepFrom) {
        this.keepFrom = keepFrom;
    }

    /** The newest id the log made durable, or null. */
    public EventId durable() {
        return durable;
    }

    public long syncs() {
        return syncs.get();
    }

    public long syncNanos() {
        return syncNanos.get();
    }

    private void run() {
        long nextTrim = System.nanoTime();
        while (true) {
            List<Acknowledgement> batch;
            synchronized (lock) {
                while (waiting.isEmpty() && !closed && System.nanoTime() - nextTrim < 0) {
                    try {
                        lock.wait(Math.max(1, (nextTrim - System.nanoTime()) / 1_000_000));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (waiting.isEmpty() && closed) {
                    return;
                }
                batch = waiting;
                waiting = new ArrayList<>();
            }
            try {
                if (System.nanoTime() - nextTrim >= 0) {
                    long removed = changeLog.trim(keepFrom.get());
                    if (removed > 0) {
                        log.debug("change log: removed {} events beyond the retention", removed);
                    }
                    nextTrim = System.nanoTime() + trimEvery.toNanos();
                }
                long start = System.nanoTime();
                durable = changeLog.sync();
                syncNanos.addAndGet(System.nanoTime() - start);
                syncs.incrementAndGet();
            } catch (Exception e) {
                log.error("the change log could not be made durable: {}", e.toString());
                batch.forEach(ack -> ack.fail(e));
                continue;
            }
            batch.forEach(Acknowledgement::acknowledge);
        }
    }

    /** Acknowledges what is waiting (one last sync), stops the thread, closes the log. */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        changeLog.close();
    }
}
