package dev.tidings.server.stream;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Transaction;
import dev.tidings.pipeline.Delivery;
import dev.tidings.server.consumers.ConsumerGroups;
import dev.tidings.server.log.GroupCommit;
import dev.tidings.server.live.LiveFanOut;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Consumer;

/**
 * The serve delivery: the one {@link Delivery} of {@code tidings serve}'s replication stream. Every
 * change goes to the live fan-out ({@link LiveFanOut}: WebSocket, SSE) and, when sinks are
 * configured, to the durable fan-out (the core's {@code SinkFanOut} over the sinks).
 *
 * <p>The live side never holds back acknowledgement: it only enqueues into each client's bounded
 * queue, and its failures are logged and swallowed. A transaction is acknowledged by the durable side (a
 * {@link dev.tidings.pipeline.SinkFanOut}: when every durable sink confirmed it) or, without
 * durable sinks, at once. One stream has one pace: while a durable sink applies backpressure, live
 * clients see changes at that pace too (see {@link #pauseLive}).
 *
 * <p>With a change log, each event is appended to it before live clients get it (so a client that
 * resumes from the log right after a live event finds it there), and a transaction is acknowledged
 * only once the log made it durable (and the durable sinks confirmed it: {@link AllAcknowledged}).
 * The consumer groups read from the log; the durable ones among them are one more consumer of the
 * rule ({@link ConsumerGroups#commit}).
 */
public final class ServeDelivery implements Delivery {
    private static final Logger log = LoggerFactory.getLogger(ServeDelivery.class);

    private final LiveFanOut live;
    private final Consumer<ChangeEvent> alsoLive;
    private final Delivery durable;
    private final StreamStats stats;
    private final GroupCommit changeLog;
    private final ConsumerGroups groups;
    private final AllAcknowledged all = new AllAcknowledged();
    private volatile boolean livePaused;

    /** @param durable the durable sinks, or null */
    public ServeDelivery(LiveFanOut live, Delivery durable, StreamStats stats) {
        this(live, event -> {}, durable, null, null, stats);
    }

    /**
     * @param alsoLive gets every change the live fan-out gets, on the same thread and like it never
     *                 holding the stream back (e.g. broadcasts from {@code realtime.messages})
     * @param durable   the durable sinks, or null
     * @param changeLog the change log, or null
     * @param groups    the consumer groups reading the change log, or null
     */
    public ServeDelivery(LiveFanOut live, Consumer<ChangeEvent> alsoLive, Delivery durable, GroupCommit changeLog,
                         ConsumerGroups groups, StreamStats stats) {
        this.live = live;
        this.alsoLive = alsoLive;
        this.durable = durable;
        this.changeLog = changeLog;
        this.groups = groups;
        this.stats = stats;
    }

    /**
     * While paused, changes are not handed to live clients (they are still read, counted and sent
     * to every durable sink). Used when the slot lags beyond the configured limit: the stream
     * then spends its time on the durable sinks and catching up, and live clients, which would
     * otherwise get changes minutes late, get none until it has caught up.
     */
    public void pauseLive(boolean paused) {
        livePaused = paused;
    }

    public boolean livePaused() {
        return livePaused;
    }

    @Override
    public void begin(Transaction tx) throws Exception {
        if (durable != null) {
            durable.begin(tx);
        }
    }

    @Override
    public void change(ChangeEvent event) throws Exception {
        stats.read(event);
        if (changeLog != null) {
            changeLog.append(event);
        }
        if (!livePaused) {
            try {
                live.publish(event);
                alsoLive.accept(event);
            } catch (Exception e) {
                log.warn("live fan-out failed on event {}; live clients may miss it", event.id(), e);
            }
        }
        if (durable != null) {
            durable.change(event);
        }
    }

    @Override
    public void commit(Transaction tx, Acknowledgement ack) throws Exception {
        Acknowledgement counted = stats.delivering(tx, ack);
        int parties = (durable == null ? 0 : 1) + (changeLog == null ? 0 : 1) + (groups == null ? 0 : 1);
        if (parties == 0) {
            counted.acknowledge();
            return;
        }
        AllAcknowledged.Pending pending = all.add(counted, parties);
        if (durable != null) {
            durable.commit(tx, pending.part());
        }
        if (changeLog != null) {
            changeLog.commit(pending.part());
        }
        if (groups != null) {
            groups.commit(pending.part());
        }
    }
}
