package dev.tidings.backfill;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Which transactions a chunk's read could see: the MVCC snapshot of the read's transaction, as
 * {@code pg_current_snapshot()} (PostgreSQL 13+) or {@code txid_current_snapshot()} gives it.
 *
 * <p>Why the watermarks need it. In PostgreSQL a transaction's commit record is written to the WAL
 * before the transaction becomes visible to new snapshots, and the two steps are not atomic: a
 * transaction whose commit precedes the low watermark in the stream can still be invisible to the
 * read that follows the watermark — for microseconds normally, for as long as it waits for a
 * synchronous standby otherwise. Its change then reaches the consumer before the chunk, and the
 * chunk's older row must not overwrite it. {@link BackfillDelivery} keeps the changed keys of the
 * table with their transaction ids from the start of a run, and drops a chunk row whose key was
 * changed by a transaction the read does not see ({@link #sees}). For transactions committed
 * before the run started and still invisible then, the engine waits ({@link #runningUnseen},
 * {@link #awaitVisible}).
 *
 * <p>Transaction ids are compared as the stream has them: 32 bits, modulo 2^32.
 *
 * @param xmin   every transaction id before it is finished (committed and visible, or aborted)
 * @param xmax   every transaction id from it on is unseen
 * @param unseen the transaction ids between xmin and xmax that were running, sorted
 */
record ReadSnapshot(long xmin, long xmax, long[] unseen) {
    private static final Logger log = LoggerFactory.getLogger(ReadSnapshot.class);

    /** Whether a PostgreSQL major version has the {@code pg_snapshot} functions (13+) rather than only {@code txid_*}. */
    static boolean modern(int majorVersion) {
        return majorVersion >= 13;
    }

    private static String current(boolean modern) {
        return modern ? "pg_current_snapshot()" : "txid_current_snapshot()";
    }

    /** The snapshot of the connection's current transaction (which must be REPEATABLE READ to be the read's). */
    static ReadSnapshot take(Connection c, boolean modern) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT " + current(modern) + "::text")) {
            rs.next();
            return parse(rs.getString(1));
        }
    }

    /**
     * The transactions a new snapshot does not see that still hold their id's lock ({@code pg_locks}, readable by any
     * user; a transaction keeps it until after it became visible): those running, and those committed but not yet
     * visible. By 32-bit id, with the full (epoch-qualified) id.
     */
    static Map<Long, String> runningUnseen(Connection c, boolean modern) throws SQLException {
        String text;
        List<String> held;
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT s::text, ARRAY(SELECT transactionid::text "
                + "FROM pg_locks WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted) FROM "
                + current(modern) + " s")) {
            rs.next();
            text = rs.getString(1);
            held = List.of((String[]) rs.getArray(2).getArray());
        }
        ReadSnapshot snapshot = parse(text);
        long xmaxFull = Long.parseLong(text.substring(text.indexOf(':') + 1, text.lastIndexOf(':')));
        Map<Long, String> out = new HashMap<>();
        for (String xid : held) {
            long x = Long.parseLong(xid);
            if (!snapshot.sees(x)) {
                out.put(x, Long.toString(xmaxFull + (int) (x - snapshot.xmax))); // the id with its epoch
            }
        }
        return out;
    }

    /** Parses the text form {@code xmin:xmax:xip,xip,…} (ids epoch-qualified or not). */
    static ReadSnapshot parse(String text) {
        String[] parts = text.split(":", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("not a snapshot: " + text);
        }
        long[] unseen = parts[2].isEmpty() ? new long[0]
                : Arrays.stream(parts[2].split(",")).mapToLong(ReadSnapshot::xid32).sorted().toArray();
        return new ReadSnapshot(xid32(parts[0]), xid32(parts[1]), unseen);
    }

    private static long xid32(String fullXid) {
        return Long.parseLong(fullXid.trim()) & 0xFFFF_FFFFL;
    }

    /** Whether the read saw the effects of transaction {@code xid} (32 bits, as in the stream), had it committed. */
    boolean sees(long xid) {
        if ((int) (xid - xmin) < 0) {
            return true;
        }
        if ((int) (xid - xmax) >= 0) {
            return false;
        }
        return Arrays.binarySearch(unseen, xid) < 0;
    }

    /**
     * Waits until every transaction of {@code xids} (full ids) is visible to a new snapshot; the connection must be in
     * autocommit, so that each check takes a new one. Returns false when {@code running} turned false first.
     */
    static boolean awaitVisible(Connection c, boolean modern, List<String> xids, BooleanSupplier running)
            throws SQLException, InterruptedException {
        String sql = "SELECT count(*) FROM unnest(?::text[]) x WHERE NOT " + (modern
                ? "pg_visible_in_snapshot(x::xid8, pg_current_snapshot())"
                : "txid_visible_in_snapshot(x::bigint, txid_current_snapshot())");
        long start = System.nanoTime();
        long nextWarning = 10;
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("text", xids.toArray()));
            while (running.getAsBoolean()) {
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getLong(1) == 0) {
                        return true;
                    }
                }
                long seconds = (System.nanoTime() - start) / 1_000_000_000L;
                if (seconds >= nextWarning) {
                    log.warn("a backfill has waited {} s for transactions {} that are committed but not yet visible "
                            + "(waiting for a synchronous standby?)", seconds, xids);
                    nextWarning *= 2;
                }
                Thread.sleep(2);
            }
            return false;
        }
    }
}
