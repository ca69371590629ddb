package dev.tidings.testing;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The application that keeps writing while a backfill runs: transactions of 1 to 5 random
 * statements on table {@value #TABLE} (see {@link #createTable}) — inserts of new rows, updates of
 * values, updates that change the key, deletes — on rows picked at random among the ids used so
 * far (a pick of a gone row changes nothing). Runs until {@link #stop}; {@code pauseMs} between
 * transactions sets the rate.
 */
public final class RandomWriter implements Runnable {
    public static final String TABLE = "items";
    public final AtomicLong transactions = new AtomicLong();
    public final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final String url;
    private final Random random;
    private final int pauseMs;
    private long maxId;

    public RandomWriter(String url, long rows, long seed, int pauseMs) {
        this.url = url;
        this.random = new Random(seed);
        this.pauseMs = pauseMs;
        this.maxId = rows;
    }

    /** The table, with {@code rows} rows of about 200 bytes, ids 1..rows, values of several types. */
    public static String[] createTable(long rows) {
        return new String[]{
                "CREATE TABLE " + TABLE + " (id bigint PRIMARY KEY, v int NOT NULL, note text, price numeric(12,2), "
                        + "tags text[], at timestamptz, flag boolean, doc jsonb)",
                "INSERT INTO " + TABLE + " SELECT g, g % 1000, md5(g::text) || repeat('x', 60), (g % 9973) / 7.0, "
                        + "ARRAY['a' || g % 7, 'b'], timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', "
                        + "g % 2 = 0, jsonb_build_object('n', g, 's', 'ü ' || g) FROM generate_series(1, " + rows + ") g"};
    }

    public void stop() {
        stop.set(true);
    }

    @Override
    public void run() {
        try (Connection c = TestPostgres.connect(url); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            while (!stop.get()) {
                int statements = 1 + random.nextInt(5);
                for (int i = 0; i < statements; i++) {
                    s.execute(statement());
                }
                c.commit();
                transactions.incrementAndGet();
                if (pauseMs > 0) {
                    Thread.sleep(pauseMs);
                }
            }
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    private String statement() {
        long id = 1 + (long) (random.nextDouble() * maxId);
        return switch (random.nextInt(10)) {
            case 0, 1, 2 -> "INSERT INTO " + TABLE + " VALUES (" + (++maxId) + ", " + random.nextInt(1000)
                    + ", 'new " + maxId + "', " + random.nextInt(100000) / 100.0 + ", ARRAY['n'], now(), true, "
                    + "'{\"new\": true}')";
            case 3, 4, 5 -> "UPDATE " + TABLE + " SET v = v + 1, note = note || '+', price = price + 0.01, "
                    + "doc = doc || '{\"u\": 1}' WHERE id = " + id;
            case 6 -> "UPDATE " + TABLE + " SET id = " + (++maxId) + ", note = 'moved from " + id + "' WHERE id = " + id;
            case 7 -> "UPDATE " + TABLE + " SET tags = NULL, flag = NULL WHERE id = " + id;
            default -> "DELETE FROM " + TABLE + " WHERE id = " + id;
        };
    }

    /** Stops the writer and waits for it; fails if it failed. */
    public void stopAndJoin(Thread thread) throws InterruptedException {
        stop();
        thread.join(60_000);
        if (failure.get() != null) {
            throw new AssertionError("the writer failed", failure.get());
        }
    }

}
