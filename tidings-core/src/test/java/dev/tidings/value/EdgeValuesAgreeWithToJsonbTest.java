package dev.tidings.value;

import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * For every type Tidings can meet — all of pg_catalog's scalar types, arrays of them, and the user
 * types a schema can define — hand-picked edge values must convert exactly as to_jsonb converts them.
 * The catalogue below is the spec; one dynamic test per type.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Tag("postgres")
class EdgeValuesAgreeWithToJsonbTest {
    private final int major = TestPostgres.majorVersion();
    private ToJsonbOracle oracle;
    private final Map<String, List<String>> cases = new LinkedHashMap<>();

    @BeforeAll
    void schema() throws Exception {
        oracle = new ToJsonbOracle();
        oracle.execute(
                "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
                "CREATE DOMAIN posint AS int4 CHECK (VALUE > 0)",
                "CREATE DOMAIN intlist AS int4[]",
                "CREATE DOMAIN label AS text",
                "CREATE DOMAIN doc AS jsonb",
                "CREATE DOMAIN moment AS timestamptz",
                "CREATE DOMAIN money_amount AS numeric(12, 2)",
                "CREATE TYPE pair AS (x int4, label text)",
                "CREATE TYPE \"Odd Names\" AS (\"zz\" int, \"B\" int, \"a\" int, \"é\" int, \"with space\" text, \"aa\" bool)",
                "CREATE TYPE nested AS (inner_pair pair, tags text[], n numeric, at timestamptz, m mood, j json, "
                        + "pairs pair[], d posint, dl intlist, b bytea, f float8)",
                "CREATE TYPE shrinking AS (a int, gone text, b text)",
                "ALTER TYPE shrinking DROP ATTRIBUTE gone",
                "CREATE TYPE floatrange AS RANGE (subtype = float8)",
                "CREATE TYPE empty_row AS ()",
                "CREATE EXTENSION citext",
                "CREATE EXTENSION hstore");
        if (major >= 11) {
            oracle.execute("CREATE DOMAIN pairdom AS pair"); // domains over composites exist from 11 on
        }
        // committed before ADD VALUE in a separate statement, as an application adding a value later would
        oracle.execute("ALTER TYPE mood ADD VALUE 'ecstatic'", "ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok'");
        catalogue();
    }

    @AfterAll
    void close() throws Exception {
        oracle.close();
    }

    private void add(String type, String... literals) {
        cases.computeIfAbsent(type, t -> new ArrayList<>()).addAll(List.of(literals));
    }

    /** Cases for a type or value that exists from PostgreSQL {@code version} on. */
    private void since(int version, String type, String... literals) {
        if (major >= version) {
            add(type, literals);
        }
    }

    /** Cases for a type that exists only before PostgreSQL {@code version}: built-in then, resolved from pg_type here. */
    private void before(int version, String type, String... literals) {
        if (major < version) {
            add(type, literals);
        }
    }

