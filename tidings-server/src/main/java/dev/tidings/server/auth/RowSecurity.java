package dev.tidings.server.auth;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
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

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.atomic.LongAdder;

/**
 * RLS mode ({@code auth.rls}): a change reaches a subscriber only when PostgreSQL would let the
 * subscriber's role, with its JWT claims in {@code request.jwt.claims}, {@code SELECT} the row, and
 * only with the columns that role may read — the decision Supabase Realtime makes, made in batches.
 *
 * <p>Design. {@link #check} runs on the fan-out thread and only enqueues (never blocks; past
 * {@link #MAX_PENDING} pairs a change is dropped for that subscriber, fail closed, counted). The
 * fan-out hands one change to its subscribers one after the other, so consecutive pairs of one
 * change are kept as one {@link Change} with its list of readers: the queue holds changes, not
 * (change, subscriber) pairs, and the checking thread is woken once per change. Three stages:
 * <ol>
 *   <li>the checking thread takes everything queued and groups the pairs by table, then by
 *       {@link Identity} (role + the full claims JSON: every claim a policy might read), so the cost
 *       grows with distinct users, not with subscribers;
 *   <li>per table, what does not depend on the row is read from the catalog and cached for
 *       {@link #TTL_NANOS}: the primary key, whether RLS is enabled, and per role which columns
 *       it may {@code SELECT} ({@code has_column_privilege});
 *   <li>per group, inserts and updates of a table with RLS enabled are checked with ONE query
 *       ({@link #visibleQuery}): {@code set_config('role', …, true)}, {@code set_config('request.jwt.claims', …, true)}
 *       (and {@code request.jwt.claim.sub}, {@code request.jwt.claim.role}, as PostgREST sets them),
 *       then the keys of all those changes joined against the table — the rows that come back are
 *       the visible ones. Up to {@link #GROUPS_PER_TRIP} groups go in one round trip (their settings
 *       are local to its implicit transaction), and the round trips of one batch run in parallel on
 *       up to {@link #CONNECTIONS} connections (not the replication one), each connection taking an
 *       equal share ({@link #cut}). A round trip of so many groups is the same text every time,
 *       so pgjdbc prepares it on the server after a few uses; PostgreSQL
 *       re-plans a prepared statement whose plan depends on row security when the role changes.
 *       The new row is committed by then (logical decoding sends committed transactions), so the
 *       query sees it, or a later version of it;
 *   <li>the decided batch goes to the dispatching thread, which hands the results to the
 *       subscribers in the order the pairs arrived, batch after batch: each subscriber still sees
 *       its changes in commit order, while the next batch is already being checked.
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
    /** (change, subscriber) pairs waiting for a check at most; more are dropped (fail closed). */
    private static final int MAX_PENDING = 1 << 22;
    private static final int GATHER_NANOS = 500_000;
    /** Connections checking one batch's groups at once (the checking thread's own included). */
    static final int CONNECTIONS = 4;
    /** Groups (identities) whose queries share one round trip. */
    static final int GROUPS_PER_TRIP = 16;
    /** Decided batches waiting for the dispatching thread; when full, the checking thread waits. */
    private static final int DECIDED = 4;
    public static final String NO_PRIMARY_KEY = "Error 400: Bad Request, no primary key";
    public static final String UNAUTHORIZED = "Error 401: Unauthorized";

    /**
     * Who a subscriber is to the database: what two subscribers must share to share a check.
     * {@code sub} is the {@code sub} claim (empty without one), derived from {@code claims}: it also
     * goes into {@code request.jwt.claim.sub}, which Supabase's {@code auth.uid()} reads before it
     * parses the claims JSON, so a policy on it costs no JSON parse per row.
     */
    public record Identity(String role, String claims, String sub) {
        public Identity(String role, String claims) {
            this(role, claims, subOf(claims));
        }

        private static String subOf(String claims) {
            try {
                JsonNode sub = JSON.readTree(claims).path("sub");
                return sub.isValueNode() && !sub.isNull() ? sub.asText() : "";
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("the claims are not JSON: " + e.getMessage(), e);
            }
        }

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
         * {@code event} may be sent, on the dispatching thread; must not block.
         *
         * @param readable the columns the role may read, null when it may read them all (for a
         *                 delete: the key columns it may read)
         * @param errors   Supabase's {@code errors} entries, or null
         */
        void visible(ChangeEvent event, LiveFanOut.EventBytes bytes, Set<String> readable, List<String> errors);
    }

    /** One change and the readers it was queued for, in queueing order; once decided, each reader's group. */
    private static final class Change {
        final ChangeEvent event;
        final LiveFanOut.EventBytes bytes;
        final List<Reader> readers = new ArrayList<>(4);
        Group[] groups;
        /** The change's index in its {@link TableBatch}. */
        int index;

        Change(ChangeEvent event, LiveFanOut.EventBytes bytes) {
            this.event = event;
            this.bytes = bytes;
        }
    }

    /**
     * What a table's rows have in common: its key, whether policies apply, and the key columns'
     * types as {@code format_type} writes them when every one reads from its value's text (else
     * null: the keys go to the database as JSON, see {@link #visibleQuery}).
     */
    private record TableFacts(List<String> key, List<String> keyTypes, boolean rls, long at) {}

    /** What one role may read of one table; {@code readable} null: every column. */
    private record ColumnAccess(Set<String> readable, Set<String> columns, long at) {
        boolean mayRead(List<String> key) {
            return readable == null ? !columns.isEmpty() : readable.containsAll(key);
        }
    }

    /** One database connection, opened on first use and again after it broke; used by one thread at a time. */
    private final class Session {
        private Connection connection;

        Connection connection() throws SQLException {
            if (connection == null || connection.isClosed()) {
                connection = database.connect();
            }
            return connection;
        }

        /** After {@code e}: a broken connection is closed, to be reopened next time. */
        void failed(SQLException e) {
            if (connection != null && (e.getSQLState() == null || e.getSQLState().startsWith("08"))) {
                close();
            }
        }

        void close() {
            if (connection != null) {
                try {
                    connection.close();
                } catch (SQLException ignored) {
                    // closing a broken connection
                }
                connection = null;
            }
        }
    }

    private final DatabaseUrl database;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition queued = lock.newCondition();
    private final ArrayDeque<Change> pending = new ArrayDeque<>(); // guarded by lock
    private Change open; // the change the fan-out is queueing, guarded by lock
    private int pendingPairs; // guarded by lock
    private final BlockingQueue<List<Change>> decided = new ArrayBlockingQueue<>(DECIDED);
    private final Session own = new Session();
    /** The other connections' sessions, taken by the round trips the checking thread hands off. */
    private final BlockingQueue<Session> sessions = new ArrayBlockingQueue<>(CONNECTIONS - 1);
    private final List<Session> all = new ArrayList<>();
    private final ExecutorService trips;
    private final Thread checker;
    private final Thread dispatcher;
    private final Map<TableName, TableFacts> tables = new HashMap<>();
    private final Map<String, ColumnAccess> columns = new HashMap<>();
    private final LongAdder queries = new LongAdder();
    private final LongAdder checked = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder waits = new LongAdder();
    private volatile boolean closed;

    public RowSecurity(DatabaseUrl database) {
        this.database = database;
        all.add(own);
        for (int i = 1; i < CONNECTIONS; i++) {
            Session s = new Session();
            all.add(s);
            sessions.add(s);
        }
        this.trips = Executors.newFixedThreadPool(CONNECTIONS - 1,
                Thread.ofPlatform().name("tidings-row-security-trip-", 1).daemon(true).factory());
        this.dispatcher = Thread.ofPlatform().name("tidings-row-security-send").daemon(true).start(this::dispatch);
        this.checker = Thread.ofPlatform().name("tidings-row-security").daemon(true).start(this::run);
    }

    /** Queues {@code event} for {@code reader}'s check; on the fan-out thread, never blocks. */
    public void check(ChangeEvent event, LiveFanOut.EventBytes bytes, Reader reader) {
        lock.lock();
        try {
            if (pendingPairs < MAX_PENDING) {
                Change c = open;
                if (c == null || c.event != event) {
                    c = new Change(event, bytes);
                    open = c;
                    pending.add(c);
                    if (pending.size() == 1) {
                        queued.signal();
                    }
                }
                c.readers.add(reader);
                pendingPairs++;
                return;
            }
        } finally {
            lock.unlock();
        }
        dropped.increment();
        if (dropped.sum() % 10_000 == 1) { // one line for many: this happens in floods
            log.warn("row security checks are {} changes behind; change {} is not delivered to {} ({} so far, "
                    + "tidings_rls_dropped_total)", MAX_PENDING, event.id(), reader, dropped.sum());
        }
    }

    /** Queries run so far: one per table, identity and batch (tests and the benchmark read it). */
    public long queries() {
        return queries.sum();
    }

    /** Everything queued, after waiting up to 200 ms for a first change; empty if none came. */
    private List<Change> take() throws InterruptedException {
        lock.lock();
        try {
            if (pending.isEmpty() && !queued.await(200, TimeUnit.MILLISECONDS) && pending.isEmpty()) {
                return List.of();
            }
        } finally {
            lock.unlock();
        }
        // the fan-out is still queueing this change for its other subscribers: let it finish,
        // so that one change is decided in one batch (one query per identity, not two)
        Thread.sleep(0, GATHER_NANOS);
        lock.lock();
        try {
            List<Change> batch = new ArrayList<>(pending);
            pending.clear();
            open = null; // what is queued from now on goes into new changes: these no longer grow
            pendingPairs = 0;
            return batch;
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        openConnections();
        while (!closed) {
            List<Change> batch = List.of();
            try {
                batch = take();
                if (batch.isEmpty()) {
                    continue;
                }
                decide(batch);
                decided.put(batch);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                int n = pairs(batch);
                failed.add(n);
                log.error("row security check failed; {} changes not delivered", n, e);
            }
        }
    }

    /**
     * Opens the connections at start rather than when the first change needs them: a connect
     * takes milliseconds, and the first batch would wait for all of them while changes pile up
     * behind it. One that fails is opened again when needed.
     */
    private void openConnections() {
        for (int i = 1; i < CONNECTIONS; i++) {
            trips.submit(() -> {
                Session s = sessions.take();
                try {
                    s.connection();
                } catch (SQLException e) {
                    log.debug("row security connection not opened yet: {}", e.getMessage());
                } finally {
                    sessions.add(s);
                }
                return null;
            });
        }
        try {
            own.connection();
        } catch (SQLException e) {
            log.debug("row security connection not opened yet: {}", e.getMessage());
        }
    }

    private static int pairs(List<Change> batch) {
        int n = 0;
        for (Change c : batch) {
            n += c.readers.size();
        }
        return n;
    }

    /** The dispatching thread: hands each decided batch to its readers, in order. */
    private void dispatch() {
        while (!closed) {
            List<Change> batch;
            try {
                batch = decided.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (batch == null) {
                continue;
            }
            for (Change c : batch) {
                for (int i = 0; i < c.readers.size(); i++) {
                    Group g = c.groups == null ? null : c.groups[i];
                    if (g != null && g.visible.get(c.index)) {
                        Reader r = c.readers.get(i);
                        try {
                            r.visible(c.event, c.bytes, c.event.op() == Op.DELETE ? g.keyReadable : g.readable, g.errors);
                        } catch (RuntimeException e) {
                            log.warn("subscriber {} failed on event {}; it is skipped", r, c.event.id(), e);
                        }
                    }
                }
            }
        }
    }

    /** The changes of one table in one batch, and the groups of subscribers reading them. */
    private static final class TableBatch {
        final List<ChangeEvent> events = new ArrayList<>();
        final Map<Identity, Group> groups = new LinkedHashMap<>();
        /**
         * The groups by identity instance: a subscriber keeps its instance until its token changes,
         * so most look-ups stop here, without comparing the claims.
         */
        final Map<Identity, Group> byInstance = new IdentityHashMap<>();

        int add(ChangeEvent e) {
            events.add(e);
            return events.size() - 1;
        }

        Group group(Identity who) {
            Group g = byInstance.get(who);
            if (g == null) {
                g = groups.computeIfAbsent(who, k -> new Group());
                byInstance.put(who, g);
            }
            return g;
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

    /** Decides every pair of {@code batch}: sets each change's groups, and in them what is visible. */
    private void decide(List<Change> batch) throws InterruptedException {
        Map<TableName, TableBatch> byTable = new LinkedHashMap<>();
        TableName lastName = null;
        TableBatch last = null;
        for (Change c : batch) {
            if (last == null || !c.event.tableName().equals(lastName)) {
                lastName = c.event.tableName();
                last = byTable.computeIfAbsent(lastName, k -> new TableBatch());
            }
            c.index = last.add(c.event);
            c.groups = new Group[c.readers.size()];
            for (int i = 0; i < c.groups.length; i++) {
                Group g = last.group(c.readers.get(i).identity());
                g.needed.set(c.index);
                c.groups[i] = g;
            }
        }
        for (var t : byTable.entrySet()) {
            decide(t.getKey(), t.getValue());
        }
        checked.add(pairs(batch));
    }

    private void decide(TableName table, TableBatch batch) throws InterruptedException {
        TableFacts facts;
        try {
            facts = facts(table);
        } catch (SQLException e) {
            fail(own, table, batch.groups.values(), e);
            return;
        }
        List<Map.Entry<Identity, Group>> queried = new ArrayList<>();
        for (var entry : batch.groups.entrySet()) {
            Identity who = entry.getKey();
            Group g = entry.getValue();
            ColumnAccess access;
            try {
                access = access(table, who.role());
            } catch (SQLException e) {
                fail(own, table, List.of(g), e);
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
                queried.add(entry);
            }
        }
        if (queried.isEmpty()) {
            return;
        }
        try {
            awaitVisible(batch.events);
        } catch (SQLException e) {
            fail(own, table, queried.stream().map(Map.Entry::getValue).toList(), e);
            return;
        }
        String[][] keys = keyList(facts, batch.events, queried);
        int[] cuts = cut(queried.size());
        int count = cuts.length - 1;
        List<Future<?>> handedOff = new ArrayList<>();
        for (int c = 1; c < Math.min(CONNECTIONS, count); c++) {
            int first = c;
            handedOff.add(trips.submit(() -> {
                Session s = sessions.take();
                try {
                    for (int t = first; t < count; t += CONNECTIONS) {
                        roundTrip(s, table, facts, queried.subList(cuts[t], cuts[t + 1]), keys);
                    }
                } finally {
                    sessions.add(s);
                }
                return null;
            }));
        }
        for (int t = 0; t < count; t += CONNECTIONS) {
            roundTrip(own, table, facts, queried.subList(cuts[t], cuts[t + 1]), keys);
        }
        for (Future<?> f : handedOff) {
            try {
                f.get();
            } catch (ExecutionException e) {
                // a round trip fails its own groups; anything else is a bug, and fails the batch
                throw new IllegalStateException("a row security round trip failed", e.getCause());
            }
        }
    }

    /**
     * Where {@code n} groups are cut into round trips: {@code cuts[t]} to {@code cuts[t + 1]} is trip
     * {@code t}, and connection {@code c} takes trips {@code c}, {@code c + CONNECTIONS}, …. As many
     * trips as {@link #GROUPS_PER_TRIP} asks for, but at least one per connection (while there are
     * groups) and a multiple of {@link #CONNECTIONS}, all of one size give or take one: every
     * connection gets the same share and the batch waits for no straggler.
     */
    static int[] cut(int n) {
        int trips = (n + GROUPS_PER_TRIP - 1) / GROUPS_PER_TRIP;
        trips = Math.min(n, (trips + CONNECTIONS - 1) / CONNECTIONS * CONNECTIONS);
        int[] cuts = new int[trips + 1];
        for (int t = 1; t <= trips; t++) {
            cuts[t] = cuts[t - 1] + n / trips + (t <= n % trips ? 1 : 0);
        }
        return cuts;
    }

    /** One round trip deciding {@code part}'s groups; a failure fails (closed) those groups alone. */
    private void roundTrip(Session session, TableName table, TableFacts facts, List<Map.Entry<Identity, Group>> part,
            String[][] keys) {
        try {
            visibleRows(session.connection(), table, facts, part, keys);
        } catch (SQLException e) {
            fail(session, table, part.stream().map(Map.Entry::getValue).toList(), e);
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
        try (PreparedStatement ps = own.connection().prepareStatement("""
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
     * may select: one query per group, all of {@code groups} in one round trip on {@code connection}.
     */
    private void visibleRows(Connection connection, TableName table, TableFacts facts,
            List<Map.Entry<Identity, Group>> groups, String[][] keys) throws SQLException {
        StringBuilder sql = new StringBuilder();
        String one = visibleQuery(table, facts.key, facts.keyTypes);
        for (int i = 0; i < groups.size(); i++) {
            sql.append(i == 0 ? "" : "; ").append(one);
        }
        try (PreparedStatement q = connection.prepareStatement(sql.toString())) {
            int p = 1;
            for (var entry : groups) {
                Identity who = entry.getKey();
                BitSet rows = entry.getValue().rows;
                q.setString(p++, who.role());
                q.setString(p++, who.claims());
                q.setString(p++, who.sub());
                q.setString(p++, who.role());
                if (facts.keyTypes == null) {
                    q.setString(p++, keyArray(rows, keys[0]));
                } else {
                    Integer[] indexes = new Integer[rows.cardinality()];
                    int n = 0;
                    for (int e = rows.nextSetBit(0); e >= 0; e = rows.nextSetBit(e + 1)) {
                        indexes[n++] = e;
                    }
                    q.setArray(p++, connection.createArrayOf("int4", indexes));
                    for (String[] column : keys) {
                        String[] values = new String[n];
                        for (int i = 0; i < n; i++) {
                            values[i] = column[indexes[i]];
                        }
                        q.setArray(p++, connection.createArrayOf("text", values));
                    }
                }
                q.setString(p++, who.role());
            }
            queries.add(groups.size());
            q.execute();
            for (var entry : groups) {
                if (!q.getMoreResults()) {
                    throw new SQLException("the visibility query returned no rows result");
                }
                try (ResultSet r = q.getResultSet()) {
                    while (r.next()) {
                        entry.getValue().visible.set(r.getInt(1));
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

    /**
     * The keys of the queried changes, made once for all groups, by change index (null: not
     * queried): with key types, one array per key column of each value as text ({@link #text});
     * without, one array of {@code {"id":1,"<INDEX>":index}} objects.
     */
    private static String[][] keyList(TableFacts facts, List<ChangeEvent> events, List<Map.Entry<Identity, Group>> groups) {
        List<String> key = facts.key;
        String[][] made = new String[facts.keyTypes == null ? 1 : key.size()][events.size()];
        boolean[] done = new boolean[events.size()];
        for (var entry : groups) {
            BitSet rows = entry.getValue().rows;
            for (int e = rows.nextSetBit(0); e >= 0; e = rows.nextSetBit(e + 1)) {
                if (done[e]) {
                    continue;
                }
                done[e] = true;
                Row row = events.get(e).record();
                if (facts.keyTypes != null) {
                    for (int k = 0; k < key.size(); k++) {
                        made[k][e] = text(row.json(key.get(k)));
                    }
                    continue;
                }
                StringBuilder one = new StringBuilder("{");
                for (String k : key) {
                    String value = row.json(k);
                    one.append('"').append(JsonStringEncoder.getInstance().quoteAsString(k)).append("\":")
                            .append(value == null ? "null" : value).append(',');
                }
                made[0][e] = one.append('"').append(INDEX).append("\":").append(e).append('}').toString();
            }
        }
        return made;
    }

    /**
     * A scalar value's text, as the type's input reads it: what {@code jsonb_populate_record} hands
     * it (a string's contents, a number or boolean as written); null for JSON null or no value.
     */
    private static String text(String json) {
        if (json == null || json.equals("null")) {
            return null;
        }
        if (json.isEmpty() || json.charAt(0) != '"') {
            return json;
        }
        if (json.indexOf('\\') < 0) {
            return json.substring(1, json.length() - 1);
        }
        try {
            return JSON.readTree(json).textValue();
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("a key value is not JSON: " + json, e);
        }
    }

    /** The keys of the {@code rows} changes as a JSON array. */
    private static String keyArray(BitSet rows, String[] keys) {
        StringBuilder out = new StringBuilder("[");
        for (int e = rows.nextSetBit(0); e >= 0; e = rows.nextSetBit(e + 1)) {
            out.append(out.length() == 1 ? "" : ",").append(keys[e]);
        }
        return out.append(']').toString();
    }

    /**
     * The statements of one group: the role and claims, local to the implicit transaction that
     * lasts until the round trip's Sync, then the change indexes of the given keys whose rows that
     * role may select. The select is planned after the settings ran, so as that role with its
     * policies; it also checks that the role took effect ({@code current_user}), so that a setting
     * that did not apply yields nothing rather than the rows a superuser sees. {@code OFFSET 0} keeps
     * the {@code EXISTS} a probe of the primary key per change: without it PostgreSQL may turn it
     * into a join that reads every row the policy lets the role see (with {@code user_id = auth.uid()}
     * and an index on {@code user_id}: all the user's rows), a cost that grows with the table.
     *
     * <p>With {@code keyTypes} the keys come as one array of change indexes and one text array per
     * key column, cast to the column's type: the values are read by the type's input as
     * {@code jsonb_populate_record} would read them, without building a record of the whole row
     * per change (a quarter less time per key in {@code EXPLAIN ANALYZE}). Without (a key column of an
     * array, composite, JSON or nested domain type, which {@code jsonb_populate_record} reads from
     * JSON structure), the keys come as one JSON array of objects carrying their change's index.
     */
    static String visibleQuery(TableName table, List<String> key, List<String> keyTypes) {
        String t = Identifiers.quote(table.schema()) + "." + Identifiers.quote(table.table());
        StringBuilder on = new StringBuilder();
        StringBuilder from = new StringBuilder("ROWS FROM (pg_catalog.unnest(?::int4[])");
        StringBuilder names = new StringBuilder("i");
        for (int k = 0; k < key.size(); k++) {
            String c = Identifiers.quote(key.get(k));
            String value = keyTypes == null ? "r." + c : "k.c" + k;
            on.append(on.isEmpty() ? "" : " AND ").append("t.").append(c).append(" = ").append(value);
            if (keyTypes != null) {
                from.append(", pg_catalog.unnest(?::text[]::").append(keyTypes.get(k)).append("[])");
                names.append(", c").append(k);
            }
        }
        String keys = keyTypes != null ? "SELECT k.i FROM " + from + ") AS k(" + names + ")"
                : "SELECT (k.j ->> '" + INDEX + "')::int FROM pg_catalog.jsonb_array_elements(?::jsonb) AS k(j)"
                        + " CROSS JOIN LATERAL pg_catalog.jsonb_populate_record(NULL::" + t + ", k.j) AS r";
        return "SELECT pg_catalog.set_config('role', ?, true), pg_catalog.set_config('request.jwt.claims', ?, true),"
                + " pg_catalog.set_config('request.jwt.claim.sub', ?, true), pg_catalog.set_config('request.jwt.claim.role', ?, true);"
                + " " + keys + " WHERE current_user = ?::name AND EXISTS (SELECT 1 FROM " + t + " t WHERE " + on + " OFFSET 0)";
    }

    /** Fail closed: none of the changes {@code groups} were deciding is delivered; a broken connection is reopened next time. */
    private void fail(Session session, TableName table, Iterable<Group> groups, SQLException e) {
        int n = 0;
        for (Group g : groups) {
            n += g.needed.cardinality();
            g.visible.clear();
        }
        failed.add(n);
        log.warn("row security check of {} failed, {} changes not delivered (fail closed): {}", table, n,
                e.getMessage().lines().findFirst().orElse(""));
        session.failed(e);
    }

    private TableFacts facts(TableName table) throws SQLException {
        TableFacts f = tables.get(table);
        if (f != null && System.nanoTime() - f.at < TTL_NANOS) {
            return f;
        }
        try (PreparedStatement ps = own.connection().prepareStatement("""
                SELECT c.relrowsecurity, coalesce(p.names, '{}'), coalesce(p.types, '{}')
                FROM pg_catalog.pg_class c, LATERAL (SELECT pg_catalog.array_agg(a.attname::text ORDER BY k.n),
                        pg_catalog.array_agg(CASE WHEN b.typtype = 'd' OR b.typcategory IN ('A', 'C')
                                OR b.oid IN ('pg_catalog.json'::pg_catalog.regtype, 'pg_catalog.jsonb'::pg_catalog.regtype)
                            THEN NULL ELSE pg_catalog.format_type(a.atttypid, a.atttypmod) END ORDER BY k.n)
                        FROM pg_catalog.pg_index i
                        JOIN pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
                        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                        JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
                        JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END
                        WHERE i.indrelid = c.oid AND i.indisprimary) AS p(names, types)
                WHERE c.oid = pg_catalog.to_regclass(?)""")) {
            ps.setString(1, Identifiers.quote(table.schema()) + "." + Identifiers.quote(table.table()));
            try (ResultSet r = ps.executeQuery()) {
                if (!r.next()) {
                    throw new SQLException("table " + table + " does not exist (any more)");
                }
                List<String> key = List.of((String[]) r.getArray(2).getArray());
                List<String> types = Arrays.asList((String[]) r.getArray(3).getArray());
                f = new TableFacts(key, types.contains(null) ? null : List.copyOf(types), r.getBoolean(1), System.nanoTime());
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
        try (PreparedStatement ps = own.connection().prepareStatement("""
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
        checker.interrupt();
        dispatcher.interrupt();
        trips.shutdownNow();
        try {
            checker.join(2_000);
            dispatcher.join(2_000);
            trips.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Session s : all) {
            s.close();
        }
    }
}
