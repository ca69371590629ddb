package dev.tidings.value;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Op;
import dev.tidings.testing.Json;
import dev.tidings.testing.Streams;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.function.Function;

import static dev.tidings.value.RandomValuesAgreeWithToJsonbTest.arrayElement;
import static dev.tidings.value.RandomValuesAgreeWithToJsonbTest.float8;
import static dev.tidings.value.RandomValuesAgreeWithToJsonbTest.json;
import static dev.tidings.value.RandomValuesAgreeWithToJsonbTest.pair;
import static dev.tidings.value.RandomValuesAgreeWithToJsonbTest.repeat;
import static dev.tidings.value.RandomValuesAgreeWithToJsonbTest.text;
import static dev.tidings.value.RandomValuesAgreeWithToJsonbTest.time;
import static dev.tidings.value.RandomValuesAgreeWithToJsonbTest.timestamp;
import static dev.tidings.value.RandomValuesAgreeWithToJsonbTest.offset;
import static dev.tidings.value.RandomValuesAgreeWithToJsonbTest.zone;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The value oracle end to end: a table with a column of every built-in type (and user
 * types), random rows written by SQL, and every event that comes through the real replication
 * stream must carry in {@code record} — and under REPLICA IDENTITY FULL in {@code old_record} —
 * exactly what {@code to_jsonb} of the row gives. The random seed is fixed; {@code -Dtidings.test.seed=N}
 * explores others.
 */
@Tag("postgres")
class ValuesThroughReplicationTest {
    private static final long SEED = Long.getLong("tidings.test.seed", 20261127L);
    private static final int ROWS = 300;
    private static final int ROWS_PER_TRANSACTION = 25;

    private final int major = TestPostgres.majorVersion();
    private final Map<String, Function<Random, String>> columns = new LinkedHashMap<>();

