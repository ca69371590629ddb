package dev.tidings.backfill;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.SnapshotRead;
import dev.tidings.event.Transaction;
import dev.tidings.pipeline.Delivery;
import dev.tidings.base.Lsn;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The stream side of a backfill: a {@link Delivery} in front of the consumer's, which merges the
 * chunk a {@link Backfiller} read into the change stream at the chunk's high watermark.
 *
 * <p>Design (DBLog's watermark algorithm). The engine registers a chunk ({@link #expect}), writes
 * the low watermark, selects the rows, hands them over ({@link #rowsRead}) and writes the high
 * watermark. Here, in commit order on the delivery thread: from the low watermark on, the key of
 * every change of the chunk's table (old and new key) is noted; at the high watermark the chunk's
 * rows whose key changed meanwhile are dropped — the stream already carries a newer version of
 * them, or their deletion — and the rest are delivered as {@link Op#READ} events inside the
 * watermark's own transaction, with ids {@code <its commit LSN>:<index>} after the watermark. When
 * that transaction is acknowledged the chunk is complete ({@link Chunk#delivered()}). A reconnect
 * that replays the transaction replays the same rows with the same ids, as long as the chunk is
 * in flight. Watermark events themselves are not delivered.
 *
 * <p>Invariant: a row read by the backfill never overwrites a newer change of the same key in
 * what the consumer sees. A change the read did not see is either committed after the low
 * watermark, and reaches this class inside the window, or committed before it by a transaction
 * that was not yet visible when the read took its snapshot (see {@link ReadSnapshot}). For the
 * second case the changed keys of the table are kept with their transaction ids in a trail, from
 * the {@code :open} mark the engine writes when a run starts; at the high watermark the keys of
 * transactions the read's snapshot does not see count as changed too, and what the snapshot sees
 * leaves the trail (a later snapshot sees it as well). For transactions committed before the
 * {@code :open} mark and still invisible, the engine waits: the ids of the last
 * {@value RecentCommits#SIZE} commits, as of the mark, tell it which those are.
 *
 * <p>Two chunks may be in flight: the engine reads the next chunk while the rows of the previous
 * one are delivered. Their windows never overlap (the next low watermark is written after the
 * previous high one), so at most one window is open at a time, and each chunk keeps its own rows,
 * changed keys and acknowledgement.
 *
 * <p>Threads: {@link #expect}, {@link #rowsRead} and {@link #clear} come from the engine's
 * thread; the {@link Delivery} methods from the pipeline's delivery thread. Memory is bounded by
 * the rows of the chunks in flight.
 */
public final class BackfillDelivery implements Delivery {
    private final Delivery delegate;
    private final Object lock = new Object();
    private final ArrayDeque<Chunk> chunks = new ArrayDeque<>(2); // guarded by lock; in watermark order
    private Chunk open; // delivery thread only: the chunk between its low and high watermark
    private Trail trail; // delivery thread only: changes of the table being read that a read may not have seen
    private final RecentCommits commits = new RecentCommits(); // delivery thread only

    public BackfillDelivery(Delivery delegate) {
        this.delegate = delegate;
    }

    /** A chunk in flight: set up by the engine, filled and completed by the delivery thread. */
    static final class Chunk {
        final String mark;
        final BackfillTable table;
        final String backfill;
        final String consumer;
        final long number;
        private List<Row> rows; // guarded by the delivery's lock until handed over
        private List<String> keys;
        private boolean last;
        private ReadSnapshot snapshot;
        private final Set<String> changed = new HashSet<>(); // delivery thread only
        private boolean truncated;
        private Lsn emittedIn;
        private int emitted;
        private final KeyColumns keyColumns;
        private final CompletableFuture<Integer> delivered = new CompletableFuture<>();
        private final CompletableFuture<RecentCommits> opened = new CompletableFuture<>();

        Chunk(String mark, BackfillTable table, String backfill, String consumer, long number) {
            this.mark = mark;
            this.table = table;
            this.backfill = backfill;
            this.consumer = consumer;
            this.number = number;
            this.keyColumns = new KeyColumns(table);
        }

        /** Completes at the chunk's {@code :open} mark with the transactions committed before it (a copy). */
        CompletableFuture<RecentCommits> opened() {
            return opened;
        }

        /** Completes with the number of rows delivered once the consumer acknowledged them. */
        CompletableFuture<Integer> delivered() {
            return delivered;
        }
    }

    void expect(Chunk c) {
        synchronized (lock) {
            chunks.addLast(c);
        }
    }

    /** The chunk's rows, their keys (see {@link #keyOf}), whether it is the last of its table and the read's snapshot. */
    void rowsRead(Chunk c, List<Row> rows, List<String> keys, boolean last, ReadSnapshot snapshot) {
        synchronized (lock) {
            c.rows = rows;
            c.keys = keys;
            c.last = last;
            c.snapshot = snapshot;
        }
    }

    void clear(Chunk c) {
        synchronized (lock) {
            chunks.remove(c);
        }
    }

    /** True for the events of Tidings' own watermark table, which must reach this delivery through any table filter. */
    public static boolean isWatermark(ChangeEvent event) {
        return Watermarks.isWatermarkTable(event);
    }

    /** The chunk in flight whose watermarks carry {@code mark} (without its :low or :high), or null. */
    private Chunk chunk(String mark) {
        synchronized (lock) {
            for (Chunk c : chunks) {
                if (mark.equals(c.mark)) {
                    return c;
                }
            }
            return null;
        }
    }

    /** The chunk whose rows were emitted in the transaction committed at {@code commitLsn}, or null. */
    private Chunk emittedIn(Lsn commitLsn) {
        synchronized (lock) {
            for (Chunk c : chunks) {
                if (commitLsn.equals(c.emittedIn)) {
                    return c;
                }
            }
            return null;
        }
    }

    @Override
    public void begin(Transaction tx) throws Exception {
        delegate.begin(tx);
    }

    @Override
    public void change(ChangeEvent event) throws Exception {
        String mark = Watermarks.mark(event);
        if (mark != null) {
            onMark(mark, event);
            return;
        }
        if (Watermarks.isWatermarkTable(event)) {
            return;
        }
        Trail t = trail;
        if (t != null && t.keyColumns.table(event)) {
            if (inFlight()) {
                t.note(event);
            } else {
                trail = null; // the run ended: nothing will be read against it
            }
        }
        Chunk c = open;
        if (c != null && c.keyColumns.table(event)) {
            noteChange(c, event);
        }
        delegate.change(event);
    }

    @Override
    public void commit(Transaction tx, Acknowledgement ack) throws Exception {
        commits.add(tx.xid());
        Chunk c = emittedIn(tx.commitLsn());
        Acknowledgement out = ack;
        if (c != null) {
            int rows = c.emitted;
            out = new Acknowledgement() {
                @Override
                public void acknowledge() {
                    ack.acknowledge();
                    c.delivered.complete(rows);
                }

                @Override
                public void fail(Exception cause) {
                    ack.fail(cause);
                    c.delivered.completeExceptionally(cause);
                }
            };
        }
        delegate.commit(tx, out);
    }

    private void onMark(String mark, ChangeEvent watermark) throws Exception {
        int colon = mark.lastIndexOf(':');
        Chunk c = colon < 0 ? null : chunk(mark.substring(0, colon));
        if (c == null) {
            return; // a mark of another run or of a chunk no longer in flight
        }
        if (mark.endsWith(":open")) {
            trail = new Trail(c.table);
            c.opened.complete(commits.copy());
            return;
        }
        if (mark.endsWith(":low")) {
            c.changed.clear();
            c.truncated = false;
            open = c;
            return;
        }
        if (!mark.endsWith(":high")) {
            return;
        }
        if (open == c) {
            open = null;
        }
        List<Row> rows;
        List<String> keys;
        boolean last;
        ReadSnapshot snapshot;
        synchronized (lock) {
            rows = c.rows;
            keys = c.keys;
            last = c.last;
            snapshot = c.snapshot;
        }
        if (rows == null) {
            throw new IllegalStateException("high watermark " + mark + " arrived before its chunk was read");
        }
        Trail t = trail;
        if (t != null && t.keyColumns.table.name().equals(c.table.name())) {
            t.unseenBy(snapshot, c);
        }
        int lastKept = -1;
        for (int i = c.truncated ? -1 : rows.size() - 1; i >= 0 && lastKept < 0; i--) {
            if (!c.changed.contains(keys.get(i))) {
                lastKept = i;
            }
        }
        int index = watermark.index();
        int emitted = 0;
        for (int i = 0; i <= lastKept; i++) {
            if (c.changed.contains(keys.get(i))) {
                continue;
            }
            Row row = rows.get(i);
            delegate.change(new ChangeEvent(Op.READ, c.table.name().schema(), c.table.name().table(), c.table.columns(),
                    row, null, List.of(), watermark.tx(), ++index, watermark.lsn(), null, null,
                    new SnapshotRead(c.backfill, c.consumer, c.number, last && i == lastKept)));
            emitted++;
        }
        c.emittedIn = watermark.tx().commitLsn();
        c.emitted = emitted;
    }

    private boolean inFlight() {
        synchronized (lock) {
            return !chunks.isEmpty();
        }
    }

    private static void noteChange(Chunk c, ChangeEvent e) {
        if (e.op() == Op.TRUNCATE) {
            c.truncated = true; // the read may have seen rows that are gone now: the whole chunk is stale
            return;
        }
        c.keyColumns.keys(e, c.changed::add);
    }

    /** The key columns of a backfilled table in the stream's events: found by name, once per columns list. */
    static final class KeyColumns {
        final BackfillTable table;
        private List<Column> columnsOf; // the columns list positions was computed for
        private int[] positions;

        KeyColumns(BackfillTable table) {
            this.table = table;
        }

        boolean table(ChangeEvent e) {
            return table.name().table().equals(e.table()) && table.name().schema().equals(e.schema());
        }

        /** Passes the event's new key and old key, where it has them. */
        void keys(ChangeEvent e, Consumer<String> out) {
            if (columnsOf != e.columns()) {
                positions = positions(table, e.columns());
                columnsOf = e.columns();
            }
            if (positions == null) {
                return;
            }
            String key = keyOf(e.record(), positions);
            if (key != null) {
                out.accept(key);
            }
            String old = keyOf(e.oldRecord(), positions);
            if (old != null) {
                out.accept(old);
            }
        }
    }

    /**
     * The changed keys of one table with the transaction that changed them, in stream order, from a run's {@code :open}
     * mark on, less what a read already saw: what a read's snapshot may not have seen although it was committed before
     * its low watermark. A truncate has no key (null).
     */
    static final class Trail {
        final KeyColumns keyColumns;
        private List<Long> xids = new ArrayList<>();
        private List<String> keys = new ArrayList<>();

        Trail(BackfillTable table) {
            this.keyColumns = new KeyColumns(table);
        }

        void note(ChangeEvent e) {
            long xid = e.tx().xid();
            if (e.op() == Op.TRUNCATE) {
                xids.add(xid);
                keys.add(null);
                return;
            }
            keyColumns.keys(e, key -> {
                xids.add(xid);
                keys.add(key);
            });
        }

        /** Marks in {@code c} as changed what transactions unseen by {@code snapshot} changed, and forgets the rest. */
        void unseenBy(ReadSnapshot snapshot, Chunk c) {
            List<Long> keptXids = new ArrayList<>();
            List<String> keptKeys = new ArrayList<>();
            for (int i = 0; i < xids.size(); i++) {
                if (snapshot.sees(xids.get(i))) {
                    continue;
                }
                if (keys.get(i) == null) {
                    c.truncated = true;
                } else {
                    c.changed.add(keys.get(i));
                }
                keptXids.add(xids.get(i));
                keptKeys.add(keys.get(i));
            }
            xids = keptXids;
            keys = keptKeys;
        }
    }

    /** The ids of the last {@value #SIZE} transactions committed in the stream (32 bits, as the stream has them). */
    static final class RecentCommits {
        static final int SIZE = 16_384;
        private final int[] xids;
        private int next;

        RecentCommits() {
            this(new int[SIZE]);
        }

        private RecentCommits(int[] xids) {
            this.xids = xids;
        }

        void add(long xid) {
            if (xid != 0) {
                xids[next] = (int) xid;
                next = (next + 1) % SIZE;
            }
        }

        RecentCommits copy() {
            return new RecentCommits(xids.clone());
        }

        boolean contains(long xid) {
            int x = (int) xid;
            for (int recent : xids) {
                if (recent == x) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Where the backfill's key columns are in {@code columns}, by name; null if one is missing. */
    private static int[] positions(BackfillTable table, List<Column> columns) {
        int[] keys = table.keyIndexes();
        int[] out = new int[keys.length];
        for (int k = 0; k < keys.length; k++) {
            String name = table.columns().get(keys[k]).name();
            out[k] = -1;
            for (int i = 0; i < columns.size(); i++) {
                if (columns.get(i).name().equals(name)) {
                    out[k] = i;
                    break;
                }
            }
            if (out[k] < 0) {
                return null;
            }
        }
        return out;
    }

    /** A row's key as one string: its key values' JSON text joined by NUL (which JSON text never holds raw). */
    static String keyOf(Row row, int[] positions) {
        if (row == null) {
            return null;
        }
        if (positions.length == 1) {
            return row.json(positions[0]);
        }
        StringBuilder key = new StringBuilder();
        for (int i = 0; i < positions.length; i++) {
            String value = row.json(positions[i]);
            if (value == null) {
                return null;
            }
            if (i > 0) {
                key.append('\0');
            }
            key.append(value);
        }
        return key.toString();
    }
}
