package dev.tidings.server.stream;

import dev.tidings.source.DatabaseUrl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * How far the replication slot is behind PostgreSQL's WAL, asked every few seconds over a normal
 * (not replication) connection: {@code pg_current_wal_lsn() - confirmed_flush_lsn} of the slot.
 * From it follow catch-up progress and the {@code MAX_REPLICATION_LAG_MB} checks.
 *
 * <p>Catch-up. While the slot is more than {@link #CATCH_UP_BYTES} behind (after an outage, a slow
 * sink, or at a start with a backlog), the closing rate is the decrease of the lag per second
 * between two checks, smoothed (half old, half new), and the time to catch up is lag / rate when
 * the rate is positive (unknown, null, while the lag grows). Progress is logged every ~10 s and
 * {@link #catchUp()} holds it for {@code /api/status}.
 *
 * <p>Max lag. Over the limit a warning is logged at most once a minute. Only when configured to,
 * {@code pauseLive} is called with true (and with false once the lag is back under 80 % of the
 * limit): see {@link ServeDelivery#pauseLive}. The slot is never dropped: that would lose changes.
 *
 * <p>Called from one timer thread; the getters are thread-safe.
 */
public final class SlotLag {
    private static final Logger log = LoggerFactory.getLogger(SlotLag.class);
    /** Behind by more than this, the slot is catching up (1 MiB). */
    public static final long CATCH_UP_BYTES = 1 << 20;
    private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    /** Catch-up progress: how far behind, how fast it closes (bytes/s), seconds to go (null: not closing). */
    public record CatchUp(long behindBytes, double rateBytesPerSecond, Double etaSeconds) {}

    private final DatabaseUrl database;
    private final String slot;
    private final Long maxLagBytes;
    private final boolean pauseOnMaxLag;
    private final Consumer<Boolean> pauseLive;
    private Connection connection;
    private volatile long lagBytes = -1;
    private volatile long retainedBytes = -1;
    private volatile CatchUp catchUp;
    private long lastCheckNanos;
    private long catchUpStartNanos;
    private long lastProgressLogNanos;
    private long lastWarnNanos;
    private double rate = Double.NaN;
    private boolean paused;

    /**
     * @param maxLagMb      MAX_REPLICATION_LAG_MB, or null
     * @param pauseOnMaxLag whether to pause live clients over the limit
     */
    public SlotLag(DatabaseUrl database, String slot, Integer maxLagMb, boolean pauseOnMaxLag, Consumer<Boolean> pauseLive) {
        this.database = database;
        this.slot = slot;
        this.maxLagBytes = maxLagMb == null ? null : maxLagMb * 1024L * 1024L;
        this.pauseOnMaxLag = pauseOnMaxLag;
        this.pauseLive = pauseLive;
    }

    /** Bytes of WAL the slot has not confirmed, or -1 before the first check or when the slot is not there. */
    public long lagBytes() {
        return lagBytes;
    }

    /**
     * Bytes of WAL the server keeps for the slot ({@code pg_current_wal_lsn() - restart_lsn}), or -1.
     * Larger than {@link #lagBytes()} while a long transaction is open or unacknowledged: the slot's
     * confirmed position may pass the start of a transaction whose commit is not yet confirmed.
     */
    public long retainedBytes() {
        return retainedBytes;
    }

    /** Catch-up progress while more than {@link #CATCH_UP_BYTES} behind, else null. */
    public CatchUp catchUp() {
        return catchUp;
    }

    /** Checks once; failures are logged at debug level and leave the last values. */
    public void check() {
        long behind;
        try {
            behind = query();
        } catch (SQLException e) {
            log.debug("replication lag check failed: {}", e.getMessage());
            closeConnection();
            return;
        }
        update(behind, System.nanoTime());
    }

    void update(long behind, long now) {
        long previous = lagBytes;
        lagBytes = behind;
        if (behind > CATCH_UP_BYTES) {
            if (catchUp == null) {
                catchUpStartNanos = now;
                lastProgressLogNanos = now;
                rate = Double.NaN;
                log.info("replication slot {} is {} behind the WAL; catching up", slot, size(behind));
            } else if (previous >= 0 && now > lastCheckNanos) {
                double sample = (previous - behind) / ((now - lastCheckNanos) / 1e9);
                rate = Double.isNaN(rate) ? sample : (rate + sample) / 2;
            }
            double r = Double.isNaN(rate) ? 0 : rate;
            catchUp = new CatchUp(behind, r, r > 0 ? behind / r : null);
            if (now - lastProgressLogNanos >= LOG_EVERY_NANOS) {
                lastProgressLogNanos = now;
                log.info("catching up: {} behind, {}", size(behind), r > 0
                        ? String.format(Locale.ROOT, "closing at %s/s, about %.0f s to go", size((long) r), behind / r)
                        : "not closing yet (the WAL grows as fast as it is read, or a sink holds the stream back)");
            }
        } else if (catchUp != null && behind >= 0) {
            catchUp = null;
            log.info("replication slot {} caught up in {} s", slot, TimeUnit.NANOSECONDS.toSeconds(now - catchUpStartNanos));
        }
        lastCheckNanos = now;
        checkMax(behind, now);
    }

    private void checkMax(long behind, long now) {
        if (maxLagBytes == null || behind < 0) {
            return;
        }
        if (behind > maxLagBytes) {
            if (lastWarnNanos == 0 || now - lastWarnNanos >= WARN_EVERY_NANOS) {
                lastWarnNanos = now;
                log.warn("replication slot {} is {} behind, over MAX_REPLICATION_LAG_MB={}; {}. Tidings never drops the "
                                + "slot (that would lose changes): find the slow sink or client, or add capacity",
                        slot, size(behind), maxLagBytes >> 20, pauseOnMaxLag
                                ? "live clients are paused until it is back under " + size(maxLagBytes * 8 / 10)
                                : "set replication.pause_on_max_lag to pause live clients meanwhile");
            }
            if (pauseOnMaxLag && !paused) {
                paused = true;
                pauseLive.accept(true);
            }
        } else if (paused && behind < maxLagBytes * 8 / 10) {
            paused = false;
            pauseLive.accept(false);
            log.info("replication slot {} is back to {} behind; live clients resume", slot, size(behind));
        }
    }

    private long query() throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = database.connect();
        }
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, "
                        + "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots "
                        + "WHERE slot_name = ?")) {
            ps.setString(1, slot);
            try (ResultSet r = ps.executeQuery()) {
                if (!r.next() || r.getObject(1) == null) {
                    retainedBytes = -1;
                    return -1;
                }
                retainedBytes = r.getObject(2) == null ? -1 : Math.max(0, r.getLong(2));
                return Math.max(0, r.getLong(1));
            }
        }
    }

    private void closeConnection() {
        try {
            if (connection != null) {
                connection.close();
            }
        } catch (SQLException ignored) {
            // it is being replaced
        }
        connection = null;
    }

    public void close() {
        closeConnection();
    }

    static String size(long bytes) {
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f kB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MB", bytes / (1024.0 * 1024));
    }

}
