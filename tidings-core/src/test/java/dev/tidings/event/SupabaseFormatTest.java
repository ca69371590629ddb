package dev.tidings.event;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.base.Lsn;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;

import static dev.tidings.event.Events.parse;
import static dev.tidings.event.Events.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static dev.tidings.testing.TypeOids.*;

@Tag("unit")
class SupabaseFormatTest {
    private final EventFormat format = EventFormat.named("supabase");

    // The data of the postgres_changes pushes of docs/realtime-protocol.md ("Changes"), verbatim.
    private static final String INSERT_FRAME = """
            {"columns":[{"name":"id","type":"int8"},{"name":"title","type":"text"},{"name":"done","type":"bool"},{"name":"inserted_at","type":"timestamptz"}],"commit_timestamp":"2024-05-01T12:00:00.123Z","errors":null,"record":{"id":5,"title":"buy milk","done":false,"inserted_at":"2024-05-01T12:00:00.1+00:00"},"schema":"public","table":"todos","type":"INSERT"}""";
    private static final String UPDATE_FRAME = """
            {"columns":[{"name":"id","type":"int8"},{"name":"title","type":"text"},{"name":"done","type":"bool"},{"name":"inserted_at","type":"timestamptz"}],"commit_timestamp":"2024-05-01T12:00:00.123Z","errors":null,"old_record":{"id":5},"record":{"id":5,"title":"buy milk","done":true,"inserted_at":"2024-05-01T12:00:00.1+00:00"},"schema":"public","table":"todos","type":"UPDATE"}""";
    private static final String DELETE_FRAME = """
            {"columns":[{"name":"id","type":"int8"},{"name":"title","type":"text"},{"name":"done","type":"bool"},{"name":"inserted_at","type":"timestamptz"}],"commit_timestamp":"2024-05-01T12:00:00.123Z","errors":null,"old_record":{"id":5},"schema":"public","table":"todos","type":"DELETE"}""";

    private static final List<Column> TODOS = List.of(
            new Column("id", "int8", INT8, true),
            new Column("title", "text", TEXT, false),
            new Column("done", "bool", BOOL, false),
            new Column("inserted_at", "timestamptz", TIMESTAMPTZ, false));
    // Microseconds past the frame's milliseconds: Realtime truncates them.
    private static final Transaction TX = new Transaction(900, Lsn.parse("0/3000060"), Instant.parse("2024-05-01T12:00:00.123999Z"));

    private static ChangeEvent todo(Op op, Row record, Row oldRecord) {
        return new ChangeEvent(op, "public", "todos", TODOS, record, oldRecord, List.of(), TX, 0, Lsn.parse("0/3000028"), null);
    }

    private static Row todoRow(String done) {
        return new Row(TODOS, new String[] {"5", "\"buy milk\"", done, "\"2024-05-01T12:00:00.1+00:00\""});
    }

    @Test
    void insert_is_byte_for_byte_the_realtime_frame() {
        String json = text(format, todo(Op.INSERT, todoRow("false"), null));

        assertThat(json).isEqualTo(INSERT_FRAME);
    }

    @Test
    void update_keeping_its_key_shows_the_key_as_old_record_like_the_realtime_frame() {
        String json = text(format, todo(Op.UPDATE, todoRow("true"), null));

        assertThat(json).isEqualTo(UPDATE_FRAME);
        assertThat(Events.fieldNames(parse(json))).isEqualTo(Events.fieldNames(parse(UPDATE_FRAME)));
    }

    @Test
    void delete_is_byte_for_byte_the_realtime_frame() {
        Row oldKey = new Row(TODOS, new String[] {"5", null, null, null});

        assertThat(text(format, todo(Op.DELETE, null, oldKey))).isEqualTo(DELETE_FRAME);
    }

    @Test
    void update_with_key_change_shows_the_old_key() {
        JsonNode e = parse(format, Events.updateWithKeyChange());

        assertThat(e.get("type").asText()).isEqualTo("UPDATE");
        assertThat(e.get("old_record")).isEqualTo(parse("{\"id\":5}"));
        assertThat(e.at("/record/id").asInt()).isEqualTo(6);
        assertThat(e.at("/record/body").isNull()).isTrue();
        assertThat(e.get("errors").isNull()).isTrue();
    }

    @Test
    void full_replica_identity_old_row_is_sent_whole() {
        Row oldRow = todoRow("false");
        JsonNode e = parse(format, todo(Op.UPDATE, todoRow("true"), oldRow));

        assertThat(e.get("old_record")).isEqualTo(parse(
                "{\"id\":5,\"title\":\"buy milk\",\"done\":false,\"inserted_at\":\"2024-05-01T12:00:00.1+00:00\"}"));
    }

    @Test
    void unchanged_toast_column_is_left_out_and_numbers_stay_exact() {
        JsonNode e = parse(format, Events.updateWithUnchangedToast());
        assertThat(Events.fieldNames(e.get("record"))).containsExactly("id", "title", "amount", "mood");
        assertThat(e.get("old_record")).isEqualTo(parse("{\"id\":5}"));

        assertThat(text(format, Events.insert())).contains("\"amount\":12345678901234567890.123,");
        assertThat(parse(format, Events.insert()).at("/record/amount").decimalValue()).isEqualTo(new BigDecimal(Events.BIG_DECIMAL));
    }

    @Test
    void column_types_are_bare_typnames() {
        JsonNode columns = parse(format, Events.insert()).get("columns");

        assertThat(columns.get(4)).isEqualTo(parse("{\"name\":\"mood\",\"type\":\"mood\"}"));
        assertThat(parse(format, Events.oddNames()).at("/columns/1/type").asText()).isEqualTo("_int4");
    }

    @Test
    void update_of_a_table_without_key_has_empty_old_record() {
        Column a = new Column("a", "int4", INT4, false);
        Row row = new Row(List.of(a), new String[] {"1"});
        ChangeEvent event = new ChangeEvent(Op.UPDATE, "public", "log", List.of(a), row, null, List.of(), TX, 0, Lsn.parse("0/1"), null);

        assertThat(parse(format, event).get("old_record")).isEqualTo(parse("{}"));
    }

    @Test
    void names_needing_escapes_survive_the_round_trip() {
        JsonNode e = parse(format, Events.oddNames());

        assertThat(e.get("schema").asText()).isEqualTo(Events.ODD_SCHEMA);
        assertThat(e.get("table").asText()).isEqualTo(Events.ODD_TABLE);
        assertThat(Events.fieldNames(e.get("record"))).containsExactly(Events.ODD_KEY.name(), Events.ODD_COLUMN.name());
    }

    @Test
    void truncate_and_message_are_not_supported_and_rejected_with_the_reason() {
        assertThat(format.supports(Op.INSERT)).isTrue();
        assertThat(format.supports(Op.UPDATE)).isTrue();
        assertThat(format.supports(Op.DELETE)).isTrue();
        assertThat(format.supports(Op.TRUNCATE)).isFalse();
        assertThat(format.supports(Op.MESSAGE)).isFalse();

        assertThatThrownBy(() -> format.toBytes(Events.truncate())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("truncate").hasMessageContaining("supports(op)");
        assertThatThrownBy(() -> format.toBytes(Events.textMessage())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void event_type_names_the_realtime_event() {
        assertThat(SupabaseFormat.eventType(Op.INSERT)).isEqualTo("INSERT");
        assertThat(SupabaseFormat.eventType(Op.DELETE)).isEqualTo("DELETE");
        assertThatThrownBy(() -> SupabaseFormat.eventType(Op.TRUNCATE)).isInstanceOf(IllegalArgumentException.class);
    }
}
