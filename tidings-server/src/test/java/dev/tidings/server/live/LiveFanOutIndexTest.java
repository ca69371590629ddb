package dev.tidings.server.live;

import dev.tidings.base.Lsn;
import dev.tidings.base.TableFilter;
import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.testing.TestPostgres;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The indexed fan-out reaches exactly the subscribers a scan of every subscription would: random
 * filters (eq and in, which are indexed, beside neq, gt, is, like, {@code not.} and conjunctions,
 * which are not), resolved against the catalog or compared by the change's types as SSE does, on
 * random inserts, updates and key-only deletes of numbers of different scale, floats with NaN and
 * -0, text, char(n), booleans, an enum, uuids in either case and instants in other offsets; each
 * subscriber with one or two interests over the table, its schema or every table.
 */
@Tag("postgres")
class LiveFanOutIndexTest {
    private static final Map<String, String[]> POOLS = new LinkedHashMap<>();

    static {
        POOLS.put("id", new String[] {"1", "2", "3", "100"});
        POOLS.put("x", new String[] {"1.5", "1.50", "2", "0.000", "100", "NaN"});
        POOLS.put("f", new String[] {"1.5", "NaN", "Infinity", "0", "-0", "100"});
        POOLS.put("t", new String[] {"a", "A", "é", "a b", "1"});
        POOLS.put("d", new String[] {"a", "A", "é", "a b"});
        POOLS.put("b", new String[] {"true", "false"});
        POOLS.put("m", new String[] {"sad", "ok", "happy"});
        POOLS.put("g", new String[] {"6f1c1a52-3d3a-4c53-9b1a-0b7e0c6a1c11", "00000000-0000-0000-0000-000000000001"});
        POOLS.put("ts", new String[] {"2024-05-01 12:00:00+00", "2023-01-01 00:00:00+00", "infinity"});
        POOLS.put("c", new String[] {"ab", "b"});
    }

    /** Literals as filters write them: other spellings of the row values, and values no row has. */
    private static final Map<String, String[]> LITERALS = Map.of(
            "id", new String[] {"1", "2", "3", "100", "01", "7"},
            "x", new String[] {"1.5", "1.500", "2", "0", "1e2", "NaN", "9"},
            "f", new String[] {"1.5", "NaN", "Infinity", "0", "-0", "1e2", "7"},
            "t", new String[] {"a", "A", "é", "\"a b\"", "1", "z"},
            "d", new String[] {"a", "A", "é", "z"},
            "b", new String[] {"true", "false", "t", "no"},
            "m", new String[] {"sad", "ok", "happy"},
            "g", new String[] {"6F1C1A52-3D3A-4C53-9B1A-0B7E0C6A1C11", "00000000-0000-0000-0000-000000000001"},
            "ts", new String[] {"2024-05-01 14:00:00+02", "2023-01-01", "infinity", "2020-01-01"},
            "c", new String[] {"ab", "\"ab  \"", "b", "x"});

    private static final TableName TABLE = new TableName("public", "r");
    private static Connection db;
    private static Map<String, ColumnType> columns;
    private static List<Column> eventColumns;
    private static DatabaseConditions conditions;
    /** column → pool value → its {@code to_jsonb} text, as the decoder renders it. */
    private static final Map<String, Map<String, String>> JSON = new HashMap<>();
    private static final Map<String, Filter> RESOLVED = new HashMap<>();
    private static int delivered;

