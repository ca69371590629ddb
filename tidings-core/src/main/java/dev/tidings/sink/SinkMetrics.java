package dev.tidings.sink;

import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Op;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters and gauges of one sink, as plain numbers a metrics registry can bind (Micrometer's
 * {@code FunctionCounter}/{@code Gauge} take the getters as they are). Thread-safe.
 *
 * <ul>
 *   <li>delivered: messages the server confirmed;
 *   <li>retried: batch attempts that failed and were retried;
 *   <li>failed: messages given up on (dead-lettered, or stopping the pipeline);
 *   <li>in flight: messages sent and not yet confirmed; queued: waiting to be sent;
 *   <li>latency: from the transaction's commit time in PostgreSQL to the sink's confirmation;
 *   <li>state: {@link State#OK}, {@link State#RETRYING} since the first failure of a batch until it
 *       was delivered, {@link State#STOPPED} once the sink gave up for good; with the last error.
 * </ul>
 */
public final class SinkMetrics {
    private final String sink;
    private final LongAdder delivered = new LongAdder();
    private final LongAdder retried = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final AtomicLong inFlight = new AtomicLong();
    private final AtomicLong queued = new AtomicLong();
    private final LongAdder latencyCount = new LongAdder();
    private final LongAdder latencyTotalMillis = new LongAdder();
    private final AtomicLong latencyMaxMillis = new AtomicLong();
    private volatile long lastLatencyMillis;
    private final ConcurrentHashMap<TableName, LongAdder> deliveredByTable = new ConcurrentHashMap<>();
    private volatile long retryingSinceMillis;
    private volatile boolean stopped;
    private volatile String lastError;

    /** Whether the sink delivers. */
    public enum State { OK, RETRYING, STOPPED }

    public SinkMetrics(String sink) {
        this.sink = sink;
    }

    public String sink() {
        return sink;
    }

    public long delivered() {
        return delivered.sum();
    }

    public long retried() {
        return retried.sum();
    }

    public long failed() {
        return failed.sum();
    }

    public long inFlight() {
        return inFlight.get();
    }

    public long queued() {
        return queued.get();
    }

    public long lastLatencyMillis() {
        return lastLatencyMillis;
    }

    public long maxLatencyMillis() {
        return latencyMaxMillis.get();
    }

    public double meanLatencyMillis() {
        long n = latencyCount.sum();
        return n == 0 ? 0 : (double) latencyTotalMillis.sum() / n;
    }

    public void onQueued(int delta) {
        queued.addAndGet(delta);
    }

    public void onSent(int messages) {
        inFlight.addAndGet(messages);
    }

    public void onRetry() {
        retried.increment();
    }

    /** A batch failed and will be sent again. */
    public void onRetry(Exception cause) {
        onRetry();
        lastError = describe(cause);
        if (retryingSinceMillis == 0) {
            retryingSinceMillis = System.currentTimeMillis();
        }
    }

    /** The sink gave up for good: the pipeline stops. */
    public void onStopped(Exception cause) {
        lastError = describe(cause);
        stopped = true;
    }

    public State state() {
        return stopped ? State.STOPPED : retryingSinceMillis != 0 ? State.RETRYING : State.OK;
    }

    /** Since when (epoch ms) the sink has been retrying, or 0. */
    public long retryingSinceMillis() {
        return retryingSinceMillis;
    }

    /** The last failure's message, or null; kept after recovery so an operator can see what happened. */
    public String lastError() {
        return lastError;
    }

    /** Messages confirmed per table (logical decoding messages are not counted here). */
    public Map<TableName, Long> deliveredByTable() {
        Map<TableName, Long> out = new HashMap<>();
        deliveredByTable.forEach((t, n) -> out.put(t, n.sum()));
        return out;
    }

    /** The batch's messages were confirmed. */
    public void onDelivered(List<SinkMessage> batch) {
        TableName last = null;
        LongAdder counter = null;
        for (SinkMessage m : batch) {
            ChangeEvent e = m.event();
            if (e.op() == Op.MESSAGE) {
                continue;
            }
            if (last == null || !last.table().equals(e.table()) || !last.schema().equals(e.schema())) {
                last = e.tableName();
                counter = deliveredByTable.computeIfAbsent(last, k -> new LongAdder());
            }
            counter.increment();
        }
        onDelivered(batch.size(), batch.get(batch.size() - 1).event().tx().commitTime());
        retryingSinceMillis = 0;
    }

    private static String describe(Exception e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    public void onDelivered(int messages, Instant commitTime) {
        inFlight.addAndGet(-messages);
        delivered.add(messages);
        if (commitTime != null) {
            long ms = Math.max(0, System.currentTimeMillis() - commitTime.toEpochMilli());
            lastLatencyMillis = ms;
            latencyCount.increment();
            latencyTotalMillis.add(ms);
            latencyMaxMillis.accumulateAndGet(ms, Math::max);
        }
    }

    public void onFailed(int messages) {
        inFlight.addAndGet(-messages);
        failed.add(messages);
    }

    @Override
    public String toString() {
        return sink + ": delivered " + delivered() + ", retried " + retried() + ", failed " + failed() + ", in flight "
                + inFlight() + ", queued " + queued() + ", latency mean " + Math.round(meanLatencyMillis()) + " ms max "
                + maxLatencyMillis() + " ms";
    }
}
