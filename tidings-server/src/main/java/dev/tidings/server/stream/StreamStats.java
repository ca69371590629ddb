package dev.tidings.server.stream;

import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Op;
import dev.tidings.event.Transaction;
import dev.tidings.pipeline.Delivery;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the replication stream of {@code tidings serve} has done, for {@code /metrics} and
 * {@code /api/status}: events read per table, and the commit times of transactions handed to
 * delivery and not yet acknowledged, from which the lag in seconds follows.
 *
 * <p>Lag in seconds, precisely: when some transaction was delivered and is not yet acknowledged
 * (by every durable sink; at once without them), now minus the commit time of the oldest such
 * transaction — how long the oldest change still owed has been committed. When none is owed but
 * the slot is behind by more than {@link SlotLag#CATCH_UP_BYTES} (reading WAL that holds nothing
 * published, or blocked before the decoder), now minus the commit time of the newest acknowledged
 * transaction. Otherwise 0: caught up. It is never "now minus the last change" on an idle
 * database, which would grow while nothing is wrong.
 *
 * <p>Threads: {@link #read} and {@link #delivering} run on the delivery thread; acknowledgements
 * arrive in commit order on any thread, so the owed commit times form a FIFO.
 */
public final class StreamStats {
    private final ConcurrentHashMap<TableName, LongAdder> read = new ConcurrentHashMap<>();
    private final ConcurrentLinkedDeque<Instant> owed = new ConcurrentLinkedDeque<>();
    private volatile Instant newestAcknowledged;

    void read(ChangeEvent event) {
        if (event.op() == Op.MESSAGE) {
            return;
        }
        TableName table = event.tableName();
        read.computeIfAbsent(table, k -> new LongAdder()).increment();
    }

    /** Records {@code tx} as owed; the returned acknowledgement settles it, then passes on. */
    Delivery.Acknowledgement delivering(Transaction tx, Delivery.Acknowledgement ack) {
        Instant commitTime = tx.commitTime() == null ? Instant.now() : tx.commitTime();
        owed.addLast(commitTime);
        return new Delivery.Acknowledgement() {
            @Override
            public void acknowledge() {
                owed.pollFirst();
                newestAcknowledged = commitTime;
                ack.acknowledge();
            }

            @Override
            public void fail(Exception cause) {
                ack.fail(cause);
            }
        };
    }

    /** Events read from {@code table} so far (0 if none). */
    public long events(TableName table) {
        LongAdder n = read.get(table);
        return n == null ? 0 : n.sum();
    }

    /** Events read per table, sorted by schema and table. */
    public Map<TableName, Long> eventsByTable() {
        Map<TableName, Long> out = new TreeMap<>((a, b) -> a.schema().equals(b.schema())
                ? a.table().compareTo(b.table()) : a.schema().compareTo(b.schema()));
        read.forEach((t, n) -> out.put(t, n.sum()));
        return out;
    }

    /** See the class comment. @param lagBytes the slot's lag in bytes, or -1 when unknown */
    public double lagSeconds(long lagBytes) {
        Instant since = owed.peekFirst();
        if (since == null && lagBytes > SlotLag.CATCH_UP_BYTES) {
            since = newestAcknowledged;
        }
        if (since == null) {
            return 0;
        }
        return Math.max(0, (System.currentTimeMillis() - since.toEpochMilli()) / 1000.0);
    }
}
