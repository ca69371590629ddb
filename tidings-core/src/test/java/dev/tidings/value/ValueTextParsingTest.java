package dev.tidings.value;

import dev.tidings.testing.TypeOids;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static dev.tidings.testing.TypeOids.*;

/** The text parsers and JSON rules, without a database: types come from the built-in table plus a few made up here. */
@Tag("unit")
class ValueTextParsingTest {
    private static final int POINT_ROW = 90001, NESTED_ROW = 90002, MOOD = 90003, INT_DOMAIN = 90004,
            EMPTY_ROW = 90005, ROW_ARRAY = 90006;

    private final JsonValueConverter converter = new JsonValueConverter(new FakeRegistry(Map.of(
            POINT_ROW, composite(POINT_ROW, "pair", new PgType.Field("x", INT4), new PgType.Field("label", TEXT)),
            NESTED_ROW, composite(NESTED_ROW, "nested", new PgType.Field("inner", POINT_ROW),
                    new PgType.Field("tags", TEXT_ARRAY), new PgType.Field("a", NUMERIC)),
            MOOD, new PgType(MOOD, "public", "mood", PgType.Kind.ENUM, 'E', 0, ',', List.of()),
            INT_DOMAIN, new PgType(INT_DOMAIN, "public", "posint", PgType.Kind.DOMAIN, 'N', INT4, ',', List.of()),
            EMPTY_ROW, composite(EMPTY_ROW, "empty"),
            ROW_ARRAY, new PgType(ROW_ARRAY, "public", "_pair", PgType.Kind.ARRAY, 'A', POINT_ROW, ',', List.of()))));

    private String json(int oid, String text) throws UnknownTypeException {
        return converter.toJson(oid, text);
    }

    @Test
    void the_named_type_oids_of_the_tests_are_the_built_in_types_of_those_names() throws Exception {
        for (java.lang.reflect.Field f : TypeOids.class.getFields()) {
            String name = f.getName().toLowerCase(java.util.Locale.ROOT);
            String typname = name.endsWith("_array") ? "_" + name.substring(0, name.length() - "_array".length()) : name;
            PgType type = BuiltinTypes.lookup(f.getInt(null));
            assertThat(type).as(f.getName()).isNotNull();
            assertThat(type.name()).as(f.getName()).isEqualTo(typname);
        }
    }

    @Test
    void numbers_keep_their_scale_and_lose_exponents() throws Exception {
        assertThat(json(NUMERIC, "1.50")).isEqualTo("1.50");
        assertThat(json(NUMERIC, "-0.000120")).isEqualTo("-0.000120");
        assertThat(json(FLOAT8, "1e+300")).isEqualTo("1" + "0".repeat(300));
        assertThat(json(FLOAT8, "1.5e-07")).isEqualTo("0.00000015");
        assertThat(json(FLOAT8, "-0")).isEqualTo("0");
        assertThat(json(FLOAT4, "-1.25e+02")).isEqualTo("-125");
        assertThat(json(INT8, "-9223372036854775808")).isEqualTo("-9223372036854775808");
    }

    @Test
    void not_a_number_and_infinities_are_strings() throws Exception {
        assertThat(json(NUMERIC, "NaN")).isEqualTo("\"NaN\"");
        assertThat(json(FLOAT8, "Infinity")).isEqualTo("\"Infinity\"");
        assertThat(json(FLOAT4, "-Infinity")).isEqualTo("\"-Infinity\"");
    }

    @Test
    void oid_and_money_are_strings_although_numeric_in_category() throws Exception {
        assertThat(json(OID, "12345")).isEqualTo("\"12345\"");
        assertThat(json(MONEY, "$1,000.50")).isEqualTo("\"$1,000.50\"");
    }

    @Test
    void strings_are_escaped_as_postgres_escape_json_does() throws Exception {
        assertThat(json(TEXT, "a\"b\\c\nd\te\u0001\u001f\u007f é ☃ /"))
                .isEqualTo("\"a\\\"b\\\\c\\nd\\te\\u0001\\u001f\u007f é ☃ /\"");
        assertThat(json(TEXT, "\b\f\r")).isEqualTo("\"\\b\\f\\r\"");
        assertThat(json(TEXT, "")).isEqualTo("\"\"");
    }

    @Test
    void booleans_become_true_and_false() throws Exception {
        assertThat(json(BOOL, "t")).isEqualTo("true");
        assertThat(json(BOOL, "f")).isEqualTo("false");
    }

