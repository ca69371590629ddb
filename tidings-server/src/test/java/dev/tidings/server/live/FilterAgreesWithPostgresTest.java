package dev.tidings.server.live;

import dev.tidings.base.Lsn;
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
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every filter operator, negated or not, decided by {@link Filter} on a random row exactly as
 * PostgreSQL decides {@code column op literal::type} on the same row: random rows with NULLs,
 * text under the C collation, the database default and an ICU collation (where code point order
 * and the collation's differ), an enum declared out of alphabetical order, numbers, floats with
 * NaN and infinities, booleans, times, uuids, char(n).
 */
@Tag("postgres")
class FilterAgreesWithPostgresTest {
    private static final String[] TEXTS = {"a", "B", "b", "A", "é", "E", "ab", "a b", "_", "%", "Z", "ä", "-1", "10", "9", "", "aB",
            "zz", "Éa", "a,b", "(x)", "\"q\"", "o'k"};
    private static final Map<String, String[]> POOLS = new LinkedHashMap<>();

    static {
        POOLS.put("n", new String[] {"1", "-5", "100", "0", "2147483647", "9"});
        POOLS.put("x", new String[] {"1.50", "1.5", "NaN", "-3", "100", "1e2", "Infinity", "-Infinity", "0.000"});
        POOLS.put("f", new String[] {"1.5", "NaN", "-0", "0", "Infinity", "-Infinity", "1e10", "0.1", "3"});
        POOLS.put("r", new String[] {"0.1", "1.5", "NaN", "1e-3", "-2"});
        POOLS.put("tc", TEXTS);
        POOLS.put("ti", TEXTS);
        POOLS.put("td", TEXTS);
        POOLS.put("v", TEXTS);
        POOLS.put("b", new String[] {"true", "false", "t", "f", "yes"});
        POOLS.put("m", new String[] {"sad", "ok", "happy"});
        POOLS.put("ts", new String[] {"2024-05-01 12:00:00+00", "2024-05-01 14:00:00+02", "2024-05-01 12:00:00.5+00",
                "2023-01-01 00:00:00+00", "infinity", "-infinity"});
        POOLS.put("dt", new String[] {"2024-05-01", "2024-04-30", "2025-01-01", "infinity"});
        POOLS.put("g", new String[] {"6f1c1a52-3d3a-4c53-9b1a-0b7e0c6a1c11", "6F1C1A52-3D3A-4C53-9B1A-0B7E0C6A1C11",
                "00000000-0000-0000-0000-000000000001"});
        POOLS.put("c", new String[] {"ab", "ab  ", "b", "a"});
        POOLS.put("j", new String[] {"{\"a\": 1}", "{\"a\":2}", "[1, 2]", "1"});
    }

    private static final List<String> TEXTUAL = List.of("tc", "ti", "td", "v", "c");
    private static final AtomicInteger ids = new AtomicInteger();
    private static String url;
    private static Connection db;
    private static Map<String, ColumnType> columns;
    private static List<Column> eventColumns;
    private static DatabaseConditions conditions;
    private static int agreedMatches;

    record Condition(String column, String op, boolean negated, List<String> literals) {}

    @BeforeContainer
    static void start() throws SQLException {
        url = TestPostgres.newDatabase();
        db = TestPostgres.connect(url);
        String icu = icuCollation();
        try (Statement s = db.createStatement()) {
            s.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
            s.execute("CREATE TABLE r (id int PRIMARY KEY, n int4, x numeric, f float8, r float4, tc text COLLATE \"C\", ti text COLLATE "
                    + icu + ", td text, v varchar(20), b bool, m mood, ts timestamptz, dt date, g uuid, c char(5), j jsonb)");
        }
        var catalog = new dev.tidings.server.realtime.TableCatalog(DatabaseUrl.parse(url));
        columns = catalog.columns("public", "r");
        conditions = catalog.conditions();
        eventColumns = new ArrayList<>();
        columns.forEach((name, type) -> eventColumns.add(new Column(name, type.name(), 0, name.equals("id"))));
        assertThat(columns.get("ti").codePoint()).as("an ICU collation does not sort by code point").isFalse();
        assertThat(columns.get("tc").codePoint()).isTrue();
        assertThat(columns.get("m").enumLabels()).containsExactly("sad", "ok", "happy");
    }

    /** An ICU collation whose order differs from code point order. */
    private static String icuCollation() throws SQLException {
        try (Statement s = db.createStatement(); ResultSet r = s.executeQuery(
                "SELECT collname FROM pg_collation WHERE collprovider = 'i' AND collname IN ('en-x-icu', 'und-x-icu') ORDER BY collname")) {
            assertThat(r.next()).as("PostgreSQL was built with ICU").isTrue();
            return "\"" + r.getString(1) + "\"";
        }
    }

    @AfterContainer
    static void stop() throws SQLException {
        conditions.close();
        db.close();
        assertThat(agreedMatches).as("some conditions matched, so the property is not only about non-matches").isPositive();
    }

    @Provide
    Arbitrary<Map<String, String>> rows() {
        List<Arbitrary<String>> values = new ArrayList<>();
        for (Map.Entry<String, String[]> e : POOLS.entrySet()) {
            values.add(Arbitraries.of(e.getValue()).injectNull(0.2));
        }
        return Combinators.combine(values).as(list -> {
            Map<String, String> row = new LinkedHashMap<>();
            int i = 0;
            for (String column : POOLS.keySet()) {
                row.put(column, list.get(i++));
            }
            return row;
        });
    }

    @Provide
    Arbitrary<Condition> conditions() {
        return Arbitraries.of(POOLS.keySet().toArray(String[]::new)).flatMap(column -> {
            List<String> ops = new ArrayList<>(List.of("eq", "neq", "lt", "lte", "gt", "gte", "in", "is", "isdistinct"));
            if (TEXTUAL.contains(column)) {
                ops.addAll(List.of("like", "ilike", "match", "imatch"));
            }
            if (column.equals("j")) {
                ops.removeAll(List.of("lt", "lte", "gt", "gte")); // jsonb has them, but keep its ordering out of scope
            }
            Arbitrary<String> literal = switch (column) {
                case "tc", "ti", "td", "v", "c" -> Arbitraries.oneOf(Arbitraries.of(TEXTS), Arbitraries.of("a%", "%b", "_", "A_", "%é%", "^a", "b$", "[aé]", "A."));
                default -> Arbitraries.of(POOLS.get(column));
            };
            Arbitrary<List<String>> literals = Arbitraries.of(ops).flatMap(op -> values(op, column, literal).map(l -> {
                List<String> withOp = new ArrayList<>();
                withOp.add(op);
                withOp.addAll(l);
                return withOp;
            }));
            return Combinators.combine(literals, Arbitraries.of(true, false))
                    .as((l, negated) -> new Condition(column, l.get(0), negated, l.subList(1, l.size())));
        });
    }

    private static Arbitrary<List<String>> values(String op, String column, Arbitrary<String> literal) {
        return switch (op) {
            case "in" -> Arbitraries.oneOf(literal, Arbitraries.just("null")).list().ofMinSize(1).ofMaxSize(3);
            case "is" -> Arbitraries.of(column.equals("b") ? new String[] {"null", "true", "false", "unknown"} : new String[] {"null"})
                    .map(List::of);
            default -> literal.map(List::of);
        };
    }

    @Property(tries = 400)
    void every_operator_agrees_with_postgresql_on_random_rows(@ForAll("rows") Map<String, String> row,
            @ForAll("conditions") Condition a, @ForAll("conditions") Condition b) throws SQLException {
        int id = insert(row);
        ChangeEvent event = event(id);
        for (Condition c : List.of(a, b)) {
            boolean expected = postgres(id, sql(c));
            assertThat(resolved(filterText(c)).matches(event))
                    .as("%s on %s (PostgreSQL: %s)", filterText(c), row, expected).isEqualTo(expected);
            assertThat(Filter.parse(filterText(c)).resolve(columns, conditions).matches(event)).isEqualTo(expected);
            agreedMatches += expected ? 1 : 0;
        }
        String both = filterText(a) + "," + filterText(b);
        assertThat(resolved(both).matches(event)).as("%s on %s", both, row)
                .isEqualTo(postgres(id, "(" + sql(a) + ") AND (" + sql(b) + ")"));
    }

    private static Filter resolved(String text) {
        return Filter.parse(text).resolve(columns, conditions);
    }

    private static int insert(Map<String, String> row) throws SQLException {
        int id = ids.incrementAndGet();
        StringBuilder sql = new StringBuilder("INSERT INTO r (id");
        StringBuilder values = new StringBuilder(") VALUES (" + id);
        for (Map.Entry<String, String> e : row.entrySet()) {
            sql.append(", ").append(e.getKey());
            values.append(", ").append(e.getValue() == null ? "NULL" : quote(e.getValue()));
        }
        try (Statement s = db.createStatement()) {
            s.execute(sql.append(values).append(")").toString());
        }
        return id;
    }

    /** The row as the decoder renders it: {@code to_jsonb} text of every column. */
    private static ChangeEvent event(int id) throws SQLException {
        String[] values = new String[eventColumns.size()];
        StringBuilder select = new StringBuilder("SELECT ");
        for (int i = 0; i < values.length; i++) {
            select.append(i == 0 ? "" : ", ").append("to_jsonb(").append(eventColumns.get(i).name()).append(")::text");
        }
        try (Statement s = db.createStatement(); ResultSet r = s.executeQuery(select + " FROM r WHERE id = " + id)) {
            r.next();
            for (int i = 0; i < values.length; i++) {
                values[i] = r.getString(i + 1) == null ? "null" : r.getString(i + 1);
            }
        }
        return new ChangeEvent(Op.INSERT, "public", "r", eventColumns, new Row(eventColumns, values), null, List.of(),
                new Transaction(1, Lsn.ZERO, Instant.EPOCH), 0, Lsn.ZERO, null);
    }

    private static boolean postgres(int id, String condition) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT COALESCE((" + condition + "), false) FROM r WHERE id = ?")) {
            ps.setInt(1, id);
            try (ResultSet r = ps.executeQuery()) {
                r.next();
                return r.getBoolean(1);
            }
        }
    }

    /** The condition in SQL, written independently of the code under test: {@code column op literal::type}. */
    private static String sql(Condition c) {
        String type = columns.get(c.column()).sqlName();
        String literal = c.literals().isEmpty() ? null : quote(c.literals().get(0)) + "::" + type;
        String expr = switch (c.op()) {
            case "eq" -> c.column() + " = " + literal;
            case "neq" -> c.column() + " <> " + literal;
            case "lt" -> c.column() + " < " + literal;
            case "lte" -> c.column() + " <= " + literal;
            case "gt" -> c.column() + " > " + literal;
            case "gte" -> c.column() + " >= " + literal;
            case "like" -> c.column() + " LIKE " + literal;
            case "ilike" -> c.column() + " ILIKE " + literal;
            case "match" -> c.column() + " ~ " + literal;
            case "imatch" -> c.column() + " ~* " + literal;
            case "in" -> c.column() + " = ANY (ARRAY[" + String.join(", ", c.literals().stream()
                    .map(l -> l.equals("null") ? "NULL" : quote(l)).toList()) + "]::" + type + "[])";
            case "isdistinct" -> c.column() + (c.negated() ? " IS NOT DISTINCT FROM " : " IS DISTINCT FROM ") + literal;
            case "is" -> c.column() + (c.negated() ? " IS NOT " : " IS ") + c.literals().get(0).toUpperCase();
            default -> throw new AssertionError(c.op());
        };
        return c.negated() && !c.op().equals("is") && !c.op().equals("isdistinct") ? "NOT (" + expr + ")" : expr;
    }

    /** The condition as realtime-js users write it; values with special characters in double quotes. */
    private static String filterText(Condition c) {
        String prefix = c.column() + "=" + (c.negated() ? "not." : "") + c.op() + ".";
        if (c.op().equals("in")) {
            return prefix + "(" + String.join(",", c.literals().stream().map(l -> l.equals("null") ? l : quoted(l)).toList()) + ")";
        }
        return prefix + (c.op().equals("is") ? c.literals().get(0) : quoted(c.literals().get(0)));
    }

    private static String quoted(String v) {
        return "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String quote(String v) {
        return "'" + v.replace("'", "''") + "'";
    }
}
