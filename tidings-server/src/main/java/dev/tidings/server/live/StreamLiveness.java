package dev.tidings.server.live;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Whether the replication stream is live, and actions waiting for it to be: a Realtime join is
 * answered "Subscribed to PostgreSQL" only once a change committed from then on will be delivered.
 *
 * <p>The waiting actions are checked every 20 ms on the timer thread and run there, each once.
 * Thread-safe.
 */
public final class StreamLiveness {
    private static final Logger log = LoggerFactory.getLogger(StreamLiveness.class);

    private final List<Runnable> waitingForLive = new CopyOnWriteArrayList<>();
    private final BooleanSupplier live;

    /**
     * @param live   true while the replication stream is connected, so that a change committed from
     *               now on will be delivered
     * @param timers runs the check of callers waiting for the stream to be live
     */
    public StreamLiveness(BooleanSupplier live, ScheduledExecutorService timers) {
        this.live = live;
        timers.scheduleWithFixedDelay(this::releaseWaiting, 20, 20, TimeUnit.MILLISECONDS);
    }

    /**
     * Runs {@code action} once the replication stream is live: at once if it is, else as soon as it
     * connects. Subscribe to the fan-out first: then no change committed after {@code action} runs
     * is missed.
     */
    public void whenLive(Runnable action) {
        if (live.getAsBoolean()) {
            action.run();
        } else {
            waitingForLive.add(action);
        }
    }

    private void releaseWaiting() {
        if (!waitingForLive.isEmpty() && live.getAsBoolean()) {
            for (Runnable r : waitingForLive) {
                waitingForLive.remove(r);
                try {
                    r.run();
                } catch (RuntimeException e) {
                    log.warn("a subscriber failed when the stream became live", e);
                }
            }
        }
    }
}