    private void catalogue() {
        add("int2", "0", "-32768", "32767");
        add("int4", "0", "-2147483648", "2147483647");
        add("int8", "0", "-9223372036854775808", "9223372036854775807");
        add("oid", "0", "4294967295", "26");
        add("float4", "0", "-0", "1.5", "0.1", "3.4028235e38", "-3.4028235e38", "1e-45", "1.17549435e-38",
                "123456.7", "1e10", "NaN", "Infinity", "-Infinity");
        add("float8", "0", "-0", "0.1", "-1.5", "1e300", "1.7976931348623157e308", "5e-324",
                "2.2250738585072014e-308", "123456789012345678", "1e15", "1e16", "1e-5", "1e-4",
                "0.30000000000000004", "NaN", "Infinity", "-Infinity");
        add("numeric", "0", "-0", "1.50", "0.000000001", "-1e-20", "1e100", "1.0e3",
                "123456789012345678901234567890.123456789012345678901234567890", "NaN");
        since(14, "numeric", "Infinity", "-Infinity");
        add("numeric(5,2)", "1", "-999.99", "0.5");
        add("money", "0", "1000.5", "-1.23", "92233720368547758.07", "-92233720368547758.08");
        add("bool", "t", "f", "yes", "off");
        add("text", "", "plain", "a\"b\\c", "line\nbreak\r\ttab", "\u0001\u0002\u0008\u000b\u000c\u001b\u001f\u007f",
                "é ß ☃ 日本", "😀 \uD83C\uDFF3\uFE0F", "NULL", " spaced ", "{a,b}", "(x,y)", "</script>", "\u2028\u2029");
        add("varchar", "", "abc", "x\ty");
        add("varchar(10)", "abc");
        add("bpchar", "ab");
        add("char(5)", "ab", "");
        add("name", "abc", "with space");
        add("\"char\"", "x", "");
        add("bytea", "", "\\x00ff10", "abc", "\\\\");
        add("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000");
        add("json", "{}", "[]", "null", "true", "\"x\"", "1e2", "-0", "0.10", "1E-2", "12345678901234567890123456789",
                " { \"b\" : 1 , \"a\":2 , \"b\":3 } ",
                "{\"a\":{\"k\":1,\"k\":{\"z\":1,\"y\":2}},\"a\":[1,2.50,-0.0]}",
                "{\"aaa\":1,\"bb\":2,\"c\":3,\"é\":4,\"B\":5,\"\":6}",
                "[\"\\u00e9\\u0041\\/\\b\\f\\n\\r\\t\\\"\\\\\\u001f\\u007f\", \"\\ud83d\\ude00\"]",
                "[1.5e300, -2E-7, 0e10, 1e+2]", "\n[\t1 ,\r\n 2 ]\n");
        add("jsonb", "{}", "[]", "null", "false", "\"x\"", "1.50", "{\"b\":1,\"a\":2,\"a\":3}",
                "{\"deep\":[{\"x\":[[]]},\"\\u0001\"], \"s\": \"é\\\"\\\\\"}", "[1e-3, 1E+3]");
        since(12, "jsonpath", "$.a[*] ? (@ > 1)", "strict $.\"key\"");
        add("xml", "<a b=\"1\">x &amp; y</a>", "plain text", "<?xml version=\"1.0\"?><r/>");
        add("date", "2026-11-27", "infinity", "-infinity", "0044-03-15 BC", "0001-01-01", "0001-12-31 BC",
                "10000-01-01", "4713-01-01 BC", "5874897-12-31");
        add("time", "00:00", "23:59:59.999999", "24:00:00", "10:00:00.5", "10:00:00.120");
        add("time(2)", "10:00:00.129");
        add("timetz", "10:00:00+05:30", "10:00:00-08", "00:00:00+15:59", "23:59:59.999999-15:59", "12:00:00+00:00:01");
        add("timestamp", "2026-11-27 10:00:00", "2026-11-27 10:00:00.123456", "2026-11-27 10:00:00.5", "infinity",
                "-infinity", "0044-03-15 10:00:00 BC", "10000-01-01 00:00:00", "294276-12-31 23:59:59.999999",
                "4713-01-01 00:00:00 BC", "2000-02-29 12:34:56.000001");
        add("timestamp(0)", "2026-11-27 10:00:00.6");
        add("timestamptz", "2026-11-27 10:00:00+00", "2026-11-27 10:00:00.123456+05:30", "2026-11-27 10:00:00-08",
                "infinity", "-infinity", "0044-03-15 10:00:00+00 BC", "10000-01-01 00:00:00+00",
                "294276-12-31 23:59:59.999999+00", "1850-06-01 12:00:00 Europe/Paris", "1970-01-01 00:00:00+00");
        add("interval", "0", "1 year 2 mons 3 days 04:05:06.789", "-1 day", "1 mon -1 day", "-178956970 years -8 months",
                "00:00:00.000001", "P1Y2M3DT4H5M6S", "-2147483648 days");
        since(15, "interval", "2562047788:00:54.775807"); // hours beyond 2^31 are accepted from 15 on
        add("inet", "192.168.0.1", "192.168.0.0/24", "::1", "2001:db8::/32", "::ffff:1.2.3.4");
        add("cidr", "10.0.0.0/8", "2001:db8::/32", "192.168.1");
        add("macaddr", "08:00:2b:01:02:03", "08-00-2B-01-02-03");
        add("macaddr8", "08:00:2b:01:02:03:04:05", "08:00:2b:01:02:03");
        add("bit(4)", "1010");
        add("varbit", "", "101", "1".repeat(70));
        add("tsvector", "a fat cat sat", "'it''s':2A 'a':1,3B", "");
        add("tsquery", "fat & (rat | cat)", "!a <-> b:*");
        add("point", "(1,2)", "(-1.5,1e300)", "(NaN,Infinity)");
        add("line", "{1,2,3}");
        add("lseg", "[(0,0),(1,1)]");
        add("box", "(1,1),(0,0)");
        add("path", "[(0,0),(1,1),(2,0)]", "((0,0),(1,1))");
        add("polygon", "((0,0),(1,0),(1,1))");
        add("circle", "<(0,0),1.5>");
        add("int4range", "[1,5)", "empty", "(,)", "(,3]", "[2,)");
        add("int8range", "[1,5]");
        add("numrange", "[1.50,2.5]", "(,)");
        add("tsrange", "[\"2026-01-01 10:00\",\"2026-01-02 10:00\")", "[-infinity,infinity]");
        add("tstzrange", "[\"2026-01-01 10:00+02\",)");
        add("daterange", "[2026-01-01,2026-02-01)", "empty");
        since(14, "int4multirange", "{}", "{[1,5), [7,9)}");
        since(14, "int8multirange", "{[1,2]}");
        since(14, "nummultirange", "{[1.5,2.5]}");
        since(14, "tsmultirange", "{[\"2026-01-01 10:00\",\"2026-01-02 10:00\")}");
        since(14, "tstzmultirange", "{[\"2026-01-01 10:00+00\",)}");
        since(14, "datemultirange", "{[2026-01-01,2026-02-01)}");
        add("pg_lsn", "16/B374D848", "0/0");
        add("xid", "42");
        since(13, "xid8", "42");
        add("cid", "1");
        add("tid", "(0,1)");
        add("regclass", "pg_class");
        add("regtype", "int4", "mood");
        add("regproc", "now");
        add("regnamespace", "public");
        add("regrole", "postgres");
        add("regconfig", "english");
        add("int2vector", "1 2 3", "");
        add("oidvector", "26 25", "");
        since(13, "pg_snapshot", "10:20:10,14,15");
        add("txid_snapshot", "10:20:10,14,15");
        add("aclitem", "postgres=arwdDxt/postgres");
        before(12, "abstime", "2026-11-27 10:00:00+00", "infinity");
        before(12, "reltime", "1 day 02:00:00", "-5 mons");
        before(12, "tinterval", "[\"2026-01-01 00:00:00+00\" \"2026-02-01 00:00:00+00\"]");
        before(12, "smgr", "magnetic disk");
        // arrays
        add("int4[]", "{}", "{1,NULL,3}", "{{1,2},{3,4}}", "[2:3]={1,2}", "[0:1][1:2]={{1,2},{3,4}}",
                "{{{1},{2}},{{NULL},{4}}}", "{{NULL,NULL}}");
        add("int2[]", "{1,-2}");
        add("int8[]", "{9223372036854775807}");
        add("text[]", "{\"\",\"NULL\",null,\"a,b\",\"q\\\"x\",\"\\\\\",\"{}\",\" x \",é,\"a\tb\"}",
                "{{a,b},{c,NULL}}", "{\"line\\nbreak\"}");
        add("varchar[]", "{a,\"b c\"}");
        add("float8[]", "{NaN,Infinity,-Infinity,1e300,-0,0.5}");
        add("float4[]", "{1.5,NaN}");
        add("numeric[]", "{1.50,NaN,1e3}");
        add("bool[]", "{t,f,NULL}");
        add("json[]", "{\"{\\\"b\\\":1,\\\"a\\\":2}\",null,\"[1e2]\"}");
        add("jsonb[]", "{\"{\\\"b\\\": 1, \\\"a\\\": 2}\",\"\\\"s\\\"\"}");
        add("timestamp[]", "{\"2026-01-01 10:00:00\",infinity,\"0044-03-15 10:00:00 BC\"}");
        add("timestamptz[]", "{\"2026-01-01 10:00:00+00\",-infinity}");
        add("date[]", "{2026-01-01,\"0044-03-15 BC\"}");
        add("time[]", "{10:00}");
        add("interval[]", "{\"1 day\",\"-00:00:01\"}");
        add("box[]", "{(1,1),(0,0);(2,2),(1,1)}");
        add("point[]", "{\"(1,2)\"}");
        add("bytea[]", "{\"\\\\x00ff\",NULL}");
        add("uuid[]", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}");
        add("money[]", "{1.5,-2}");
        add("oid[]", "{1,2}");
        add("int4range[]", "{\"[1,5)\",empty}");
        since(14, "int4multirange[]", "{\"{[1,5)}\"}");
        add("inet[]", "{::1,10.0.0.0/8}");
        add("char(3)[]", "{a,\"b c\"}");
        add("\"char\"[]", "{a,b}");
        add("name[]", "{a}");
        add("xml[]", "{\"<a/>\"}");
        // user types
        add("mood", "sad", "happy", "ecstatic", "meh");
        add("mood[]", "{sad,ecstatic,NULL}");
        add("posint", "1", "2147483647");
        since(11, "posint[]", "{1,2}");
        add("intlist", "{}", "{1,NULL}", "{{1,2},{3,4}}");
        add("label", "x \"y\"");
        add("doc", "{\"b\":1,\"a\":[1.0]}");
        add("moment", "2026-11-27 10:00:00+00");
        add("money_amount", "12.5");
        add("pair", "(1,hello)", "(,)", "(2,\"\")", "(3,\"a \"\"q\"\" \\\\ (b,c)\")", "(-1,\" \")");
        add("pair[]", "{}", "{\"(1,a)\",NULL,\"(,)\",\"(2,\\\"x,y\\\")\"}", "{{\"(1,a)\"},{\"(2,b)\"}}");
        add("\"Odd Names\"", "(1,2,3,4,x,t)", "(,,,,,)");
        add("nested", "(\"(1,\"\"x y\"\")\",\"{a,\"\"b c\"\"}\",1.50,\"2026-11-27 10:00:00+00\",ecstatic,"
                + "\"{\"\"b\"\":1,\"\"a\"\":2}\",\"{\"\"(1,a)\"\"}\",7,\"{1,2}\",\"\\\\x00\",1e300)", "(,,,,,,,,,,)",
                "(\"(,)\",{},NaN,infinity,sad,[],{},,{},,-0)");
        add("nested[]", "{\"(\\\"(1,x)\\\",{},1,,,,,,,,)\",NULL}");
        add("shrinking", "(1,b)", "(,)");
        since(11, "pairdom", "(1,x)");
        add("floatrange", "[1.5,2.5)", "empty");
        since(14, "floatmultirange", "{[1.5,2.5)}");
        add("empty_row", "()");
        add("citext", "AbC", "");
        add("citext[]", "{AbC,\"d e\"}");
        add("hstore", "", "a=>1, b=>NULL, \"c d\"=>\"x\\\"y\\\\z\", a=>2", "\"\"=>\"\", \"NULL\"=>\"null\"",
                "zz=>1, B=>2, é=>3, aa=>4");
        add("hstore[]", "{\"a=>1\",NULL}");
    }

