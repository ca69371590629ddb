package dev.tidings.sink;

import java.time.Instant;
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
 *   <li>latency: from the transaction's commit time in PostgreSQL to the sink's confirmation.
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
