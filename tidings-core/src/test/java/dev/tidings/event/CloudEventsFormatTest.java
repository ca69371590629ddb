package dev.tidings.event;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;

import static dev.tidings.event.Events.parse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Tag("unit")
class CloudEventsFormatTest {
    private final CloudEventsFormat format = new CloudEventsFormat("/tidings/shop");

    @Test
    void insert_has_the_required_and_chosen_optional_attributes_and_the_tidings_event_as_data() {
        JsonNode e = parse(format, Events.insert());

        assertThat(Events.fieldNames(e)).containsExactly(
                "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data");
        assertThat(e.get("specversion").asText()).isEqualTo("1.0");
        assertThat(e.get("id").asText()).isEqualTo("0/1A2B3C4:2");
        assertThat(e.get("source").asText()).isEqualTo("/tidings/shop");
        assertThat(e.get("type").asText()).isEqualTo("dev.tidings.row.inserted");
        assertThat(e.get("subject").asText()).isEqualTo("public.todos");
        assertThat(e.get("time").asText()).isEqualTo("2026-11-27T10:00:00.123456Z");
        assertThat(e.get("datacontenttype").asText()).isEqualTo("application/json");
        assertThat(e.get("data")).isEqualTo(parse(TidingsFormat.DEFAULT, Events.insert()));
        assertThat(e.at("/data/record/amount").decimalValue()).isEqualTo(new BigDecimal(Events.BIG_DECIMAL));
    }

    @Test
    void every_op_has_its_own_type() {
        assertThat(parse(format, Events.updateWithKeyChange()).get("type").asText()).isEqualTo("dev.tidings.row.updated");
        assertThat(parse(format, Events.delete()).get("type").asText()).isEqualTo("dev.tidings.row.deleted");
        assertThat(parse(format, Events.truncate()).get("type").asText()).isEqualTo("dev.tidings.table.truncated");
        assertThat(parse(format, Events.textMessage()).get("type").asText()).isEqualTo("dev.tidings.message");
    }

    @Test
    void update_and_delete_carry_their_rows_in_data() {
        JsonNode update = parse(format, Events.updateWithKeyChange());
        assertThat(update.at("/data/old_record")).isEqualTo(parse("{\"id\":5}"));
        assertThat(update.at("/data/key")).isEqualTo(parse("{\"id\":6}"));

        JsonNode toast = parse(format, Events.updateWithUnchangedToast());
        assertThat(toast.at("/data/record").has("body")).isFalse();
        assertThat(toast.at("/data/unchanged_toast")).isEqualTo(parse("[\"body\"]"));

        assertThat(parse(format, Events.delete()).at("/data/record").isNull()).isTrue();
    }

    @Test
    void message_subject_is_its_prefix() {
        JsonNode e = parse(format, Events.binaryMessage());

        assertThat(e.get("subject").asText()).isEqualTo("bin");
        assertThat(e.at("/data/message/content_base64").asText()).isEqualTo("/wDDKA==");
    }

    @Test
    void names_needing_escapes_survive_the_round_trip() {
        JsonNode e = parse(format, Events.oddNames());

        assertThat(e.get("subject").asText()).isEqualTo(Events.ODD_SCHEMA + "." + Events.ODD_TABLE);
        assertThat(e.at("/data/table").asText()).isEqualTo(Events.ODD_TABLE);
    }

    @Test
    void default_source_is_slash_tidings() {
        assertThat(parse(EventFormat.named("CloudEvents"), Events.insert()).get("source").asText()).isEqualTo("/tidings");
    }

    @Test
    void source_must_be_a_non_empty_uri_reference() {
        assertThatThrownBy(() -> new CloudEventsFormat("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("URI-reference");
        assertThatThrownBy(() -> new CloudEventsFormat("/tidings/my db")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("percent-encode");
        assertThat(new CloudEventsFormat("postgres://db.internal/shop").source()).isEqualTo("postgres://db.internal/shop");
    }
}