    @BeforeContainer
    static void start() throws SQLException {
        String url = TestPostgres.newDatabase();
        db = TestPostgres.connect(url);
        try (Statement s = db.createStatement()) {
            s.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
            s.execute("CREATE TABLE r (id int8 PRIMARY KEY, x numeric, f float8, t text COLLATE \"C\", d text, b bool,"
                    + " m mood, g uuid, ts timestamptz, c char(5))");
        }
        var catalog = new dev.tidings.server.realtime.TableCatalog(DatabaseUrl.parse(url));
        columns = catalog.columns("public", "r");
        conditions = catalog.conditions();
        eventColumns = new ArrayList<>();
        columns.forEach((name, type) -> eventColumns.add(new Column(name, type.name(), 0, name.equals("id"))));
        for (var pool : POOLS.entrySet()) {
            Map<String, String> json = new HashMap<>();
            for (String v : pool.getValue()) {
                try (Statement s = db.createStatement(); ResultSet r = s.executeQuery("SELECT to_jsonb('" + v + "'::"
                        + columns.get(pool.getKey()).sqlName() + ")::text")) {
                    r.next();
                    json.put(v, r.getString(1));
                }
            }
            JSON.put(pool.getKey(), json);
        }
    }

    @AfterContainer
    static void stop() throws SQLException {
        conditions.close();
        db.close();
        assertThat(delivered).as("some changes matched, so the property is not only about non-matches").isPositive();
    }

    record Subscription(List<LiveFanOut.Interest> interests) {}

    @Provide
    Arbitrary<List<ChangeEvent>> changes() {
        List<Arbitrary<String>> values = new ArrayList<>();
        for (String column : POOLS.keySet()) {
            Arbitrary<String> v = Arbitraries.of(POOLS.get(column)).map(x -> JSON.get(column).get(x));
            values.add(column.equals("id") ? v : v.injectNull(0.15).map(x -> x == null ? "null" : x));
        }
        Arbitrary<String[]> rows = Combinators.combine(values).as(l -> l.toArray(String[]::new));
        Arbitrary<ChangeEvent> change = Combinators.combine(Arbitraries.of(Op.INSERT, Op.UPDATE, Op.DELETE), rows,
                Arbitraries.of("r", "other")).as((op, row, table) -> {
            String[] key = new String[row.length];
            key[0] = row[0];
            Row record = op == Op.DELETE ? null : new Row(eventColumns, row);
            Row old = op == Op.DELETE ? new Row(eventColumns, key) : null; // replica identity default: the key only
            return new ChangeEvent(op, "public", table, eventColumns, record, old, List.of(),
                    new Transaction(1, Lsn.ZERO, Instant.EPOCH), 0, Lsn.ZERO, null);
        });
        return change.list().ofMinSize(1).ofMaxSize(15);
    }

    @Provide
    Arbitrary<List<Subscription>> subscriptions() {
        Arbitrary<String> condition = Arbitraries.of(POOLS.keySet().toArray(String[]::new)).flatMap(column -> {
            Arbitrary<String> literal = Arbitraries.of(LITERALS.get(column));
            Arbitrary<String> ops = Arbitraries.oneOf(
                    literal.map(l -> "eq." + l),
                    Arbitraries.oneOf(literal, Arbitraries.just("null")).list().ofMinSize(1).ofMaxSize(3)
                            .map(l -> "in.(" + String.join(",", l) + ")"),
                    literal.map(l -> "neq." + l),
                    literal.map(l -> "gt." + l),
                    Arbitraries.just("is.null"),
                    column.equals("t") ? literal.map(l -> "like." + l + "%") : literal.map(l -> "eq." + l));
            return Combinators.combine(ops, Arbitraries.of("", "", "", "not."))
                    .as((op, not) -> column + "=" + not + op);
        });
        Arbitrary<String> filter = Arbitraries.oneOf(condition, condition.list().ofSize(2).map(l -> String.join(",", l)),
                Arbitraries.just(""));
        Arbitrary<TableFilter> scope = Arbitraries.of(TableFilter.table(TABLE), TableFilter.table(TABLE),
                TableFilter.schema("public"), TableFilter.ALL);
        Arbitrary<LiveFanOut.Interest> interest = Combinators.combine(scope, filter, Arbitraries.of(true, false))
                .as((tables, text, resolve) -> new LiveFanOut.Interest(tables, resolve ? resolved(text) : Filter.parse(text)));
        return interest.list().ofMinSize(1).ofMaxSize(2).map(Subscription::new).list().ofMinSize(1).ofMaxSize(40);
    }

