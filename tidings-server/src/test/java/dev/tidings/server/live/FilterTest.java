package dev.tidings.server.live;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static dev.tidings.testing.TypeOids.*;

/** Filters compare typed values: numbers, booleans, instants, dates, uuids, text; NULL as SQL does. */
@Tag("unit")
class FilterTest {
    private static final List<Column> COLUMNS = List.of(
            new Column("id", "int8", INT8, true), new Column("price", "numeric", NUMERIC, false),
            new Column("done", "bool", BOOL, false), new Column("at", "timestamptz", TIMESTAMPTZ, false),
            new Column("day", "date", DATE, false), new Column("ref", "uuid", UUID, false),
            new Column("title", "text", TEXT, false), new Column("note", "text", TEXT, false),
            new Column("ratio", "float8", FLOAT8, false));

    private static ChangeEvent insert(String... values) {
        return new ChangeEvent(Op.INSERT, "public", "t", COLUMNS, new Row(COLUMNS, values), null, List.of(),
                new Transaction(1, Lsn.ZERO, Instant.EPOCH), 0, Lsn.ZERO, null);
    }

    private static final ChangeEvent ROW = insert("100", "10.50", "true", "\"2024-05-01T12:00:00.1+00:00\"",
            "\"2024-05-01\"", "\"6f1c1a52-3d3a-4c53-9b1a-0b7e0c6a1c11\"", "\"O'Brien, \\\"Jr\\\"\"", "null", "\"NaN\"");

    private static boolean matches(String filter) {
        return Filter.parse(filter).matches(ROW);
    }

    @Test
    void a_join_with_plain_integer_or_uuid_literals_asks_the_database_nothing_and_any_other_literal_still_asks_it() {
        // nothing listens on port 1: a question to this database fails with IllegalStateException
        DatabaseConditions unreachable = new DatabaseConditions(dev.tidings.source.DatabaseUrl.parse("postgresql://127.0.0.1:1/none"));
        Map<String, ColumnType> columns = Map.of(
                "id", new ColumnType("int8", "int8", null, true, true, null, false),
                "n", new ColumnType("int4", "int4", null, true, true, null, false),
                "ref", new ColumnType("uuid", "uuid", null, true, true, null, false));

        assertThat(Filter.parse("id=eq.100").resolve(columns, unreachable).matches(ROW)).isTrue();
        assertThat(Filter.parse("id=in.(1,100,-5)").resolve(columns, unreachable).matches(ROW)).isTrue();
        assertThat(Filter.parse("n=gte.-2147483648").resolve(columns, unreachable)).isNotNull();
        assertThat(Filter.parse("ref=eq.6F1C1A52-3D3A-4C53-9B1A-0B7E0C6A1C11").resolve(columns, unreachable)).isNotNull();

        // PostgreSQL decides these (and refuses most, with its own words): out of range, not plain decimal, not canonical
        for (String asked : List.of("n=eq.2147483648", "id=in.(1,+5)", "ref=eq.6f1c1a523d3a4c539b1a0b7e0c6a1c11")) {
            assertThatThrownBy(() -> Filter.parse(asked).resolve(columns, unreachable)).as(asked)
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("could not check a filter with the database");
        }
        unreachable.close();
    }

    @Test
    void numbers_compare_as_numbers_not_text() {
        assertThat(matches("id=gt.99")).isTrue();
        assertThat(matches("id=gt.1000")).isFalse();
        assertThat(matches("id=lt.9")).isFalse(); // as text "100" < "9"
        assertThat(matches("price=eq.10.5")).isTrue();
        assertThat(matches("price=gte.10.50")).isTrue();
        assertThat(matches("id=in.(1,100,5)")).isTrue();
        assertThat(matches("id=neq.100")).isFalse();
        assertThat(matches("ratio=gt.1e300")).as("NaN sorts above every number, as in PostgreSQL").isTrue();
    }

    @Test
    void booleans_timestamps_dates_uuids_and_text() {
        assertThat(matches("done=eq.true")).isTrue();
        assertThat(matches("done=eq.t")).isTrue();
        assertThat(matches("done=is.true")).isTrue();
        assertThat(matches("done=is.false")).isFalse();
        assertThat(matches("at=eq.2024-05-01 14:00:00.1+02")).isTrue();
        assertThat(matches("at=gt.2024-05-01T12:00:00Z")).isTrue();
        assertThat(matches("at=lt.2024-05-01")).isFalse();
        assertThat(matches("day=gte.2024-05-01")).isTrue();
        assertThat(matches("day=lt.2024-04-30")).isFalse();
        assertThat(matches("ref=eq.6F1C1A52-3D3A-4C53-9B1A-0B7E0C6A1C11")).isTrue();
        assertThat(matches("title=eq.\"O'Brien, \\\"Jr\\\"\"")).isTrue();
        assertThat(matches("title=in.(\"O'Brien, \\\"Jr\\\"\",x)")).isTrue();
        assertThat(matches("title=gt.N")).isTrue();
    }