    @TestFactory
    Stream<DynamicTest> every_edge_value_converts_as_to_jsonb_does() {
        return cases.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey() + " edge values agree with to_jsonb",
                () -> assertThat(oracle.mismatches(e.getKey(), e.getValue())).isEmpty()));
    }

    /** Keeps the catalogue honest: each base, range and multirange type of pg_catalog appears in it (or is named here as not storable). */
    @Test
    void the_catalogue_covers_every_storable_pg_catalog_type() throws Exception {
        Set<String> covered = new HashSet<>();
        try (Statement s = oracle.connection.createStatement()) {
            for (String type : cases.keySet()) {
                try (ResultSet r = s.executeQuery("SELECT t.typname FROM pg_type t WHERE t.oid = '" + type.replace("'", "''")
                        + "'::regtype")) {
                    r.next();
                    covered.add(r.getString(1));
                }
            }
            Set<String> notStorable = Set.of("unknown", "refcursor", "regoper", "regoperator", "regprocedure",
                    "regcollation", "regdictionary", "txid_snapshot", "gtsvector", "pg_node_tree", "pg_ndistinct",
                    "pg_dependencies", "pg_mcv_list", "pg_ddl_command", "pg_brin_bloom_summary",
                    "pg_brin_minmax_multi_summary", "table_am_handler", "index_am_handler", "int2vector", "oidvector");
            List<String> missing = new ArrayList<>();
            try (ResultSet r = s.executeQuery("SELECT t.typname FROM pg_type t WHERE t.typnamespace = 'pg_catalog'::regnamespace"
                    + " AND t.typtype IN ('b', 'r', 'm') AND t.typcategory <> 'A' ORDER BY 1")) {
                while (r.next()) {
                    String name = r.getString(1);
                    if (!covered.contains(name) && !notStorable.contains(name)) {
                        missing.add(name);
                    }
                }
            }
            assertThat(missing).as("pg_catalog types without edge values").isEmpty();
        }
    }
}
