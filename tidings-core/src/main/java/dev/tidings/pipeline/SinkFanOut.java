package dev.tidings.pipeline;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.event.Transaction;
import dev.tidings.sink.Sink;
import dev.tidings.sink.SinkMessage;
import dev.tidings.sink.SinkMetrics;
import dev.tidings.sink.SinkSettings;
import dev.tidings.source.Fence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Delivers every transaction to any number of durable {@link Sink}s and acknowledges it only when
 * every sink has confirmed all of its events (guarantee 2 in docs/architecture.md).
 *
 * <p>Design. Each sink has a {@link SinkChannel}: a bounded queue and a sender thread with its own
 * batching, in-flight window and retries, so a slow sink slows only the acknowledgement, not the
 * other sinks — until its queue is full (in messages or in bytes: the sinks share an eighth of
 * the heap, at most 64 MB, for what they hold unconfirmed), when {@link #change} blocks and
 * backpressure reaches PostgreSQL. On the delivery thread each event is matched against every sink's filter and
 * serialized once per format (not once per sink); each commit gets the next sequence number and
 * a commit mark in every sink's queue, whether or not the sink received any of its events.
 *
 * <p>Invariant: a sink's {@link SinkChannel#confirmed()} is the sequence number of the newest
 * transaction whose events it has all confirmed; it only grows. A transaction is acknowledged
 * when the minimum over the sinks reaches its sequence number. Acknowledgements are made under
 * this object's lock, oldest first, so they come in commit order from whichever sender thread
 * advanced the minimum.
 *
 * <p>A sink that gives up (its retry policy says stop) fails the pipeline through an
 * acknowledgement's {@code fail}: the stream stops, nothing after the last acknowledged
 * transaction is confirmed, and the next start delivers the rest again with the same event ids.
 *
 * <p>Fencing: with a {@link Fence} other than {@link Fence#ALWAYS} (a {@link dev.tidings.source.Leadership}),
 * every sink checks it right before each send; a fence that fell fails the sink, so a replaced
 * leader sends nothing more.
 *
 * <p>Close it after the {@link Pipeline} that drives it has stopped.
 */
public final class SinkFanOut implements Delivery, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SinkFanOut.class);

    private final List<SinkChannel> channels = new ArrayList<>();
    private final List<Sink> sinks = new ArrayList<>();
    private final EventFormat[] formats;
    private final byte[][] bodies;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private long sequence;
    private volatile Acknowledgement latest;
    private volatile Exception failure;

    private record Pending(long seq, Acknowledgement ack) {}

    /** A sink and how to drive it. */
    public record Target(Sink sink, SinkSettings settings) {}

    public SinkFanOut(List<Target> targets) {
        this(targets, Fence.ALWAYS);
    }

    /** Sinks that send only while {@code fence} holds. */
    public SinkFanOut(List<Target> targets, Fence fence) {
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("no sinks configured");
        }
        List<EventFormat> distinct = new ArrayList<>();
        long maxBytes = Math.max(1 << 20, defaultMaxQueuedBytes() / targets.size());
        for (Target t : targets) {
            channels.add(new SinkChannel(t.sink(), t.settings(), maxBytes, fence, this::progress, this::sinkFailed));
            sinks.add(t.sink());
            if (!distinct.contains(t.settings().format())) {
                distinct.add(t.settings().format());
            }
        }
        this.formats = distinct.toArray(EventFormat[]::new);
        this.bodies = new byte[formats.length][];
        channels.forEach(SinkChannel::start);
    }

    /**
     * What all sinks together may hold in messages not yet confirmed: like the pipeline's own
     * budget, an eighth of the heap, at most 64 MB, shared equally among the sinks.
     */
    private static long defaultMaxQueuedBytes() {
        return Math.max(1 << 20, Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 8));
    }

    /** Per-sink counters, in configuration order. */
    public List<SinkMetrics> metrics() {
        return channels.stream().map(SinkChannel::metrics).toList();
    }

    @Override
    public void change(ChangeEvent event) throws Exception {
        throwIfFailed();
        java.util.Arrays.fill(bodies, null);
        for (SinkChannel channel : channels) {
            SinkSettings s = channel.settings();
            if (s.filter().test(event) && s.format().supports(event.op())
                    && (event.snapshot() == null || event.snapshot().isFor(s.name()))) {
                channel.put(new SinkMessage(event, body(s.format(), event)));
            }
        }
    }

    @Override
    public void commit(Transaction tx, Acknowledgement ack) throws Exception {
        throwIfFailed();
        latest = ack;
        long seq;
        synchronized (this) {
            seq = ++sequence;
            pending.add(new Pending(seq, ack));
        }
        for (SinkChannel channel : channels) {
            channel.commit(seq);
        }
    }

    private byte[] body(EventFormat format, ChangeEvent event) {
        for (int i = 0; i < formats.length; i++) {
            if (formats[i] == format) {
                if (bodies[i] == null) {
                    bodies[i] = format.toBytes(event);
                }
                return bodies[i];
            }
        }
        throw new IllegalStateException("format " + format.name() + " not registered");
    }

    /** Acknowledges, oldest first, every transaction all sinks have confirmed. Any thread. */
    private synchronized void progress() {
        long min = Long.MAX_VALUE;
        for (SinkChannel c : channels) {
            min = Math.min(min, c.confirmed());
        }
        while (!pending.isEmpty() && pending.peek().seq() <= min) {
            pending.poll().ack().acknowledge();
        }
    }

    private void sinkFailed(Exception e) {
        failure = e;
        Acknowledgement any;
        synchronized (this) {
            any = pending.isEmpty() ? latest : pending.peek().ack();
        }
        if (any != null) {
            any.fail(e); // fails the whole pipeline, whichever transaction it belongs to
        }
    }

    private void throwIfFailed() throws Exception {
        Exception f = failure;
        if (f != null) {
            throw f;
        }
    }

    /** Stops every sink's sender and closes the sinks. What was not confirmed is not acknowledged. */
    @Override
    public void close() {
        for (SinkChannel c : channels) {
            try {
                c.stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Sink s : sinks) {
            try {
                s.close();
            } catch (Exception e) {
                log.warn("closing a sink failed: {}", e.toString());
            }
        }
    }
}