    @Test
    void timestamps_take_a_T_and_zone_minutes() throws Exception {
        assertThat(json(TIMESTAMP, "2026-11-27 10:00:00.123456")).isEqualTo("\"2026-11-27T10:00:00.123456\"");
        assertThat(json(TIMESTAMP, "0044-03-15 10:00:00 BC")).isEqualTo("\"0044-03-15T10:00:00 BC\"");
        assertThat(json(TIMESTAMP, "12026-01-01 00:00:00")).isEqualTo("\"12026-01-01T00:00:00\"");
        assertThat(json(TIMESTAMPTZ, "2026-11-27 10:00:00+00")).isEqualTo("\"2026-11-27T10:00:00+00:00\"");
        assertThat(json(TIMESTAMPTZ, "2026-11-27 10:00:00.5-03:30")).isEqualTo("\"2026-11-27T10:00:00.5-03:30\"");
        assertThat(json(TIMESTAMPTZ, "1850-01-01 10:00:00+00:09:21")).isEqualTo("\"1850-01-01T10:00:00+00:09:21\"");
        assertThat(json(TIMESTAMPTZ, "0044-03-15 10:00:00+00 BC")).isEqualTo("\"0044-03-15T10:00:00+00:00 BC\"");
        assertThat(json(TIMESTAMPTZ, "infinity")).isEqualTo("\"infinity\"");
        assertThat(json(TIMESTAMP, "-infinity")).isEqualTo("\"-infinity\"");
    }

    @Test
    void dates_and_times_stay_as_printed() throws Exception {
        assertThat(json(DATE, "0044-03-15 BC")).isEqualTo("\"0044-03-15 BC\"");
        assertThat(json(TIME, "10:00:00.5")).isEqualTo("\"10:00:00.5\"");
        assertThat(json(TIMETZ, "10:00:00+05:30")).isEqualTo("\"10:00:00+05:30\"");
    }

    @Test
    void array_literals_nest_per_dimension_with_nulls_and_quotes() throws Exception {
        assertThat(json(INT4_ARRAY, "{}")).isEqualTo("[]");
        assertThat(json(INT4_ARRAY, "{1,NULL,3}")).isEqualTo("[1,null,3]");
        assertThat(json(INT4_ARRAY, "{{1,2},{3,4}}")).isEqualTo("[[1,2],[3,4]]");
        assertThat(json(INT4_ARRAY, "[0:1][2:3]={{1,2},{3,4}}")).isEqualTo("[[1,2],[3,4]]");
        assertThat(json(TEXT_ARRAY, "{\"\",\"NULL\",NULL,\"a,b\",\"q\\\"x\\\\y\",\"{}\",\" s \",plain}"))
                .isEqualTo("[\"\",\"NULL\",null,\"a,b\",\"q\\\"x\\\\y\",\"{}\",\" s \",\"plain\"]");
        assertThat(json(TIMESTAMP_ARRAY, "{\"2026-01-01 10:00:00\"}")).isEqualTo("[\"2026-01-01T10:00:00\"]");
        assertThat(json(BOX_ARRAY, "{(1,1),(0,0);(2,2),(1,1)}")).isEqualTo("[\"(1,1),(0,0)\",\"(2,2),(1,1)\"]");
    }

    @Test
    void int2vector_prints_without_braces_but_is_an_array() throws Exception {
        assertThat(json(INT2VECTOR, "1 2 3")).isEqualTo("[1,2,3]");
        assertThat(json(INT2VECTOR, "")).isEqualTo("[]");
        assertThat(json(OIDVECTOR, "26 25")).isEqualTo("[\"26\",\"25\"]");
    }

    @Test
    void record_literals_become_objects_in_jsonb_key_order() throws Exception {
        assertThat(json(POINT_ROW, "(1,hello)")).isEqualTo("{\"x\":1,\"label\":\"hello\"}");
        assertThat(json(POINT_ROW, "(,)")).isEqualTo("{\"x\":null,\"label\":null}");
        assertThat(json(POINT_ROW, "(2,\"\")")).isEqualTo("{\"x\":2,\"label\":\"\"}");
        assertThat(json(POINT_ROW, "(3,\"a \"\"q\"\" \\\\ (b,c)\")"))
                .isEqualTo("{\"x\":3,\"label\":\"a \\\"q\\\" \\\\ (b,c)\"}");
        assertThat(json(NESTED_ROW, "(\"(1,\"\"x y\"\")\",\"{a,\"\"b c\"\"}\",1.0)"))
                .isEqualTo("{\"a\":1.0,\"tags\":[\"a\",\"b c\"],\"inner\":{\"x\":1,\"label\":\"x y\"}}");
        assertThat(json(EMPTY_ROW, "()")).isEqualTo("{}");
        assertThat(json(ROW_ARRAY, "{\"(1,a)\",NULL,\"(,)\"}"))
                .isEqualTo("[{\"x\":1,\"label\":\"a\"},null,{\"x\":null,\"label\":null}]");
    }

