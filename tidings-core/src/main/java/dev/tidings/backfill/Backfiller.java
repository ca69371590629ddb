package dev.tidings.backfill;

import dev.tidings.event.Row;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import dev.tidings.base.TableName;
import dev.tidings.source.SourceException;
import dev.tidings.value.JsonValueConverter;
import dev.tidings.value.PgType;
import dev.tidings.value.TypeRegistry;
import dev.tidings.value.UnknownTypeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The engine of online backfills: reads tables chunk by chunk, in key order, between watermarks,
 * and hands each chunk to the {@link BackfillDelivery} of the same stream, which merges it into
 * the live changes (see there). The live stream never waits for it.
 *
 * <p>Design. One thread, one ordinary connection (autocommit, values as text, as the stream has
 * them). Nothing is created in the database until a snapshot or backfill is asked for. What to backfill is the table {@code tidings.backfills} of the database
 * ({@link BackfillStore}): the engine works through the running entries of its slot one table at
 * a time, and polls for new ones (from {@link #submit}, {@code tidings backfill} or another
 * process). A run on a table starts with an {@code :open} mark and waits for transactions committed before it
 * but not yet visible ({@link ReadSnapshot}). Per chunk: register it, low watermark, {@code SELECT} up to
 * {@code chunkRows + 1} rows after the last key in a REPEATABLE READ transaction whose snapshot goes with the
 * rows, hand over {@code chunkRows} of them, high watermark; then wait until
 * the consumer acknowledged the previous chunk's transaction and store that chunk's last key. So
 * the next chunk is read and converted while the previous one is delivered (the backfill is
 * CPU-bound on both sides), and the chunk keys are stored in order. A crash at any point repeats
 * at most the two chunks in flight. The state is re-read before each chunk, so pause and cancel
 * take effect from anywhere within one chunk. At most two chunks are held in memory.
 *
 * <p>Throttle: at most {@code maxRowsPerSecond} rows per second over the run (0: no limit).
 * Failures of the connection are retried with backoff; a table that cannot be backfilled (no key)
 * is marked {@code failed} and reported to {@code onFailure}.
 */
public final class Backfiller {
    private static final Logger log = LoggerFactory.getLogger(Backfiller.class);
    private static final int BYTEA = 17;

    /**
     * One backfill of one table. {@code rowsPerSecond} is measured over this process's run of it
     * (0 when it has not run here); {@code estimatedRows} is the planner's row count at its start
     * (-1 when unknown); {@code secondsLeft} -1 when unknown.
     */
    public record Progress(String backfill, TableName table, String consumer, String state, long rows, long chunks,
                           double rowsPerSecond, long estimatedRows, double secondsLeft) {}

    private final DatabaseUrl database;
    private final TypeRegistry types;
    private final String slot;
    private final BackfillDelivery window;
    private final SourceConfig.Snapshot settings;
    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private final Map<String, Rate> rates = new ConcurrentHashMap<>();
    private final Map<String, BooleanSupplier> gates = new ConcurrentHashMap<>();
    private volatile String publication = "tidings";
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Initial initial;
    private BooleanSupplier streaming = () -> true;
    private Consumer<Exception> onFailure = e -> {};
    private long sequence;

    /** Initial snapshots: for which consumers, of which tables (empty: every table of {@code publication}). */
    private record Initial(List<String> consumers, List<TableName> tables, String publication, boolean temporarySlot) {}

    public Backfiller(DatabaseUrl database, TypeRegistry types, String slot, BackfillDelivery window,
                      SourceConfig.Snapshot settings) {
        this.database = database;
        this.types = types;
        this.slot = slot;
        this.window = window;
        this.settings = settings;
        this.thread = Thread.ofPlatform().name("tidings-backfill").daemon(true).unstarted(this::loop);
    }

    /**
     * Adds the initial snapshots of {@code tables}, or of every table of {@code publication} when
     * empty, for each of {@code consumers} (backfill id {@code initial}, or {@code initial:<consumer>})
     * unless it already ran on this slot. Call before {@link #start}.
     */
    public Backfiller withInitialSnapshot(List<String> consumers, List<TableName> tables, String publication,
                                          boolean temporarySlot) {
        this.initial = consumers.isEmpty() ? null
                : new Initial(List.copyOf(consumers), List.copyOf(tables), publication, temporarySlot);
        this.publication = publication;
        return this;
    }

    /**
     * Starts a backfill on this engine's slot (see {@link #submit(DatabaseUrl, TypeRegistry, String, List,
     * String, String)}); no tables means every table of the publication.
     */
    public String submit(List<TableName> tables, String condition, String consumer) throws SQLException {
        List<TableName> which = tables;
        if (which.isEmpty()) {
            try (Connection c = connect(database)) {
                which = publishedTables(c, publication);
            }
        }
        String id = submit(database, types, slot, which, condition, consumer);
        LockSupport.unpark(thread);
        return id;
    }

    /** Pauses, resumes or cancels a backfill of this engine's slot; false when there was nothing to change. */
    public boolean control(String backfill, String action) throws SQLException {
        return control(database, slot, backfill, action);
    }

    /** Removes a backfill of this slot from the state table (cancelling it first): for a consumer that went away. */
    public void forget(String backfill) throws SQLException {
        try (Connection c = connect(database)) {
            BackfillStore.forget(c, slot, backfill);
        }
    }

    /**
     * Holds the chunks of {@code consumer}'s backfills while {@code ready} is false: a consumer
     * that is not part of the acknowledgement (a live client) sets the pace of its own backfill.
     */
    public void gate(String consumer, BooleanSupplier ready) {
        gates.put(consumer, ready);
    }

    public void ungate(String consumer) {
        gates.remove(consumer);
    }

    /** The backfill id of a consumer's initial snapshot. */
    public static String initialId(String consumer) {
        return consumer.isEmpty() ? "initial" : "initial:" + consumer;
    }

    /**
     * Starts the engine thread. It writes no watermark before {@code streaming} is true (the slot
     * must exist for the watermarks to be in its stream).
     */
    public void start(BooleanSupplier streaming, Consumer<Exception> onFailure) {
        this.streaming = streaming;
        this.onFailure = onFailure;
        thread.start();
    }

    /** Stops the engine; the chunk in flight is read again by the next start. */
    public void stop() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Records a new backfill of {@code tables} for {@code consumer} ("" for every consumer) with an
     * optional SQL {@code condition}; returns its id. Checked at once: every table must exist and have a key.
     */
    public static String submit(DatabaseUrl database, TypeRegistry types, String slot, List<TableName> tables,
                                String condition, String consumer) throws SQLException {
        String id = "bf-" + UUID.randomUUID().toString().substring(0, 8);
        try (Connection c = connect(database)) {
            BackfillStore.prepare(c);
            for (TableName table : tables) {
                BackfillTable.resolve(c, table, types);
            }
            if (condition != null && !condition.isBlank()) {
                checkCondition(c, tables, condition);
            }
            for (TableName table : tables) {
                BackfillStore.loadOrCreate(c, slot, id, table, consumer == null ? "" : consumer, condition);
            }
        }
        return id;
    }

    /** Pauses, resumes or cancels every table of a backfill; false when it has no table in a state to change. */
    public static boolean control(DatabaseUrl database, String slot, String backfill, String action) throws SQLException {
        String[] change = switch (action) {
            case "pause" -> new String[]{"paused", "running"};
            case "resume" -> new String[]{"running", "paused"};
            case "cancel" -> new String[]{"cancelled", "running,paused"};
            default -> throw new IllegalArgumentException("unknown action " + action + ": use pause, resume or cancel");
        };
        try (Connection c = connect(database)) {
            BackfillStore.prepare(c);
            return BackfillStore.setState(c, slot, backfill, change[0], change[1]) > 0;
        }
    }

    /** Every backfill of this slot, with this process's rates. */
    public List<Progress> progress() throws SQLException {
        try (Connection c = connect(database)) {
            return BackfillStore.exists(c) ? progress(c, slot, rates) : List.of();
        }
    }

    /** Every backfill of {@code slot} as stored (no rates). */
    public static List<Progress> progress(DatabaseUrl database, String slot) throws SQLException {
        try (Connection c = connect(database)) {
            return BackfillStore.exists(c) ? progress(c, slot, Map.of()) : List.of();
        }
    }

    private static List<Progress> progress(Connection c, String slot, Map<String, Rate> rates) throws SQLException {
        List<Progress> out = new ArrayList<>();
        for (BackfillStore.Entry e : BackfillStore.all(c, slot)) {
            Rate rate = rates.get(e.backfill() + "\0" + e.table());
            double perSecond = rate == null ? 0 : rate.perSecond();
            long estimate = rate == null ? -1 : rate.estimatedRows;
            double left = "done".equals(e.state()) ? 0 : perSecond > 0 && estimate >= 0
                    ? Math.max(0, estimate - e.rows()) / perSecond : -1;
            out.add(new Progress(e.backfill(), e.table(), e.consumer(), e.state(), e.rows(), e.chunks(), perSecond,
                    estimate, left));
        }
        return out;
    }

    /** Rows read by this process for one backfill of one table, for rows/s and time left. */
    private static final class Rate {
        final long startNanos = System.nanoTime();
        final long estimatedRows;
        volatile long rows;

        Rate(long estimatedRows) {
            this.estimatedRows = estimatedRows;
        }

        double perSecond() {
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            return seconds <= 0 ? 0 : rows / seconds;
        }
    }

    private void loop() {
        long backoffMs = 0;
        while (running && !streaming.getAsBoolean()) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        while (running) {
            try (Connection c = connect(database)) {
                // no backfill was ever asked for here: ask again each second on the same connection (a new
                // connection per poll costs a backend start in PostgreSQL and a connect here, every second)
                while (running && initial == null && !BackfillStore.exists(c)) {
                    LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
                }
                if (!running) {
                    return;
                }
                prepare(c);
                backoffMs = 0;
                while (running) {
                    BackfillStore.Entry next = nextRunning(c);
                    if (next == null) {
                        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
                        continue;
                    }
                    backfill(c, next);
                }
            } catch (SourceException e) {
                log.error("backfill stopped: {}", e.getMessage());
                onFailure.accept(e);
                return;
            } catch (SQLException | RuntimeException e) {
                if (!running) {
                    return;
                }
                backoffMs = Math.min(30_000, backoffMs == 0 ? 200 : backoffMs * 2);
                log.warn("backfill connection failed ({}); retrying in {} ms", e.getMessage(), backoffMs);
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(backoffMs));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void prepare(Connection c) throws SQLException {
        try {
            BackfillStore.prepare(c);
            watermarks(c).prepare(c);
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                throw new SourceException("backfills keep their state in the schema tidings, which this user may not "
                        + "create: " + e.getMessage() + ". Run CREATE SCHEMA tidings AUTHORIZATION "
                        + dev.tidings.base.Identifiers.quote(database.user()) + "; as an owner of the database", e);
            }
            throw e;
        }
        Initial snapshot = initial;
        if (snapshot != null) {
            if (snapshot.temporarySlot()) {
                BackfillStore.forgetSlot(c, slot);
            }
            List<TableName> tables = snapshot.tables().isEmpty() ? publishedTables(c, snapshot.publication())
                    : snapshot.tables();
            for (String consumer : snapshot.consumers()) {
                for (TableName table : tables) {
                    BackfillStore.loadOrCreate(c, slot, initialId(consumer), table, consumer, null);
                }
            }
            initial = null;
        }
    }

    private Watermarks watermarks(Connection c) throws SQLException {
        return new Watermarks(Watermarks.messagesSupported(c.getMetaData().getDatabaseMajorVersion()), slot);
    }

    private BackfillStore.Entry nextRunning(Connection c) throws SQLException {
        for (BackfillStore.Entry e : BackfillStore.all(c, slot)) {
            if ("running".equals(e.state())) {
                return e;
            }
        }
        return null;
    }

    /** Reads one table of one backfill to its end, or until it is paused, cancelled or the engine stops. */
    private void backfill(Connection c, BackfillStore.Entry entry) throws SQLException, InterruptedException {
        BackfillTable table;
        try {
            table = BackfillTable.resolve(c, entry.table(), types);
        } catch (SourceException e) {
            BackfillStore.setState(c, slot, entry.backfill(), "failed", "running,paused");
            throw e;
        }
        Watermarks watermarks = watermarks(c);
        boolean modern = ReadSnapshot.modern(c.getMetaData().getDatabaseMajorVersion());
        JsonValueConverter values = new JsonValueConverter(types);
        String rateKey = entry.backfill() + "\0" + entry.table();
        Rate rate = rates.computeIfAbsent(rateKey, k -> new Rate(estimate(c, entry.table())));
        long runRows = 0;
        long runStart = System.nanoTime();
        String[] lastKey = entry.lastKey();
        long chunkNumber = entry.chunks();
        log.info("backfill {} of {} {} (chunk {})", entry.backfill(), entry.table(),
                lastKey == null ? "starts" : "resumes", chunkNumber);
        String sql = table.chunkQuery(true, entry.condition());
        String firstSql = table.chunkQuery(false, entry.condition());
        Pending pending = null; // the chunk read last, until its delivery is acknowledged and stored
        boolean opened = false;
        try {
            while (running) {
                BackfillStore.Entry now = BackfillStore.load(c, slot, entry.backfill(), entry.table());
                if (now == null || !"running".equals(now.state())) {
                    break;
                }
                BooleanSupplier gate = gates.get(entry.consumer());
                if (gate != null && !gate.getAsBoolean()) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
                    continue;
                }
                BackfillDelivery.Chunk chunk = new BackfillDelivery.Chunk(run + ":" + (++sequence), table,
                        entry.backfill(), entry.consumer(), chunkNumber++);
                window.expect(chunk);
                Read read;
                try {
                    if (!opened) { // where the delivery starts noting changes for this run's reads (see ReadSnapshot)
                        watermarks.write(c, chunk.mark + ":open");
                        awaitCommittedBeforeOpen(c, chunk, modern);
                        opened = true;
                    }
                    watermarks.write(c, chunk.mark + ":low");
                    read = read(c, table, lastKey == null ? firstSql : sql, lastKey, values, modern);
                    window.rowsRead(chunk, read.rows, read.keys, read.last, read.snapshot);
                    watermarks.write(c, chunk.mark + ":high");
                } catch (SQLException | RuntimeException | InterruptedException e) {
                    window.clear(chunk);
                    throw e;
                }
                lastKey = read.lastKey == null ? lastKey : read.lastKey;
                runRows += read.rows.size();
                Pending previous = pending;
                pending = new Pending(chunk, read, lastKey);
                if (previous != null && !stored(c, entry, previous, rate)) {
                    return;
                }
                if (read.last) {
                    break;
                }
                throttle(runStart, runRows);
            }
            if (pending != null && stored(c, entry, pending, rate) && pending.read.last) {
                log.info("backfill {} of {} done: {} chunks", entry.backfill(), entry.table(), chunkNumber);
            }
        } finally {
            if (pending != null) {
                window.clear(pending.chunk);
            }
        }
    }

    /** A chunk handed to the stream whose key is stored once the consumer acknowledged it. */
    private record Pending(BackfillDelivery.Chunk chunk, Read read, String[] lastKey) {}

    /**
     * Waits until the consumer acknowledged {@code p}'s rows, then stores its last key in
     * {@code entry}'s state; false when the engine stopped or the delivery failed first (the next start
     * reads the chunk again).
     */
    private boolean stored(Connection c, BackfillStore.Entry entry, Pending p, Rate rate) throws SQLException,
            InterruptedException {
        try {
            if (!awaitDelivered(p.chunk)) {
                return false;
            }
            BackfillStore.chunkDone(c, entry, p.lastKey, p.read.rows.size(), p.read.last);
            rate.rows += p.read.rows.size();
            return true;
        } finally {
            window.clear(p.chunk);
        }
    }

    /**
     * A chunk as read: rows (without the look-ahead row), their keys, the last row's key as text, whether it ends the
     * table, and the snapshot the rows were read in.
     */
    private record Read(List<Row> rows, List<String> keys, String[] lastKey, boolean last, ReadSnapshot snapshot) {}

    /** Reads a chunk in a REPEATABLE READ transaction of its own, so that its snapshot is known (see {@link ReadSnapshot}). */
    private Read read(Connection c, BackfillTable table, String sql, String[] after, JsonValueConverter values,
                      boolean modern) throws SQLException {
        c.setAutoCommit(false);
        try {
            ReadSnapshot snapshot = beginRead(c, modern);
            return read(c, table, sql, after, values, snapshot);
        } finally {
            c.setAutoCommit(true); // ends the read-only transaction
        }
    }

    private ReadSnapshot beginRead(Connection c, boolean modern) throws SQLException {
        repeatableRead(c);
        return ReadSnapshot.take(c, modern);
    }

    /**
     * Waits until the transactions that committed before the {@code :open} mark of a run but are not visible yet (they
     * wait for a synchronous standby) are visible: the delivery notes changes only from that mark on. Which of the
     * transactions a new snapshot does not see are committed, only the stream knows: the delivery says which of them
     * it saw commit before the mark.
     */
    private void awaitCommittedBeforeOpen(Connection c, BackfillDelivery.Chunk chunk, boolean modern)
            throws SQLException, InterruptedException {
        Map<Long, String> unseen = ReadSnapshot.runningUnseen(c, modern);
        if (unseen.isEmpty()) {
            return;
        }
        BackfillDelivery.RecentCommits commits = null;
        while (commits == null) {
            if (!running) {
                throw new InterruptedException("the engine stopped");
            }
            try {
                commits = chunk.opened().get(100, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // the stream has not reached the mark yet
            } catch (ExecutionException e) {
                throw new IllegalStateException("the delivery failed", e.getCause());
            }
        }
        List<String> committed = new ArrayList<>();
        for (Map.Entry<Long, String> e : unseen.entrySet()) {
            if (commits.contains(e.getKey())) {
                committed.add(e.getValue());
            }
        }
        if (!committed.isEmpty() && !ReadSnapshot.awaitVisible(c, modern, committed, () -> running)) {
            throw new InterruptedException("the engine stopped");
        }
    }

    private static void repeatableRead(Connection c) throws SQLException {
        try (var s = c.createStatement()) {
            s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        }
    }

    private Read read(Connection c, BackfillTable table, String sql, String[] after, JsonValueConverter values,
                      ReadSnapshot snapshot) throws SQLException {
        int limit = settings.chunkRows();
        int[] keyIndexes = table.keyIndexes();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            int p = 1;
            if (after != null) {
                for (String value : after) {
                    ps.setString(p++, value);
                }
            }
            ps.setInt(p, limit + 1);
            List<Row> rows = new ArrayList<>(Math.min(limit, 4096));
            List<String> keys = new ArrayList<>(Math.min(limit, 4096));
            String[] lastKey = null;
            boolean more = false;
            int columns = table.columns().size();
            boolean[] bytea = byteaColumns(table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (rows.size() == limit) {
                        more = true;
                        break;
                    }
                    byte[][] json = new byte[columns][];
                    for (int i = 0; i < columns; i++) {
                        byte[] text = bytea[i] ? utf8(rs.getString(i + 1)) : rs.getBytes(i + 1);
                        json[i] = text == null ? NULL : toJson(values, table.columns().get(i).typeOid(), text);
                    }
                    Row row = Row.ofUtf8(table.columns(), json);
                    rows.add(row);
                    keys.add(BackfillDelivery.keyOf(row, keyIndexes));
                    lastKey = new String[keyIndexes.length];
                    for (int k = 0; k < keyIndexes.length; k++) {
                        lastKey[k] = rs.getString(keyIndexes[k] + 1);
                    }
                }
            }
            return new Read(rows, keys, lastKey, !more, snapshot);
        }
    }

    private static final byte[] NULL = "null".getBytes(StandardCharsets.US_ASCII);

    /** A value's JSON from its text, as UTF-8 (the text of the result as it came, with no String made of it). */
    private static byte[] toJson(JsonValueConverter values, int oid, byte[] text) {
        try {
            return values.toJsonUtf8(oid, text);
        } catch (UnknownTypeException e) {
            return JsonValueConverter.jsonStringUtf8(text);
        }
    }

    private static byte[] utf8(String text) {
        return text == null ? null : text.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The columns whose values are read with getString: pgjdbc's getBytes decodes a bytea value of
     * a text result instead of returning its text, and PostgreSQL describes a domain's values by
     * its base type, so a domain over bytea is decoded too.
     */
    private boolean[] byteaColumns(BackfillTable table) {
        boolean[] out = new boolean[table.columns().size()];
        for (int i = 0; i < out.length; i++) {
            int oid = table.columns().get(i).typeOid();
            try {
                PgType type = types.type(oid);
                while (type.kind() == PgType.Kind.DOMAIN) {
                    type = types.type(type.elementOid());
                }
                out[i] = type.oid() == BYTEA;
            } catch (UnknownTypeException e) {
                out[i] = false; // converted as a JSON string of its text, which getBytes returns for any type but bytea
            }
        }
        return out;
    }

    /** Waits until the consumer acknowledged the chunk; false when the engine was stopped first. */
    private boolean awaitDelivered(BackfillDelivery.Chunk chunk) throws InterruptedException {
        while (running) {
            try {
                chunk.delivered().get(200, TimeUnit.MILLISECONDS);
                return true;
            } catch (TimeoutException e) {
                // keep waiting: the stream may be reconnecting or the consumer slow
            } catch (ExecutionException e) {
                return false; // the delivery failed: the pipeline stops, the next start reads the chunk again
            }
        }
        return false;
    }

    private void throttle(long runStartNanos, long runRows) {
        int limit = settings.maxRowsPerSecond();
        if (limit <= 0) {
            return;
        }
        long due = runStartNanos + (long) (runRows * 1e9 / limit);
        while (running) {
            long wait = due - System.nanoTime();
            if (wait <= 0) {
                return;
            }
            LockSupport.parkNanos(wait);
        }
    }

    private static long estimate(Connection c, TableName table) {
        try (PreparedStatement ps = c.prepareStatement("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(?)")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getLong(1) >= 0 ? rs.getLong(1) : -1;
            }
        } catch (SQLException e) {
            return -1;
        }
    }

    private static List<TableName> publishedTables(Connection c, String publication) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT schemaname, tablename FROM pg_publication_tables "
                + "WHERE pubname = ? AND schemaname <> 'tidings' ORDER BY 1, 2")) {
            ps.setString(1, publication);
            List<TableName> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new TableName(rs.getString(1), rs.getString(2)));
                }
            }
            return out;
        }
    }

    private static void checkCondition(Connection c, List<TableName> tables, String condition) {
        for (TableName table : tables) {
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM " + table.quoted() + " t WHERE (" + condition
                    + ") LIMIT 0")) {
                ps.executeQuery().close();
            } catch (SQLException e) {
                throw new SourceException("the backfill condition does not work on " + table + ": " + e.getMessage()
                        + ". Write it as the WHERE clause of SELECT … FROM " + table.quoted() + " t");
            }
        }
    }

    /**
     * An ordinary connection whose values come as text, exactly as the stream has them. Its
     * commits are flushed locally at once ({@code synchronous_commit = local}): the WAL sender only
     * sends flushed WAL, so under an asynchronous-commit default a watermark would wait for the WAL
     * writer (up to three {@code wal_writer_delay}s) before the stream could see it.
     */
    static Connection connect(DatabaseUrl database) throws SQLException {
        Properties p = database.properties();
        p.setProperty("binaryTransfer", "false");
        p.setProperty("ApplicationName", "tidings-backfill");
        Connection c = DriverManager.getConnection(database.jdbcUrl(), p);
        try (var s = c.createStatement()) {
            s.execute("SET synchronous_commit = local");
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        return c;
    }
}