    @Test
    void every_type_arrives_as_to_jsonb_in_record_and_old_record() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
                    "CREATE DOMAIN posint AS int4 CHECK (VALUE > 0)",
                    "CREATE TYPE pair AS (x int4, label text)",
                    "CREATE TYPE floatrange AS RANGE (subtype = float8)");
            defineColumns();
            StringBuilder ddl = new StringBuilder("CREATE TABLE every_type (id int PRIMARY KEY");
            columns.keySet().forEach(type -> ddl.append(", ").append(column(type)).append(' ').append(type));
            s.sql(ddl.append(')').toString(), "ALTER TABLE every_type REPLICA IDENTITY FULL");
            s.start();
            Random random = new Random(SEED);

            for (int first = 1; first <= ROWS; first += ROWS_PER_TRANSACTION) {
                List<String> inserts = new ArrayList<>();
                for (int id = first; id < first + ROWS_PER_TRANSACTION; id++) {
                    inserts.add(insert(id, random));
                }
                s.transaction(inserts.toArray(String[]::new));
            }
            Map<Integer, JsonNode> inserted = snapshot(s);
            List<ChangeEvent> insertEvents = s.collector.await(ROWS, Duration.ofSeconds(60));
            List<String> problems = new ArrayList<>();
            for (ChangeEvent e : insertEvents) {
                compare(problems, e, "record", Json.row(e.record()), inserted);
            }

            List<String> changes = new ArrayList<>();
            for (int id = 1; id <= ROWS; id++) {
                changes.add(id % 10 == 0 ? "DELETE FROM every_type WHERE id = " + id : update(id, random));
            }
            for (int i = 0; i < changes.size(); i += ROWS_PER_TRANSACTION) {
                s.transaction(changes.subList(i, i + ROWS_PER_TRANSACTION).toArray(String[]::new));
            }
            Map<Integer, JsonNode> updated = snapshot(s);
            List<ChangeEvent> all = s.collector.await(2 * ROWS, Duration.ofSeconds(60));
            for (ChangeEvent e : all.subList(ROWS, 2 * ROWS)) {
                compare(problems, e, "old_record", Json.row(e.oldRecord()), inserted);
                if (e.op() == Op.UPDATE) {
                    compareNewRecord(problems, e, inserted, updated);
                } else {
                    assertThat(e.op()).isEqualTo(Op.DELETE);
                    assertThat(e.record()).isNull();
                }
            }
            assertThat(problems).as("seed %d, PostgreSQL %d", SEED, major).isEmpty();
        }
    }

    private void compare(List<String> problems, ChangeEvent e, String what, JsonNode actual, Map<Integer, JsonNode> rows) {
        int id = actual.get("id").asInt();
        JsonNode expected = rows.get(id);
        if (!expected.equals(actual)) {
            problems.add(e.op() + " of row " + id + ", " + what + ": " + differences(expected, actual));
        }
    }

    /** An update's new row; TOASTed values it did not change may be left out (and then must not have changed). */
    private static void compareNewRecord(List<String> problems, ChangeEvent e, Map<Integer, JsonNode> before,
                                         Map<Integer, JsonNode> after) {
        JsonNode actual = Json.row(e.record());
        int id = actual.get("id").asInt();
        ObjectNode expected = after.get(id).deepCopy();
        for (String column : e.unchangedToast()) {
            if (!before.get(id).get(column).equals(after.get(id).get(column))) {
                problems.add("row " + id + ": " + column + " changed but is listed as unchanged TOAST");
            }
            expected.remove(column);
        }
        if (!expected.equals(actual)) {
            problems.add("update of row " + id + ", record: " + differences(expected, actual));
        }
    }

    private static String differences(JsonNode expected, JsonNode actual) {
        StringBuilder b = new StringBuilder();
        expected.fieldNames().forEachRemaining(name -> {
            if (!expected.get(name).equals(actual.get(name))) {
                b.append("\n    ").append(name).append(": to_jsonb ").append(expected.get(name))
                        .append(", event ").append(actual.get(name));
            }
        });
        actual.fieldNames().forEachRemaining(name -> {
            if (!expected.has(name)) {
                b.append("\n    ").append(name).append(": not in to_jsonb, event ").append(actual.get(name));
            }
        });
        return b.toString();
    }

    private static Map<Integer, JsonNode> snapshot(Streams s) {
        Map<Integer, JsonNode> rows = new HashMap<>();
        for (JsonNode row : s.toJsonb("SELECT * FROM every_type")) {
            rows.put(row.get("id").asInt(), row);
        }
        return rows;
    }

    private String insert(int id, Random r) {
        StringBuilder sql = new StringBuilder("INSERT INTO every_type VALUES (").append(id);
        columns.forEach((type, generator) -> sql.append(", ").append(value(type, generator, r)));
        return sql.append(')').toString();
    }

    private String update(int id, Random r) {
        List<String> types = new ArrayList<>(columns.keySet());
        Map<String, String> sets = new LinkedHashMap<>();
        for (int i = 1 + r.nextInt(4); i > 0; i--) {
            String type = types.get(r.nextInt(types.size()));
            sets.put(column(type), column(type) + " = " + value(type, columns.get(type), r));
        }
        return "UPDATE every_type SET " + String.join(", ", sets.values()) + " WHERE id = " + id;
    }

    private static String value(String type, Function<Random, String> generator, Random r) {
        if (r.nextInt(12) == 0) {
            return "NULL";
        }
        return "'" + generator.apply(r).replace("'", "''") + "'::" + type;
    }

    /** The column for a type: c_ and the type name with everything but letters and digits as _. */
    private static String column(String type) {
        return "\"c_" + type.replaceAll("[^a-z0-9]+", "_") + "\"";
    }

    private void defineColumns() {
        columns.put("int2", r -> Integer.toString(r.nextInt(65536) - 32768));
        columns.put("int4", r -> Integer.toString(r.nextInt()));
        columns.put("int8", r -> Long.toString(r.nextLong()));
        columns.put("numeric", RandomValuesAgreeWithToJsonbTest::numeric);
        columns.put("numeric(12,3)", r -> java.math.BigDecimal.valueOf(r.nextInt(2_000_000_000) - 1_000_000_000, 3).toPlainString());
        columns.put("float4", r -> r.nextInt(8) == 0 ? List.of("NaN", "Infinity", "-Infinity", "-0").get(r.nextInt(4))
                : Float.toString(Float.intBitsToFloat(r.nextInt())).replace("Infinity", "1e30").replace("NaN", "0.5"));
        columns.put("float8", r -> r.nextInt(8) == 0 ? List.of("NaN", "Infinity", "-Infinity", "-0").get(r.nextInt(4))
                : float8(r).replace("Infinity", "1e300").replace("NaN", "0.25"));
        columns.put("money", r -> java.math.BigDecimal.valueOf(r.nextLong() % 100_000_000_000L, 2).toPlainString());
        columns.put("bool", r -> r.nextBoolean() ? "t" : "f");
        columns.put("text", r -> text(r, 20));
        columns.put("varchar(12)", r -> text(r, 12));
        columns.put("char(5)", r -> text(r, 5));
        columns.put("name", r -> text(r, 10));
        columns.put("\"char\"", r -> Character.toString('a' + r.nextInt(26)));
        columns.put("bytea", r -> {
            StringBuilder b = new StringBuilder("\\x");
            for (int i = r.nextInt(20); i > 0; i--) {
                b.append(String.format("%02x", r.nextInt(256)));
            }
            return b.toString();
        });
        columns.put("uuid", r -> new UUID(r.nextLong(), r.nextLong()).toString());
        columns.put("json", r -> json(r, 2));
        columns.put("jsonb", r -> json(r, 2));
        columns.put("xml", r -> "<item n=\"" + r.nextInt(100) + "\">" + word(r) + " &amp; " + word(r) + "<b/></item>");
        columns.put("date", r -> r.nextInt(20) == 0 ? (r.nextBoolean() ? "infinity" : "-infinity") : timestamp(r, null));
        columns.put("time", RandomValuesAgreeWithToJsonbTest::time);
        columns.put("timetz", r -> time(r) + offset(r));
        columns.put("timestamp", r -> r.nextInt(20) == 0 ? "infinity" : timestamp(r, ""));
        columns.put("timestamptz", r -> r.nextInt(20) == 0 ? "-infinity" : timestamp(r, zone(r)));
        columns.put("interval", r -> (r.nextInt(2000) - 1000) + " years " + (r.nextInt(30) - 15) + " mons "
                + (r.nextInt(100) - 50) + " days " + (r.nextInt(48) - 24) + ":" + r.nextInt(60) + ":" + r.nextInt(60)
                + "." + r.nextInt(1_000_000));
        columns.put("inet", r -> r.nextBoolean() ? ipv4(r) + (r.nextBoolean() ? "/" + r.nextInt(33) : "")
                : ipv6(r) + (r.nextBoolean() ? "/" + r.nextInt(129) : ""));
        columns.put("cidr", r -> r.nextBoolean() ? "10." + r.nextInt(256) + ".0.0/16" : "2001:db8:" + Integer.toHexString(r.nextInt(65536)) + "::/48");
        columns.put("macaddr", r -> hexBytes(r, 6, ":"));
        columns.put("macaddr8", r -> hexBytes(r, 8, r.nextBoolean() ? ":" : "-"));
        columns.put("bit(8)", r -> bits(r, 8));
        columns.put("varbit", r -> bits(r, r.nextInt(70)));
        columns.put("tsvector", r -> String.join(" ", repeat(r, 5, x -> "'" + word(x).replace("'", "''") + "'"
                + (x.nextBoolean() ? ":" + (1 + x.nextInt(50)) + List.of("", "A", "B", "C").get(x.nextInt(4)) : ""))));
        columns.put("int4[]", RandomValuesAgreeWithToJsonbTest::intArray);
        columns.put("text[]", r -> r.nextInt(5) == 0
                ? "{{" + arrayElement(text(r, 5), r) + "," + arrayElement(text(r, 5), r) + "},{NULL," + arrayElement(text(r, 5), r) + "}}"
                : "{" + String.join(",", repeat(r, 5, x -> arrayElement(text(x, 8), x))) + "}");
        columns.put("float8[]", r -> "[0:1]={" + float8(r) + "," + (r.nextBoolean() ? "NULL" : float8(r)) + "}");
        columns.put("timestamptz[]", r -> "{" + String.join(",", repeat(r, 3, x -> "\"" + timestamp(x, offset(x)) + "\"")) + "}");
        columns.put("jsonb[]", r -> "{" + String.join(",", repeat(r, 3, x -> arrayElement(json(x, 1), x))) + "}");
        columns.put("mood", r -> List.of("sad", "ok", "happy").get(r.nextInt(3)));
        columns.put("mood[]", r -> "{" + String.join(",", repeat(r, 3, x -> x.nextInt(4) == 0 ? "NULL"
                : List.of("sad", "ok", "happy").get(x.nextInt(3)))) + "}");
        columns.put("posint", r -> Integer.toString(1 + r.nextInt(Integer.MAX_VALUE)));
        columns.put("pair", RandomValuesAgreeWithToJsonbTest::pair);
        columns.put("pair[]", r -> "{" + String.join(",", repeat(r, 3, x -> arrayElement(pair(x), x))) + "}");
        columns.put("int4range", r -> range(r, Integer.toString(r.nextInt(1000)), Integer.toString(1000 + r.nextInt(1000))));
        columns.put("numrange", r -> range(r, r.nextInt(100) + "." + r.nextInt(100), (100 + r.nextInt(100)) + ".50"));
        columns.put("tstzrange", r -> range(r, "\"2026-01-0" + (1 + r.nextInt(4)) + " 10:00" + offset(r) + "\"",
                r.nextInt(5) == 0 ? "infinity" : "\"2026-02-01 00:00:00.5+00\""));
        columns.put("daterange", r -> range(r, "2020-01-0" + (1 + r.nextInt(9)), "2020-03-1" + r.nextInt(10)));
        columns.put("floatrange", r -> range(r, Double.toString(r.nextDouble()), Double.toString(1 + r.nextDouble() * 1e10)));
        if (major >= 14) {
            columns.put("int4multirange", r -> "{" + String.join(",", repeat(r, 3, x -> {
                int lower = x.nextInt(1000);
                return "[" + lower + "," + (lower + 1 + x.nextInt(50)) + ")";
            })) + "}");
            columns.put("datemultirange", r -> "{[2026-01-01,2026-01-1" + r.nextInt(10) + "), [2026-03-01,)}");
        }
        columns.put("point", r -> "(" + coordinate(r) + "," + coordinate(r) + ")");
        columns.put("line", r -> "{" + (1 + r.nextInt(9)) + "," + coordinate(r) + "," + coordinate(r) + "}");
        columns.put("lseg", r -> "[(" + coordinate(r) + "," + coordinate(r) + "),(" + coordinate(r) + "," + coordinate(r) + ")]");
        columns.put("box", r -> "(" + coordinate(r) + "," + coordinate(r) + "),(" + coordinate(r) + "," + coordinate(r) + ")");
        columns.put("path", r -> r.nextBoolean() ? "[" + points(r) + "]" : "(" + points(r) + ")");
        columns.put("polygon", r -> "(" + points(r) + ")");
        columns.put("circle", r -> "<(" + coordinate(r) + "," + coordinate(r) + ")," + Math.abs(r.nextDouble() * 100) + ">");
    }

    private static String range(Random r, String lower, String upper) {
        if (r.nextInt(10) == 0) {
            return "empty";
        }
        return (r.nextBoolean() ? "[" : "(") + (r.nextInt(8) == 0 ? "" : lower) + "," + (r.nextInt(8) == 0 ? "" : upper)
                + (r.nextBoolean() ? "]" : ")");
    }

    private static String coordinate(Random r) {
        return switch (r.nextInt(4)) {
            case 0 -> Integer.toString(r.nextInt(2000) - 1000);
            case 1 -> Double.toString(r.nextGaussian() * 1000);
            case 2 -> Double.toString(r.nextDouble() * Math.pow(10, r.nextInt(40) - 20));
            default -> "0.1";
        };
    }

    private static String points(Random r) {
        List<String> points = new ArrayList<>();
        for (int i = 1 + r.nextInt(4); i > 0; i--) {
            points.add("(" + coordinate(r) + "," + coordinate(r) + ")");
        }
        return String.join(",", points);
    }

    private static String word(Random r) {
        StringBuilder b = new StringBuilder();
        for (int i = 1 + r.nextInt(8); i > 0; i--) {
            b.append((char) ('a' + r.nextInt(26)));
        }
        return r.nextInt(5) == 0 ? b + "é" : b.toString();
    }

    private static String ipv4(Random r) {
        return r.nextInt(256) + "." + r.nextInt(256) + "." + r.nextInt(256) + "." + r.nextInt(256);
    }

    private static String ipv6(Random r) {
        List<String> groups = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            groups.add(Integer.toHexString(r.nextInt(4) == 0 ? 0 : r.nextInt(65536)));
        }
        return String.join(":", groups);
    }

    private static String hexBytes(Random r, int n, String separator) {
        List<String> bytes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            bytes.add(String.format("%02x", r.nextInt(256)));
        }
        return String.join(separator, bytes);
    }

    private static String bits(Random r, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(r.nextBoolean() ? '1' : '0');
        }
        return b.toString();
    }
}