    @Test
    void a_record_with_the_wrong_number_of_fields_is_reported() {
        assertThatThrownBy(() -> json(POINT_ROW, "(1,a,b)")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pair").hasMessageContaining("2 attributes");
        assertThatThrownBy(() -> json(POINT_ROW, "(1)")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void domains_enums_and_ranges_follow_their_base() throws Exception {
        assertThat(json(INT_DOMAIN, "42")).isEqualTo("42");
        assertThat(json(MOOD, "happy")).isEqualTo("\"happy\"");
        assertThat(json(INT4RANGE, "[1,5)")).isEqualTo("\"[1,5)\"");
        assertThat(json(INT4MULTIRANGE, "{[1,5),[7,9)}")).isEqualTo("\"{[1,5),[7,9)}\"");
    }

    @Test
    void json_is_normalised_like_jsonb() throws Exception {
        assertThat(json(JSON, " { \"b\" : 1 , \"a\":2, \"aa\" : {\"x\":1E2,\"x\":-0}, \"a\": [ 1.50, true,null ,\"\\u00e9\\/\\ud83d\\ude00\"] } "))
                .isEqualTo("{\"a\":[1.50,true,null,\"é/\uD83D\uDE00\"],\"b\":1,\"aa\":{\"x\":0}}");
        assertThat(json(JSON, "\"\\u0001\\\\\"")).isEqualTo("\"\\u0001\\\\\"");
        assertThat(json(JSON, "[]")).isEqualTo("[]");
        assertThat(json(JSON, "{}")).isEqualTo("{}");
        assertThat(json(JSON, "-1.5e-3")).isEqualTo("-0.0015");
    }

    @Test
    void jsonb_loses_only_its_blanks() throws Exception {
        assertThat(json(JSONB, "{\"a\": [1, \"x y\", {\"b\": null}], \"c \\\" d\": \"e\"}"))
                .isEqualTo("{\"a\":[1,\"x y\",{\"b\":null}],\"c \\\" d\":\"e\"}");
    }

    @Test
    void keys_sort_by_utf8_length_then_bytes() throws Exception {
        assertThat(json(JSON, "{\"é\":1,\"z\":2,\"ab\":3,\"B\":4}")).isEqualTo("{\"B\":4,\"z\":2,\"ab\":3,\"é\":1}");
    }

    @Test
    void hstore_becomes_an_object_of_strings() {
        StringBuilder out = new StringBuilder();
        HstoreWriter.INSTANCE.write("\"b\"=>\"1\", \"a\"=>NULL, \"c d\"=>\"x\\\"y\\\\z\", \"\"=>\"\"", out);
        assertThat(out).hasToString("{\"\":\"\",\"a\":null,\"b\":\"1\",\"c d\":\"x\\\"y\\\\z\"}");
    }

    @Test
    void an_unknown_oid_is_an_unknown_type() {
        assertThatThrownBy(() -> json(123456, "x")).isInstanceOf(UnknownTypeException.class).hasMessageContaining("123456");
    }

    private static PgType composite(int oid, String name, PgType.Field... fields) {
        return new PgType(oid, "public", name, PgType.Kind.COMPOSITE, 'C', 0, ',', List.of(fields));
    }

    /** Built-ins from the real table, plus the types a test defines. */
    static final class FakeRegistry implements TypeRegistry {
        private final Map<Integer, PgType> types = new HashMap<>();

        FakeRegistry(Map<Integer, PgType> extra) {
            types.putAll(extra);
        }

        @Override
        public PgType type(int oid) throws UnknownTypeException {
            PgType t = BuiltinTypes.lookup(oid);
            if (t == null) {
                t = types.get(oid);
            }
            if (t == null) {
                throw new UnknownTypeException("no type " + oid);
            }
            return t;
        }

        @Override
        public void invalidate(int oid) {}
    }
}
