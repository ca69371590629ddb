package dev.tidings.event;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.base.Lsn;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Base64;

import static dev.tidings.event.Events.parse;
import static dev.tidings.event.Events.text;
import static org.assertj.core.api.Assertions.assertThat;
import static dev.tidings.testing.TypeOids.*;

@Tag("unit")
class TidingsFormatTest {
    private final EventFormat format = EventFormat.named("tidings");

    @Test
    void insert_has_every_member_of_the_architecture_example_in_order() {
        JsonNode e = parse(format, Events.insert());

        assertThat(Events.fieldNames(e)).containsExactly(
                "id", "op", "schema", "table", "key", "record", "old_record", "columns", "unchanged_toast", "tx", "lsn");
        assertThat(e.get("id").asText()).isEqualTo("0/1A2B3C4:2");
        assertThat(e.get("op").asText()).isEqualTo("insert");
        assertThat(e.get("schema").asText()).isEqualTo("public");
        assertThat(e.get("table").asText()).isEqualTo("todos");
        assertThat(e.get("key")).isEqualTo(parse("{\"id\":5}"));
        assertThat(e.get("record")).isEqualTo(parse(
                "{\"id\":5,\"title\":\"buy milk\",\"amount\":" + Events.BIG_DECIMAL + ",\"body\":\"long text\",\"mood\":\"happy\"}"));
        assertThat(e.get("old_record").isNull()).isTrue();
        assertThat(e.get("columns")).isEqualTo(parse("""
                [{"name":"id","type":"int8","key":true},{"name":"title","type":"text","key":false},
                 {"name":"amount","type":"numeric","key":false},{"name":"body","type":"text","key":false},
                 {"name":"mood","type":"app.mood","key":false}]"""));
        assertThat(e.get("unchanged_toast")).isEqualTo(parse("[]"));
        assertThat(e.get("tx")).isEqualTo(parse(
                "{\"xid\":742,\"commit_lsn\":\"0/1A2B3C4\",\"commit_time\":\"2026-11-27T10:00:00.123456Z\",\"index\":2,\"origin\":null}"));
        assertThat(e.get("lsn").asText()).isEqualTo("0/1A2B380");
    }

    @Test
    void numbers_are_copied_digit_for_digit() {
        assertThat(text(format, Events.insert())).contains("\"amount\":12345678901234567890.123,");
        assertThat(text(format, Events.updateWithKeyChange())).contains("\"amount\":123456789012345678901234567890,");

        assertThat(parse(format, Events.insert()).at("/record/amount").decimalValue())
                .isEqualTo(new BigDecimal(Events.BIG_DECIMAL));
        assertThat(parse(format, Events.updateWithKeyChange()).at("/record/amount").bigIntegerValue())
                .isEqualTo(new BigInteger(Events.BIG_INTEGER));
        assertThat(text(format, Events.updateWithUnchangedToast())).contains("\"amount\":0.10,");
    }

    @Test
    void update_with_key_change_carries_the_old_key_and_the_new_key() {
        JsonNode e = parse(format, Events.updateWithKeyChange());

        assertThat(e.get("op").asText()).isEqualTo("update");
        assertThat(e.get("key")).isEqualTo(parse("{\"id\":6}"));
        assertThat(e.get("old_record")).isEqualTo(parse("{\"id\":5}"));
        assertThat(e.at("/record/body").isNull()).as("SQL NULL is JSON null").isTrue();
        assertThat(e.get("record").has("body")).isTrue();
        assertThat(e.at("/tx/index").asInt()).isEqualTo(3);
        assertThat(e.get("id").asText()).isEqualTo("0/1A2B3C4:3");
    }

    @Test
    void unchanged_toast_column_is_left_out_of_record_and_listed() {
        JsonNode e = parse(format, Events.updateWithUnchangedToast());

        assertThat(Events.fieldNames(e.get("record"))).containsExactly("id", "title", "amount", "mood");
        assertThat(e.get("unchanged_toast")).isEqualTo(parse("[\"body\"]"));
        assertThat(e.get("old_record").isNull()).isTrue();
        assertThat(text(format, Events.updateWithUnchangedToast())).doesNotContain("\"body\":");
    }

    @Test
    void delete_takes_its_key_from_the_old_row_and_leaves_unsent_columns_out() {
        JsonNode e = parse(format, Events.delete());

        assertThat(e.get("op").asText()).isEqualTo("delete");
        assertThat(e.get("key")).isEqualTo(parse("{\"id\":5}"));
        assertThat(e.get("record").isNull()).isTrue();
        assertThat(e.get("old_record")).isEqualTo(parse("{\"id\":5}"));
    }

    @Test
    void truncate_has_no_rows_and_no_key() {
        JsonNode e = parse(format, Events.truncate());

        assertThat(e.get("op").asText()).isEqualTo("truncate");
        assertThat(e.get("key").isNull()).isTrue();
        assertThat(e.get("record").isNull()).isTrue();
        assertThat(e.get("old_record").isNull()).isTrue();
        assertThat(e.has("message")).isFalse();
    }

    @Test
    void table_without_key_columns_has_null_key() {
        Column a = new Column("a", "int4", INT4, false);
        Row row = new Row(java.util.List.of(a), new String[] {"1"});
        ChangeEvent event = new ChangeEvent(Op.INSERT, "public", "log", java.util.List.of(a), row, null,
                java.util.List.of(), Events.TX, 0, Events.CHANGE_LSN, null);

        assertThat(parse(format, event).get("key").isNull()).isTrue();
    }

