package dev.tidings.server.auth;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.base.Identifiers;
import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.server.live.LiveFanOut;
import dev.tidings.source.DatabaseUrl;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * RLS mode ({@code auth.rls}): a change reaches a subscriber only when PostgreSQL would let the
 * subscriber's role, with its JWT claims in {@code request.jwt.claims}, {@code SELECT} the row, and
 * only with the columns that role may read — the decision Supabase Realtime makes, made in batches.
 *
 * <p>Design. {@link #check} runs on the fan-out thread and only enqueues (never blocks; a full
 * queue drops the change for that subscriber, fail closed, counted). One thread with its own JDBC
 * connection (not the replication one) drains the queue and decides a whole batch at once:
 * <ol>
 *   <li>the pending (change, subscriber) pairs are grouped by table, then by {@link Identity}
 *       (role + the full claims JSON: every claim a policy might read), so the cost grows with
 *       distinct users, not with subscribers;
 *   <li>per table, what does not depend on the row is read from the catalog and cached for
 *       {@link #TTL_NANOS}: the primary key, whether RLS is enabled, and per role which columns
 *       it may {@code SELECT} ({@code has_column_privilege});
 *   <li>per group, inserts and updates of a table with RLS enabled are checked with ONE query
 *       ({@link #visibleQuery}), and the queries of all groups go in one round trip: {@code set_config('role', …, true)},
 *       {@code set_config('request.jwt.claims', …, true)}, then the keys of all those changes joined
 *       against the table — the rows that come back are the visible ones. The new row is committed
 *       by then (logical decoding sends committed transactions), so the query sees it, or a later
 *       version of it. The settings are local to the round trip's implicit transaction.
 *   <li>the results are handed to the subscribers in the order the pairs arrived, so each
 *       subscriber still sees its changes in commit order.
 * </ol>
 * Deletes cannot be checked (the row is gone): as Supabase does, they go to every subscriber
 * whose role may read the key columns, with only the key columns. A table without a primary key,
 * or whose key the role may not read, yields Supabase's {@code errors} entries rather than a
 * decision. Any failure of a query drops the changes it was deciding (fail closed), logged and
 * counted. The connecting role must be allowed to {@code SET ROLE} to every role tokens carry
 * (a superuser, or a member of them, like Supabase's {@code authenticator}).
 */
public final class RowSecurity implements MeterBinder, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RowSecurity.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final long TTL_NANOS = 30_000_000_000L;
    private static final int QUEUE = 1 << 20;
    private static final int BATCH = 1 << 16;
    private static final int GATHER_NANOS = 500_000;
    public static final String NO_PRIMARY_KEY = "Error 400: Bad Request, no primary key";
    public static final String UNAUTHORIZED = "Error 401: Unauthorized";

    /** Who a subscriber is to the database: what two subscribers must share to share a check. */
    public record Identity(String role, String claims) {
        /** The identity of a client with {@code access}: its token's claims, or none (role anon). */
        public static Identity of(Authenticator.Access access) {
            Map<String, Object> claims = access.token() == null ? Map.of() : access.token().claims();
            try {
                return new Identity(access.grant().role(), JSON.writeValueAsString(claims));
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("the token's claims cannot be written as JSON: " + e.getMessage(), e);
            }
        }
    }

    /** A subscriber in RLS mode. */
    public interface Reader {
        /** Who reads; read once per batch. */
        Identity identity();

        /**
         * {@code event} may be sent, on the checking thread; must not block.
         *
         * @param readable the columns the role may read, null when it may read them all (for a
         *                 delete: the key columns it may read)
         * @param errors   Supabase's {@code errors} entries, or null
         */
        void visible(ChangeEvent event, LiveFanOut.EventBytes bytes, Set<String> readable, List<String> errors);
    }

    private record Pending(ChangeEvent event, LiveFanOut.EventBytes bytes, Reader reader) {}

    /** What a table's rows have in common: its key and whether policies apply. */
    private record TableFacts(List<String> key, boolean rls, long at) {}

    /** What one role may read of one table; {@code readable} null: every column. */
    private record ColumnAccess(Set<String> readable, Set<String> columns, long at) {
        boolean mayRead(List<String> key) {
            return readable == null ? !columns.isEmpty() : readable.containsAll(key);
        }
    }

    private final DatabaseUrl database;
    private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(QUEUE);
    private final Thread thread;
    private final Map<TableName, TableFacts> tables = new HashMap<>();
    private final Map<String, ColumnAccess> columns = new HashMap<>();
    private final LongAdder queries = new LongAdder();
    private final LongAdder checked = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder waits = new LongAdder();
    private Connection connection;
    private volatile boolean closed;

    public RowSecurity(DatabaseUrl database) {
        this.database = database;
        this.thread = Thread.ofPlatform().name("tidings-row-security").daemon(true).start(this::run);
    }

    /** Queues {@code event} for {@code reader}'s check; on the fan-out thread, never blocks. */
    public void check(ChangeEvent event, LiveFanOut.EventBytes bytes, Reader reader) {
        if (!queue.offer(new Pending(event, bytes, reader))) {
            dropped.increment();
            if (dropped.sum() % 10_000 == 1) { // one line for many: this happens in floods
                log.warn("row security checks are {} changes behind; change {} is not delivered to {} ({} so far, "
                        + "tidings_rls_dropped_total)", QUEUE, event.id(), reader, dropped.sum());
            }
        }
    }

    /** Queries run so far: one per table, identity and batch (tests and the benchmark read it). */
    public long queries() {
        return queries.sum();
    }

    private void run() {
        List<Pending> batch = new ArrayList<>();
        while (!closed) {
            try {
                Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                // the fan-out is still queueing this change for its other subscribers: let it finish,
                // so that one change is decided in one batch (one query per identity, not two)
                Thread.sleep(0, GATHER_NANOS);
                batch.add(first);
                queue.drainTo(batch, BATCH);
                decide(batch);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                failed.add(batch.size());
                log.error("row security check failed; {} changes not delivered", batch.size(), e);
            } finally {
                batch.clear();
            }
        }
    }

    /** The changes of one table in one batch, and the groups of subscribers reading them. */
    private static final class TableBatch {
        final List<ChangeEvent> events = new ArrayList<>();
        final Map<ChangeEvent, Integer> index = new IdentityHashMap<>();
        final Map<Identity, Group> groups = new LinkedHashMap<>();

        int add(ChangeEvent e) {
            return index.computeIfAbsent(e, k -> {
                events.add(k);
                return events.size() - 1;
            });
        }
    }

    /** One identity's view of a table batch: which changes it needs, which it may see. */
    private static final class Group {
        final BitSet needed = new BitSet();
        final BitSet visible = new BitSet();
        /** The changes of {@code needed} that only a query can decide. */
        final BitSet rows = new BitSet();
        Set<String> readable;
        Set<String> keyReadable;
        List<String> errors;
    }

    private void decide(List<Pending> batch) {
        Map<TableName, TableBatch> byTable = new LinkedHashMap<>();
        Group[] groupOf = new Group[batch.size()];
        int[] eventOf = new int[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            Pending p = batch.get(i);
            TableBatch t = byTable.computeIfAbsent(p.event.tableName(), k -> new TableBatch());
            int e = t.add(p.event);
            Group g = t.groups.computeIfAbsent(p.reader.identity(), k -> new Group());
            g.needed.set(e);
            groupOf[i] = g;
            eventOf[i] = e;
        }
        for (var t : byTable.entrySet()) {
            decide(t.getKey(), t.getValue());
        }
        checked.add(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            Group g = groupOf[i];
            if (g.visible.get(eventOf[i])) {
                Pending p = batch.get(i);
                try {
                    p.reader.visible(p.event, p.bytes, p.event.op() == Op.DELETE ? g.keyReadable : g.readable, g.errors);
                } catch (RuntimeException e) {
                    log.warn("subscriber {} failed on event {}; it is skipped", p.reader, p.event.id(), e);
                }
            }
        }
    }

    private void decide(TableName table, TableBatch batch) {
        TableFacts facts;
        try {
            facts = facts(table);
        } catch (SQLException e) {
            fail(table, batch.groups.values(), e);
            return;
        }
        Map<Identity, Group> queried = new LinkedHashMap<>();
        for (var entry : batch.groups.entrySet()) {
            Identity who = entry.getKey();
            Group g = entry.getValue();
            ColumnAccess access;
            try {
                access = access(table, who.role());
            } catch (SQLException e) {
                fail(table, List.of(g), e);
                continue;
            }
            g.readable = access.readable;
            if (facts.key.isEmpty() || !access.mayRead(facts.key)) {
                // Supabase sends these changes to every subscriber of the table, with the reason
                g.errors = List.of(facts.key.isEmpty() ? NO_PRIMARY_KEY : UNAUTHORIZED);
                g.keyReadable = access.readable == null ? null : Set.copyOf(access.readable);
                g.visible.or(g.needed);
                continue;
            }
            g.keyReadable = new LinkedHashSet<>(facts.key);
            for (int e = g.needed.nextSetBit(0); e >= 0; e = g.needed.nextSetBit(e + 1)) {
                if (batch.events.get(e).op() == Op.DELETE || !facts.rls) {
                    g.visible.set(e);
                } else {
                    g.rows.set(e);
                }
            }
            if (!g.rows.isEmpty()) {
                queried.put(who, g);
            }
        }
        if (!queried.isEmpty()) {
            try {
                awaitVisible(batch.events);
                visibleRows(table, facts.key, queried, batch.events);
            } catch (SQLException e) {
                fail(table, queried.values(), e);
            }
        }
    }

    /**
     * Waits until every transaction of {@code events} is visible to a new snapshot. Logical
     * decoding may send a commit before the committing backend has left the process array; a
     * query right then would not see the new row and would fail closed for a row that is visible.
     * The 32-bit xids are widened with the epoch of the current snapshot. Gives up after a second
     * (the changes not visible by then are not delivered).
     */
    private void awaitVisible(List<ChangeEvent> events) throws SQLException {
        Set<Long> xids = new LinkedHashSet<>();
        for (ChangeEvent e : events) {
            xids.add(e.tx().xid());
        }
        try (PreparedStatement ps = connection().prepareStatement("""
                SELECT pg_catalog.bool_and(pg_catalog.pg_visible_in_snapshot((CASE WHEN (m & 4294967295) > x
                    THEN (m >> 32 << 32) | x ELSE ((m >> 32) - 1 << 32) | x END)::text::xid8, s))
                FROM pg_catalog.pg_current_snapshot() AS s,
                     LATERAL (SELECT pg_catalog.pg_snapshot_xmax(s)::text::bigint) AS q(m),
                     pg_catalog.unnest(?::bigint[]) AS u(x)""")) {
            ps.setArray(1, ps.getConnection().createArrayOf("bigint", xids.toArray()));
            for (int attempt = 0; attempt < 1000; attempt++) {
                try (ResultSet r = ps.executeQuery()) {
                    if (r.next() && r.getBoolean(1)) {
                        return;
                    }
                }
                if (attempt == 0) {
                    waits.increment();
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        log.warn("transactions {} are committed but still not visible after a second; their changes may not be delivered", xids);
    }

    /**
     * Sets in each group's {@code visible} the changes among its {@code rows} whose row its identity
     * may select: one query per group, all of the table's groups in one round trip.
     */
    private void visibleRows(TableName table, List<String> key, Map<Identity, Group> groups, List<ChangeEvent> events)
            throws SQLException {
        String[] keys = new String[events.size()];
        List<Group> order = new ArrayList<>(groups.values());
        StringBuilder sql = new StringBuilder();
        String one = visibleQuery(table, key);
        for (int i = 0; i < order.size(); i++) {
            sql.append(i == 0 ? "" : "; ").append(one);
        }
        try (PreparedStatement q = connection().prepareStatement(sql.toString())) {
            int p = 1;
            for (var entry : groups.entrySet()) {
                Identity who = entry.getKey();
                q.setString(p++, who.role());
                q.setString(p++, who.claims());
                q.setString(p++, keyList(key, events, entry.getValue().rows, keys));
                q.setString(p++, who.role());
            }
            queries.add(order.size());
            q.execute();
            for (Group g : order) {
                if (!q.getMoreResults()) {
                    throw new SQLException("the visibility query returned no rows result");
                }
                try (ResultSet r = q.getResultSet()) {
                    while (r.next()) {
                        g.visible.set(r.getInt(1));
                    }
                }
                q.getMoreResults(); // the next group's settings
            }
        }
    }

    /**
     * The member that carries a change's index beside its key: longer than any column name can be
     * (63 bytes), so {@code jsonb_populate_record} never takes it for one.
     */
    private static final String INDEX = "tidings_change_index_".repeat(4);

    /** The keys of the {@code rows} changes as {@code [{"id":1,"<INDEX>":index},…]}, each change's made once. */
    private static String keyList(List<String> key, List<ChangeEvent> events, BitSet rows, String[] made) {
        StringBuilder out = new StringBuilder("[");
        for (int e = rows.nextSetBit(0); e >= 0; e = rows.nextSetBit(e + 1)) {
            if (made[e] == null) {
                Row row = events.get(e).record();
                StringBuilder one = new StringBuilder("{");
                for (String k : key) {
                    String value = row.json(k);
                    one.append('"').append(JsonStringEncoder.getInstance().quoteAsString(k)).append("\":")
                            .append(value == null ? "null" : value).append(',');
                }
                made[e] = one.append('"').append(INDEX).append("\":").append(e).append('}').toString();
            }
            out.append(out.length() == 1 ? "" : ",").append(made[e]);
        }
        return out.append(']').toString();
    }

    /**
     * The statements of one group: the role and claims, local to the implicit transaction that
     * lasts until the round trip's Sync, then the change indexes of the given keys whose rows that
     * role may select. The select is planned after the settings ran, so as that role with its
     * policies; it also checks that the role took effect ({@code current_user}), so that a setting
     * that did not apply yields nothing rather than the rows a superuser sees.
     */
    static String visibleQuery(TableName table, List<String> key) {
        String t = Identifiers.quote(table.schema()) + "." + Identifiers.quote(table.table());
        StringBuilder on = new StringBuilder();
        for (String k : key) {
            String c = Identifiers.quote(k);
            on.append(on.isEmpty() ? "" : " AND ").append("t.").append(c).append(" = r.").append(c);
        }
        return "SELECT pg_catalog.set_config('role', ?, true), pg_catalog.set_config('request.jwt.claims', ?, true);"
                + " SELECT (k.j ->> '" + INDEX + "')::int FROM pg_catalog.jsonb_array_elements(?::jsonb) AS k(j)"
                + " CROSS JOIN LATERAL pg_catalog.jsonb_populate_record(NULL::" + t + ", k.j) AS r"
                + " WHERE current_user = ?::name AND EXISTS (SELECT 1 FROM " + t + " t WHERE " + on + ")";
    }

    /** Fail closed: none of the changes {@code groups} were deciding is delivered; a broken connection is reopened next time. */
    private void fail(TableName table, Iterable<Group> groups, SQLException e) {
        int n = 0;
        for (Group g : groups) {
            n += g.needed.cardinality();
            g.visible.clear();
        }
        failed.add(n);
        log.warn("row security check of {} failed, {} changes not delivered (fail closed): {}", table, n,
                e.getMessage().lines().findFirst().orElse(""));
        if (connection != null && (e.getSQLState() == null || e.getSQLState().startsWith("08"))) {
            closeConnection();
        }
    }

    private TableFacts facts(TableName table) throws SQLException {
        TableFacts f = tables.get(table);
        if (f != null && System.nanoTime() - f.at < TTL_NANOS) {
            return f;
        }
        try (PreparedStatement ps = connection().prepareStatement("""
                SELECT c.relrowsecurity, ARRAY(SELECT a.attname::text FROM pg_catalog.pg_index i
                        JOIN pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
                        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                        WHERE i.indrelid = c.oid AND i.indisprimary ORDER BY k.n)
                FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass(?)""")) {
            ps.setString(1, Identifiers.quote(table.schema()) + "." + Identifiers.quote(table.table()));
            try (ResultSet r = ps.executeQuery()) {
                if (!r.next()) {
                    throw new SQLException("table " + table + " does not exist (any more)");
                }
                Array key = r.getArray(2);
                f = new TableFacts(List.of((String[]) key.getArray()), r.getBoolean(1), System.nanoTime());
            }
        }
        tables.put(table, f);
        return f;
    }

    private ColumnAccess access(TableName table, String role) throws SQLException {
        String cacheKey = role + '\0' + table;
        ColumnAccess a = columns.get(cacheKey);
        if (a != null && System.nanoTime() - a.at < TTL_NANOS) {
            return a;
        }
        Set<String> all = new LinkedHashSet<>();
        Set<String> readable = new LinkedHashSet<>();
        try (PreparedStatement ps = connection().prepareStatement("""
                SELECT a.attname, pg_catalog.has_column_privilege(?, a.attrelid, a.attnum, 'SELECT')
                FROM pg_catalog.pg_attribute a
                WHERE a.attrelid = pg_catalog.to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped""")) {
            ps.setString(1, role);
            ps.setString(2, Identifiers.quote(table.schema()) + "." + Identifiers.quote(table.table()));
            try (ResultSet r = ps.executeQuery()) {
                while (r.next()) {
                    all.add(r.getString(1));
                    if (r.getBoolean(2)) {
                        readable.add(r.getString(1));
                    }
                }
            }
        }
        a = new ColumnAccess(readable.equals(all) ? null : Set.copyOf(readable), Set.copyOf(all), System.nanoTime());
        columns.put(cacheKey, a);
        return a;
    }

    private Connection connection() throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = database.connect();
        }
        return connection;
    }

    private void closeConnection() {
        try {
            connection.close();
        } catch (SQLException ignored) {
            // closing a broken connection
        }
        connection = null;
    }

    /**
     * <pre>
     * tidings_rls_queries_total     visibility queries run (one per table, identity and batch)
     * tidings_rls_checked_total     (change, subscriber) pairs decided
     * tidings_rls_failed_total      pairs not delivered because a check failed (fail closed)
     * tidings_rls_dropped_total     pairs not delivered because the checks were too far behind
     * tidings_rls_visibility_waits_total  batches that waited for a committed transaction to become visible
     * </pre>
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        FunctionCounter.builder("tidings.rls.queries", queries, LongAdder::sum).register(registry);
        FunctionCounter.builder("tidings.rls.checked", checked, LongAdder::sum).register(registry);
        FunctionCounter.builder("tidings.rls.failed", failed, LongAdder::sum).register(registry);
        FunctionCounter.builder("tidings.rls.dropped", dropped, LongAdder::sum).register(registry);
        FunctionCounter.builder("tidings.rls.visibility.waits", waits, LongAdder::sum).register(registry);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (connection != null) {
            closeConnection();
        }
    }
}
