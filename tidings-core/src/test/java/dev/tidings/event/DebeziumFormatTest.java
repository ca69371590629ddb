package dev.tidings.event;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;

import static dev.tidings.event.Events.parse;
import static dev.tidings.event.Events.text;
import static org.assertj.core.api.Assertions.assertThat;

@Tag("unit")
class DebeziumFormatTest {
    private static final Instant NOW = Instant.parse("2026-11-27T10:00:01.500250750Z");
    private final DebeziumFormat format = new DebeziumFormat("inventory-server", "shop", InstantSource.fixed(NOW));

    @Test
    void insert_is_a_create_with_after_and_the_full_source_block() {
        JsonNode e = parse(format, Events.insert());

        assertThat(Events.fieldNames(e)).containsExactly("before", "after", "source", "op", "ts_ms", "ts_us", "ts_ns", "transaction");
        assertThat(e.get("before").isNull()).isTrue();
        assertThat(e.get("after")).isEqualTo(parse(
                "{\"id\":5,\"title\":\"buy milk\",\"amount\":" + Events.BIG_DECIMAL + ",\"body\":\"long text\",\"mood\":\"happy\"}"));
        assertThat(e.get("op").asText()).isEqualTo("c");
        assertThat(e.get("ts_ms").asLong()).isEqualTo(NOW.toEpochMilli());
        assertThat(e.get("ts_us").asLong()).isEqualTo(1_795_773_601_500_250L);
        assertThat(e.get("ts_ns").asLong()).isEqualTo(1_795_773_601_500_250_750L);
        assertThat(e.get("transaction").isNull()).isTrue();

        JsonNode source = e.get("source");
        assertThat(Events.fieldNames(source)).containsExactly("version", "connector", "name", "ts_ms", "snapshot", "db",
                "sequence", "ts_us", "ts_ns", "schema", "table", "txId", "lsn", "xmin");
        assertThat(source.get("version").asText()).isNotEmpty();
        assertThat(source.get("connector").asText()).isEqualTo("postgresql");
        assertThat(source.get("name").asText()).isEqualTo("inventory-server");
        assertThat(source.get("ts_ms").asLong()).isEqualTo(Events.COMMIT_TIME.toEpochMilli());
        assertThat(source.get("ts_us").asLong()).isEqualTo(1_795_773_600_123_456L);
        assertThat(source.get("ts_ns").asLong()).isEqualTo(1_795_773_600_123_456_000L);
        assertThat(source.get("snapshot").asText()).isEqualTo("false");
        assertThat(source.get("snapshot").isTextual()).isTrue();
        assertThat(source.get("db").asText()).isEqualTo("shop");
        assertThat(source.get("sequence").asText()).isEqualTo("[\"27440068\",\"27440000\"]");
        assertThat(parse(source.get("sequence").asText()).size()).isEqualTo(2);
        assertThat(source.get("schema").asText()).isEqualTo("public");
        assertThat(source.get("table").asText()).isEqualTo("todos");
        assertThat(source.get("txId").asLong()).isEqualTo(742);
        assertThat(source.get("lsn").asLong()).isEqualTo(Events.CHANGE_LSN.value());
        assertThat(source.get("xmin").isNull()).isTrue();
    }

    @Test
    void values_keep_to_jsonb_encodings_and_every_digit() {
        assertThat(text(format, Events.insert())).contains("\"amount\":12345678901234567890.123,");
        assertThat(parse(format, Events.insert()).at("/after/amount").decimalValue()).isEqualTo(new BigDecimal(Events.BIG_DECIMAL));
    }

    @Test
    void update_with_key_change_has_the_old_key_as_before() {
        JsonNode e = parse(format, Events.updateWithKeyChange());

        assertThat(e.get("op").asText()).isEqualTo("u");
        assertThat(e.get("before")).isEqualTo(parse("{\"id\":5}"));
        assertThat(e.at("/after/id").asInt()).isEqualTo(6);
        assertThat(e.at("/after/body").isNull()).isTrue();
    }

    @Test
    void update_keeping_its_key_has_null_before_and_leaves_unsent_toast_out_of_after() {
        JsonNode e = parse(format, Events.updateWithUnchangedToast());

        assertThat(e.get("before").isNull()).isTrue();
        assertThat(Events.fieldNames(e.get("after"))).containsExactly("id", "title", "amount", "mood");
        assertThat(text(format, Events.updateWithUnchangedToast())).doesNotContain("__debezium_unavailable_value");
    }

    @Test
    void delete_has_before_and_null_after() {
        JsonNode e = parse(format, Events.delete());

        assertThat(e.get("op").asText()).isEqualTo("d");
        assertThat(e.get("before")).isEqualTo(parse("{\"id\":5}"));
        assertThat(e.get("after").isNull()).isTrue();
    }

    @Test
    void truncate_is_op_t_with_null_before_and_after() {
        JsonNode e = parse(format, Events.truncate());

        assertThat(Events.fieldNames(e)).containsExactly("before", "after", "source", "op", "ts_ms", "ts_us", "ts_ns", "transaction");
        assertThat(e.get("op").asText()).isEqualTo("t");
        assertThat(e.get("before").isNull()).isTrue();
        assertThat(e.get("after").isNull()).isTrue();
        assertThat(e.at("/source/table").asText()).isEqualTo("todos");
    }

    @Test
    void message_has_debeziums_message_shape_with_base64_content() {
        ChangeEvent event = Events.textMessage();
        JsonNode e = parse(format, event);

        assertThat(Events.fieldNames(e)).containsExactly("op", "ts_ms", "ts_us", "ts_ns", "source", "message");
        assertThat(e.get("op").asText()).isEqualTo("m");
        assertThat(e.at("/source/schema").asText()).isEmpty();
        assertThat(e.at("/source/table").asText()).isEmpty();
        assertThat(e.at("/source/txId").asLong()).isEqualTo(742);
        assertThat(Events.fieldNames(e.get("message"))).containsExactly("prefix", "content");
        assertThat(e.at("/message/prefix").asText()).isEqualTo("outbox");
        assertThat(Base64.getDecoder().decode(e.at("/message/content").asText())).isEqualTo(event.message().content());
    }

    @Test
    void non_transactional_message_has_null_txId() {
        JsonNode e = parse(format, Events.binaryMessage());

        assertThat(e.at("/source/txId").isNull()).isTrue();
        assertThat(e.at("/message/content").asText()).isEqualTo("/wDDKA==");
    }

    @Test
    void names_needing_escapes_survive_the_round_trip() {
        JsonNode e = parse(format, Events.oddNames());

        assertThat(e.at("/source/schema").asText()).isEqualTo(Events.ODD_SCHEMA);
        assertThat(e.at("/source/table").asText()).isEqualTo(Events.ODD_TABLE);
        assertThat(Events.fieldNames(e.get("after"))).containsExactly(Events.ODD_KEY.name(), Events.ODD_COLUMN.name());
    }

    @Test
    void default_instance_names_the_server_tidings_and_uses_the_wall_clock() {
        long before = System.currentTimeMillis();
        JsonNode e = parse(EventFormat.named("debezium"), Events.insert());

        assertThat(e.at("/source/name").asText()).isEqualTo("tidings");
        assertThat(e.at("/source/db").asText()).isEmpty();
        assertThat(e.get("ts_ms").asLong()).isBetween(before, System.currentTimeMillis());
    }
}
