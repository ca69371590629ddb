package dev.tidings.server.sinks;

import dev.tidings.base.Lsn;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A write load for fault tests: transactions of 1–{@code maxRows} inserts into one of
 * {@code tables} tables {@code load_0 … load_n}, each row numbered {@code n} = 1, 2, … per table in
 * commit order, so a consumer can check completeness and per-table order from the events alone.
 */
final class ChangeLoad implements AutoCloseable {
    final String jdbcUrl;
    final int tables;
    private final int[] next;
    final AtomicLong committed = new AtomicLong();
    final AtomicInteger transactions = new AtomicInteger();
    private final Random random = new Random(42);
    private Thread thread;
    private volatile Throwable failure;
    private volatile boolean stop;
    private volatile Lsn firstCommit;

    ChangeLoad(String jdbcUrl, int tables) {
        this.jdbcUrl = jdbcUrl;
        this.tables = tables;
        this.next = new int[tables];
        for (int t = 0; t < tables; t++) {
            TestPostgres.execute(jdbcUrl, "CREATE TABLE load_" + t + " (n int PRIMARY KEY, payload text NOT NULL)");
        }
    }

    /** Commits {@code changes} rows in a background thread, spread over about {@code seconds}. */
    ChangeLoad start(int changes, int maxRows, double seconds) {
        thread = Thread.ofPlatform().name("change-load").start(() -> {
            try (Connection c = TestPostgres.connect(jdbcUrl)) {
                c.setAutoCommit(false);
                long begin = System.nanoTime();
                PreparedStatement[] inserts = new PreparedStatement[tables];
                for (int t = 0; t < tables; t++) {
                    inserts[t] = c.prepareStatement("INSERT INTO load_" + t + " VALUES (?, ?)");
                }
                while (committed.get() < changes && !stop) {
                    int t = random.nextInt(tables);
                    int rows = (int) Math.min(1 + random.nextInt(maxRows), changes - committed.get());
                    for (int i = 0; i < rows; i++) {
                        inserts[t].setInt(1, next[t] + 1 + i);
                        inserts[t].setString(2, "row " + (next[t] + 1 + i) + " of load_" + t);
                        inserts[t].addBatch();
                    }
                    inserts[t].executeBatch();
                    if (firstCommit == null) {
                        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT pg_current_wal_insert_lsn()::text")) {
                            r.next();
                            firstCommit = Lsn.parse(r.getString(1));
                        }
                    }
                    c.commit();
                    next[t] += rows;
                    committed.addAndGet(rows);
                    transactions.incrementAndGet();
                    double due = seconds * committed.get() / changes;
                    long ahead = (long) (due * 1000) - (System.nanoTime() - begin) / 1_000_000;
                    if (ahead > 0) {
                        Thread.sleep(ahead);
                    }
                }
            } catch (Throwable e) {
                failure = e;
            }
        });
        return this;
    }

    /**
     * Once the load has started: a position at or before the commit record of its first
     * transaction (read in that transaction just before it commits), so no confirmed position may
     * pass it while the load is undelivered. Positions before it may rightly be confirmed: the
     * server's own records, and records of the still uncommitted first transaction, which the
     * walsender reports in keepalives once it has read them and which decoding does not skip.
     */
    Lsn firstCommitBound() {
        Await.until(Duration.ofSeconds(30), "the load to start", () -> firstCommit != null || failure != null);
        if (firstCommit == null) {
            throw new AssertionError("load failed", failure);
        }
        return firstCommit;
    }

    void await() throws Exception {
        thread.join();
        if (failure != null) {
            throw new AssertionError("load failed", failure);
        }
    }

    boolean running() {
        return thread.isAlive();
    }

    /** Rows committed per table. */
    int[] counts() {
        return next.clone();
    }

    /** Makes the load's WAL decodable at once (synchronous_commit is off on the test server). */
    void flushWal() {
        try (Connection c = TestPostgres.connect(jdbcUrl); Statement s = c.createStatement()) {
            s.execute("SET synchronous_commit = on");
            s.execute("SELECT txid_current()");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        stop = true;
        if (thread != null) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
