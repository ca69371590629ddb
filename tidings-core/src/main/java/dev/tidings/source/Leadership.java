package dev.tidings.source;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Which of several processes configured with the same slot reads it: the one whose session holds
 * a PostgreSQL advisory lock whose key is derived from the slot name ({@link #lockKey}). The others
 * stand by, trying the lock every {@code lease / 6}.
 *
 * <p>The lease. The leader renews on its lock connection every {@code lease / 6} (a query, which
 * also moves the session's {@code pg_stat_activity.state_change}) and counts itself leader only
 * until {@code lease - 2 × lease / 6} after the last renewal it sent ({@link #held()}, no I/O). A
 * standby that finds the lock's session silent for more than {@code lease} by the server's clock
 * ends that session ({@code pg_terminate_backend}), which frees the lock. So a leader that is paused
 * (SIGSTOP, a long GC, a frozen VM) or cut off from the database has stopped counting itself leader
 * before anyone can replace it, and a killed one is replaced as soon as its sessions end.
 *
 * <p>Invariants: {@link #held()} is true only while this process holds the lock and renewed it
 * within the lease; once false after leading it never becomes true again ({@link Role#LOST}: the
 * process is meant to end and be restarted as a standby). On taking over, the new leader ends any
 * walsender still attached to the slot: it belongs to a replaced leader, whose own fence already
 * stops it from confirming.
 *
 * <p>Threads: {@link #acquire} runs on the caller's thread (the source thread); renewals run on
 * {@code tidings-leadership}; {@link #held()}, {@link #role()} and {@link #leader()} are thread-safe.
 */
public final class Leadership implements Fence, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Leadership.class);

    /** Where this process stands. */
    public enum Role { STANDBY, LEADER, LOST }

    /** The session that holds the lock as a standby last saw it. */
    public record Holder(int pid, String clientAddress, double silentSeconds) {}

    private final DatabaseUrl database;
    private final String slot;
    private final long key;
    private final long leaseNanos;
    private final long beatNanos;
    private final long validNanos;
    private final Thread renewer;
    private volatile Role role = Role.STANDBY;
    private volatile long renewedAtNanos;
    private volatile Holder leader;
    private volatile boolean closed;
    private volatile String lostReason;
    private Connection lock; // the lock's session while leading; renewer thread after acquire
    private int lockPid;
    private boolean warnedNoActivity;

    public Leadership(DatabaseUrl database, String slot, Duration lease) {
        if (lease.toMillis() < 3_000) {
            throw new IllegalArgumentException("the leadership lease must be at least 3 s, not " + lease.toMillis() + " ms");
        }
        this.database = database;
        this.slot = slot;
        this.key = lockKey(slot);
        this.leaseNanos = lease.toNanos();
        this.beatNanos = leaseNanos / 6;
        this.validNanos = leaseNanos - 2 * beatNanos;
        this.renewer = Thread.ofPlatform().name("tidings-leadership").daemon(true).unstarted(this::renewLoop);
    }

    /** The advisory lock key of a slot: the first 8 bytes of SHA-256 over {@code "tidings slot " + slot}. */
    public static long lockKey(String slot) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(("tidings slot " + slot).getBytes(StandardCharsets.UTF_8));
            long k = 0;
            for (int i = 0; i < 8; i++) {
                k = k << 8 | (h[i] & 0xff);
            }
            return k;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Stands by until this process holds the lock (true), or until {@code running} turns false or
     * this is closed (false). On success the slot is taken over and renewals start.
     */
    public boolean acquire(BooleanSupplier running) {
        Connection c = null;
        log.info("standing by for slot {}: another process may lead it (advisory lock {})", slot, key);
        while (running.getAsBoolean() && !closed) {
            long sent = System.nanoTime();
            try {
                if (c == null) {
                    c = database.connect();
                    c.setAutoCommit(true);
                    c.setNetworkTimeout(Runnable::run, (int) TimeUnit.NANOSECONDS.toMillis(validNanos));
                }
                int pid = tryLock(c);
                if (pid != 0) {
                    lead(c, pid, sent);
                    return true;
                }
                if (replaceSilentLeader(c)) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // its session is ending: try again soon
                    continue;
                }
            } catch (SQLException e) {
                log.warn("standby for slot {}: {}; trying again", slot, e.getMessage());
                closeQuietly(c);
                c = null;
            }
            LockSupport.parkNanos(beatNanos);
        }
        closeQuietly(c);
        return false;
    }

    /** Takes the lock; the backend pid when it was free (or already ours), else 0. */
    private int tryLock(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(?), pg_backend_pid()")) {
            ps.setLong(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1) ? rs.getInt(2) : 0;
            }
        }
    }

    /** Ends the lock holder's session when it was silent longer than the lease; true when it did. */
    private boolean replaceSilentLeader(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT l.pid, host(a.client_addr), "
                + "EXTRACT(EPOCH FROM clock_timestamp() - a.state_change)::float8 FROM pg_locks l "
                + "LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                + "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                + "AND l.objsubid = 1 AND l.classid::bigint = ? AND l.objid::bigint = ?")) {
            ps.setLong(1, key >>> 32);
            ps.setLong(2, key & 0xffffffffL);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    leader = null;
                    return false;
                }
                int pid = rs.getInt(1);
                double silent = rs.getDouble(3);
                boolean known = !rs.wasNull();
                leader = new Holder(pid, rs.getString(2), known ? silent : -1);
                if (!known) {
                    if (!warnedNoActivity) {
                        warnedNoActivity = true;
                        log.warn("standby for slot {}: cannot see the activity of the leader's session (PID {}): a "
                                + "paused leader is replaced only when its session ends. Turn track_activities on, and "
                                + "run Tidings as the same role on every node or grant pg_read_all_stats", slot, pid);
                    }
                    return false;
                }
                if (silent * 1e9 <= leaseNanos) {
                    return false;
                }
                log.warn("the leader of slot {} (PID {}) was silent for {} s, longer than the lease: ending its session",
                        slot, pid, Math.round(silent * 10) / 10.0);
                terminate(c, pid);
                return true;
            }
        }
    }

    private void lead(Connection c, int pid, long sentNanos) throws SQLException {
        lock = c;
        lockPid = pid;
        renewedAtNanos = sentNanos;
        leader = null;
        try (Statement s = c.createStatement()) {
            s.execute("SET application_name = 'tidings leader'");
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT active_pid FROM pg_replication_slots "
                + "WHERE slot_name = ? AND active_pid IS NOT NULL")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    int walsender = rs.getInt(1);
                    log.warn("slot {} is still read by PID {}, the walsender of a replaced leader: ending it", slot, walsender);
                    terminate(c, walsender);
                }
            }
        }
        role = Role.LEADER;
        renewer.start();
        log.info("leading slot {} (lock session PID {}, lease {} ms)", slot, pid, TimeUnit.NANOSECONDS.toMillis(leaseNanos));
    }

    private static void terminate(Connection c, int pid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_terminate_backend(?)")) {
            ps.setInt(1, pid);
            ps.execute();
        }
    }

    private void renewLoop() {
        try (PreparedStatement ps = lock.prepareStatement("SELECT pg_backend_pid()")) {
            while (!closed && role == Role.LEADER) {
                LockSupport.parkNanos(beatNanos);
                if (closed) {
                    return;
                }
                long sent = System.nanoTime();
                if (!held()) {
                    lose("the lease was not renewed for " + TimeUnit.NANOSECONDS.toMillis(sent - renewedAtNanos)
                            + " ms (the process was paused or the database was slow to answer)");
                    return;
                }
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getInt(1) != lockPid) {
                        lose("the lock session changed");
                        return;
                    }
                }
                renewedAtNanos = sent;
            }
        } catch (SQLException e) {
            if (!closed) {
                lose("the lock's connection failed: " + e.getMessage());
            }
        }
    }

    private void lose(String why) {
        lostReason = "lost the leadership of slot " + slot + ": " + why + ". Stopped delivering and confirming; "
                + "another process may lead now. Restart this one: it stands by";
        role = Role.LOST;
        log.error(lostReason);
        closeQuietly(lock); // frees the lock at once if the session is still alive
    }

    @Override
    public boolean held() {
        return role == Role.LEADER && !closed && System.nanoTime() - renewedAtNanos < validNanos;
    }

    /** Standby, leader, or lost (a leader whose lease ran out). */
    public Role role() {
        Role r = role;
        return r == Role.LEADER && !held() ? Role.LOST : r;
    }

    /** While standing by: the session that leads, as last seen; else null. */
    public Holder leader() {
        return role == Role.STANDBY ? leader : null;
    }

    /** Why the leadership was lost, or null. */
    public String lostReason() {
        return lostReason;
    }

    /** Ends the lock's session (a standby can take over at once) and the renewals. */
    @Override
    public void close() {
        closed = true;
        renewer.interrupt();
        LockSupport.unpark(renewer);
        closeQuietly(lock);
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // the session is gone either way
            }
        }
    }
}