    @Test
    void null_matches_only_is_null_and_absent_columns_match_nothing() {
        assertThat(matches("note=is.null")).isTrue();
        assertThat(matches("note=neq.x")).isFalse();
        assertThat(matches("note=eq.null")).isFalse();
        assertThat(matches("title=is.null")).isFalse();
        assertThat(matches("missing=eq.1")).isFalse();
        ChangeEvent delete = new ChangeEvent(Op.DELETE, "public", "t", COLUMNS, null,
                new Row(COLUMNS, new String[] {"100", null, null, null, null, null, null, null, null}), List.of(),
                new Transaction(1, Lsn.ZERO, Instant.EPOCH), 0, Lsn.ZERO, null);
        assertThat(Filter.parse("id=eq.100").matches(delete)).as("deletes match on the old key").isTrue();
        assertThat(Filter.parse("done=eq.true").matches(delete)).as("a column the old key lacks").isFalse();
    }

    @Test
    void conditions_joined_by_commas_must_all_hold() {
        assertThat(matches("id=gt.10,done=is.true")).isTrue();
        assertThat(matches("id=gt.10,done=is.false")).isFalse();
    }

    @Test
    void not_negates_a_known_result_only_and_null_is_unknown_for_every_operator_but_is_and_isdistinct() {
        assertThat(matches("id=not.eq.5")).isTrue();
        assertThat(matches("id=not.in.(1,100)")).isFalse();
        assertThat(matches("note=not.eq.x")).as("NOT (NULL = 'x') is NULL").isFalse();
        assertThat(matches("note=is.unknown")).isTrue();
        assertThat(matches("note=not.is.null")).isFalse();
        assertThat(matches("title=not.is.null")).isTrue();
        assertThat(matches("note=isdistinct.x")).isTrue();
        assertThat(matches("note=not.isdistinct.x")).isFalse();
        assertThat(matches("id=isdistinct.100")).isFalse();
        assertThat(matches("id=in.(5,null)")).as("no element equal, one NULL: unknown").isFalse();
        assertThat(matches("id=not.in.(5,null)")).as("NOT unknown is unknown").isFalse();
        assertThat(matches("id=in.(100,null)")).isTrue();
    }

    @Test
    void like_ilike_and_regular_expressions_on_text() {
        assertThat(matches("title=like.O'B%")).isTrue();
        assertThat(matches("title=like.o'b%")).isFalse();
        assertThat(matches("title=ilike.o'b%")).isTrue();
        assertThat(matches("title=like.O_Brien%")).isTrue();
        assertThat(matches("title=not.like.%Jr%")).isFalse();
        assertThat(matches("title=match.^O'B")).isTrue();
        assertThat(matches("title=imatch.^o'b")).isTrue();
        assertThat(matches("title=match.^o'b")).isFalse();
    }

    @Test
    void bad_filters_are_reported_in_realtimes_words_with_how_to_write_them() {
        assertThatThrownBy(() -> Filter.parse("undefined"))
                .hasMessageStartingWith("Error parsing `filter` params: [\"undefined\"] (write column=operator.value");
        assertThatThrownBy(() -> Filter.parse("subject=foo.hey")).hasMessageStartingWith("Error parsing `filter` params: [\"foo\", \"hey\"]");
        assertThatThrownBy(() -> Filter.parse("id=5")).hasMessageStartingWith("Error parsing `filter` params: [\"5\"]");
        assertThatThrownBy(() -> Filter.parse("id=in.1")).hasMessage("Error parsing `filter` params: `in` filter value must be"
                + " wrapped by parentheses (id=in.(a,b))");
        assertThatThrownBy(() -> Filter.parse("id=is.maybe")).hasMessageContaining("invalid value for is filter");
        assertThatThrownBy(() -> Filter.parse("id=eq.1,,done=is.true")).hasMessageContaining("must not contain empty segments");
        assertThat(Filter.parse("  ").isEmpty()).isTrue();
    }

    @Test
    void values_in_quotes_keep_commas_dots_and_parentheses() {
        Filter f = Filter.parse("title=eq.\"a,b.c\",id=in.(\"x,y\", z ,NULL,\"null\")");
        assertThat(f.conditions()).hasSize(2);
        assertThat(f.conditions().get(0).values()).containsExactly("a,b.c");
        assertThat(f.conditions().get(1).values()).containsExactly("x,y", "z", null, "null");
    }

    @Test
    void row_policies_bind_claims_and_refuse_missing_ones() {
        assertThat(Filter.bind("id=eq.{sub}", Map.of("sub", "100")).matches(ROW)).isTrue();
        assertThat(Filter.bind("id=eq.{sub}", Map.of("sub", "7")).matches(ROW)).isFalse();
        assertThatThrownBy(() -> Filter.bind("id=eq.{sub}", Map.of())).hasMessageContaining("needs the claim 'sub'");
    }

    @Test
    void json_string_values_are_read_with_their_escapes_and_malformed_ones_are_refused() {
        assertThat(TypedValue.unescape("\"plain\"")).isEqualTo("plain");
        assertThat(TypedValue.unescape("\"a\\\"b\\u00e9\\n\\\\\"")).isEqualTo("a\"b\u00e9\n\\");
        assertThat(TypedValue.unescape("\"a\\qb\"")).as("unknown escape").isNull();
        assertThat(TypedValue.unescape("\"a\\u12\"")).as("short unicode escape").isNull();
        assertThat(TypedValue.unescape("\"open")).isNull();
    }
}