    @Test
    void events_of_tables_and_lsns_in_turn_each_carry_their_own_names_and_lsn() {
        Column a = new Column("a", "int4", INT4, true);
        Row row = new Row(java.util.List.of(a), new String[] {"1"});
        Lsn first = Lsn.parse("0/10");
        Lsn second = Lsn.parse("0/20");
        for (int round = 0; round < 2; round++) {
            for (String[] table : new String[][] {{"public", "one"}, {"app", "two"}, {"public", "one"}}) {
                Lsn lsn = round == 0 ? first : second;
                JsonNode e = parse(format, new ChangeEvent(round == 0 ? Op.INSERT : Op.DELETE, new String(table[0]),
                        new String(table[1]), java.util.List.of(a), round == 0 ? row : null, round == 0 ? null : row,
                        java.util.List.of(), Events.TX, 0, lsn, null));
                assertThat(e.get("schema").asText()).isEqualTo(table[0]);
                assertThat(e.get("table").asText()).isEqualTo(table[1]);
                assertThat(e.get("op").asText()).isEqualTo(round == 0 ? "insert" : "delete");
                assertThat(e.get("lsn").asText()).isEqualTo(lsn.toString());
            }
        }
    }

    @Test
    void a_row_held_as_utf8_bytes_is_written_as_the_same_json_in_every_format() {
        ChangeEvent strings = Events.insert();
        byte[][] utf8 = new byte[strings.record().size()][];
        for (int i = 0; i < utf8.length; i++) {
            utf8[i] = strings.record().json(i).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        ChangeEvent bytes = new ChangeEvent(strings.op(), strings.schema(), strings.table(), strings.columns(),
                Row.ofUtf8(strings.columns(), utf8), null, java.util.List.of(), strings.tx(), strings.index(),
                strings.lsn(), null);
        assertThat(text(format, bytes)).isEqualTo(text(format, strings));
        for (String name : java.util.List.of("debezium", "cloudevents", "supabase")) {
            EventFormat f = EventFormat.named(name);
            assertThat(withoutWriteTime(parse(f, bytes))).as(name).isEqualTo(withoutWriteTime(parse(f, strings)));
        }
        assertThat(bytes.record()).isEqualTo(strings.record());
        assertThat(bytes.record().json("title")).isEqualTo("\"buy milk\"");
    }

    /** The event without the time it was written at (Debezium's top-level ts_*), which differs between two writes. */
    private static JsonNode withoutWriteTime(JsonNode event) {
        ((com.fasterxml.jackson.databind.node.ObjectNode) event).remove(java.util.List.of("ts_ms", "ts_us", "ts_ns"));
        return event;
    }

    @Test
    void text_message_has_its_content_as_text_and_as_base64() {
        ChangeEvent event = Events.textMessage();
        JsonNode e = parse(format, event);

        assertThat(Events.fieldNames(e)).containsExactly(
                "id", "op", "schema", "table", "key", "record", "old_record", "columns", "unchanged_toast", "tx", "lsn", "message");
        assertThat(e.get("op").asText()).isEqualTo("message");
        assertThat(e.get("schema").asText()).isEmpty();
        assertThat(e.get("table").asText()).isEqualTo("outbox");
        assertThat(e.get("columns")).isEqualTo(parse("[]"));
        assertThat(e.get("message").get("transactional").asBoolean()).isTrue();
        assertThat(e.get("message").get("prefix").asText()).isEqualTo("outbox");
        assertThat(e.get("message").get("content").asText()).isEqualTo("{\"order\":42,\"note\":\"naïve ☕\"}");
        assertThat(Base64.getDecoder().decode(e.get("message").get("content_base64").asText()))
                .isEqualTo(event.message().content());
    }

    @Test
    void binary_message_has_null_content_and_exact_base64() {
        ChangeEvent event = Events.binaryMessage();
        JsonNode e = parse(format, event);

        assertThat(e.at("/message/transactional").asBoolean()).isFalse();
        assertThat(e.at("/message/content").isNull()).isTrue();
        assertThat(e.at("/message/content_base64").asText()).isEqualTo("/wDDKA==");
        assertThat(e.at("/tx/xid").asLong()).isZero();
        assertThat(e.at("/tx/commit_lsn").asText()).isEqualTo("0/1A2B380");
    }

    @Test
    void names_needing_escapes_survive_the_round_trip() {
        String json = text(format, Events.oddNames());
        JsonNode e = parse(json);

        assertThat(e.get("schema").asText()).isEqualTo(Events.ODD_SCHEMA);
        assertThat(e.get("table").asText()).isEqualTo(Events.ODD_TABLE);
        assertThat(Events.fieldNames(e.get("record"))).containsExactly(Events.ODD_KEY.name(), Events.ODD_COLUMN.name());
        assertThat(e.get("record").get(Events.ODD_KEY.name()).asText()).isEqualTo("\u0000x");
        assertThat(e.get("record").get(Events.ODD_COLUMN.name())).isEqualTo(parse("[1,2,3]"));
        assertThat(e.get("key").get(Events.ODD_KEY.name()).asText()).isEqualTo("\u0000x");
        assertThat(e.at("/columns/1/name").asText()).isEqualTo(Events.ODD_COLUMN.name());
        assertThat(json).doesNotContain("\n").contains("\\\"q\\\"").contains("\\u0001");
    }

    @Test
    void commit_time_always_has_six_fraction_digits() {
        ChangeEvent whole = new ChangeEvent(Op.TRUNCATE, "public", "todos", Events.COLUMNS, null, null, java.util.List.of(),
                new Transaction(1, Events.COMMIT_LSN, java.time.Instant.parse("2026-01-02T03:04:05Z")), 0, Events.CHANGE_LSN, null);

        assertThat(parse(format, whole).at("/tx/commit_time").asText()).isEqualTo("2026-01-02T03:04:05.000000Z");
    }
}