    /** The filter bound to the catalog, or as SSE has it when PostgreSQL refuses a literal ({@code id=eq.z}). */
    private static Filter resolved(String text) {
        return RESOLVED.computeIfAbsent(text, t -> {
            try {
                return Filter.parse(t).resolve(columns, conditions);
            } catch (IllegalArgumentException e) {
                return Filter.parse(t);
            }
        });
    }

    /** What a channel does: counts the change when one of its interests matches it. */
    private static final class Recorder implements LiveFanOut.Subscriber {
        final Subscription subscription;
        final List<ChangeEvent> got = new ArrayList<>();
        final java.util.Set<ChangeEvent> reached = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

        Recorder(Subscription subscription) {
            this.subscription = subscription;
        }

        @Override
        public void deliver(ChangeEvent event, LiveFanOut.EventBytes bytes) {
            assertThat(reached.add(event)).as("each change reaches a subscriber once").isTrue();
            if (wants(subscription, event)) {
                got.add(event);
            }
        }
    }

    private static boolean wants(Subscription s, ChangeEvent event) {
        return s.interests().stream().anyMatch(i -> i.tables().matches(event.tableName()) && i.rows().matches(event));
    }

    @Property(tries = 300)
    void the_index_reaches_every_subscriber_a_scan_would_and_each_once(
            @ForAll("subscriptions") List<Subscription> subscriptions, @ForAll("changes") List<ChangeEvent> changes) {
        LiveFanOut fanOut = new LiveFanOut();
        List<Recorder> recorders = subscriptions.stream().map(Recorder::new).toList();
        for (Recorder r : recorders) {
            fanOut.subscribe(r, r.subscription.interests());
        }
        for (ChangeEvent change : changes) {
            fanOut.publish(change);
        }
        for (Recorder r : recorders) {
            List<ChangeEvent> scanned = changes.stream().filter(c -> wants(r.subscription, c)).toList();
            assertThat(r.got).as("%s", r.subscription).containsExactlyElementsOf(scanned);
            delivered += scanned.size();
        }
        recorders.forEach(fanOut::unsubscribe);
        assertThat(fanOut.size()).isZero();
        fanOut.publish(changes.get(0));
        assertThat(recorders).allMatch(r -> r.got.size() == changes.stream().filter(c -> wants(r.subscription, c)).count());
    }

    @net.jqwik.api.Example
    void a_change_reaches_only_the_subscribers_of_its_value_resolved_or_not() {
        LiveFanOut fanOut = new LiveFanOut();
        int[] reached = new int[1];
        LiveFanOut.Subscriber counter = (event, bytes) -> reached[0]++;
        for (int n = 0; n < 1000; n++) {
            Filter f = Filter.parse("id=eq." + n);
            LiveFanOut.Subscriber s = (event, bytes) -> counter.deliver(event, bytes);
            fanOut.subscribe(s, List.of(new LiveFanOut.Interest(TableFilter.table(TABLE), n % 2 == 0 ? resolved("id=eq." + n) : f)));
        }
        LiveFanOut.Subscriber everyChange = (event, bytes) -> reached[0]++;
        fanOut.subscribe(everyChange, TableFilter.table(TABLE));
        String[] row = new String[eventColumns.size()];
        java.util.Arrays.fill(row, "null");
        for (int id : new int[] {4, 5, 5000}) {
            row[0] = Integer.toString(id);
            reached[0] = 0;
            fanOut.publish(new ChangeEvent(Op.INSERT, "public", "r", eventColumns, new Row(eventColumns, row), null, List.of(),
                    new Transaction(1, Lsn.ZERO, Instant.EPOCH), 0, Lsn.ZERO, null));
            assertThat(reached[0]).as("id %d: its own subscriber and the one without a filter", id).isEqualTo(id < 1000 ? 2 : 1);
        }
    }
}
