package dev.tidings.event;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Tag("unit")
class EventFormatTest {

    @Test
    void named_finds_each_format_in_any_case() {
        assertThat(EventFormat.named("tidings")).isInstanceOf(TidingsFormat.class);
        assertThat(EventFormat.named("DEBEZIUM")).isInstanceOf(DebeziumFormat.class);
        assertThat(EventFormat.named("CloudEvents")).isInstanceOf(CloudEventsFormat.class);
        assertThat(EventFormat.named("Supabase")).isInstanceOf(SupabaseFormat.class);
    }

    @Test
    void unknown_name_is_refused_with_the_valid_names() {
        assertThatThrownBy(() -> EventFormat.named("avro")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'avro'").hasMessageContaining("tidings, debezium, cloudevents, supabase");
        assertThatThrownBy(() -> EventFormat.named(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void all_lists_every_format_once_default_first_and_each_finds_itself_by_name() {
        List<EventFormat> all = EventFormat.all();

        assertThat(all).extracting(EventFormat::name).containsExactly("tidings", "debezium", "cloudevents", "supabase");
        for (EventFormat f : all) {
            assertThat(EventFormat.named(f.name())).isSameAs(f);
        }
    }

    @Test
    void to_bytes_matches_writing_to_a_generator() throws Exception {
        // Debezium's top-level ts_ms is the wall clock unless the clock is fixed.
        DebeziumFormat debezium = new DebeziumFormat("tidings", "", java.time.InstantSource.fixed(Events.COMMIT_TIME));
        for (EventFormat f : List.of(TidingsFormat.DEFAULT, debezium, CloudEventsFormat.DEFAULT, SupabaseFormat.DEFAULT)) {
            StringWriter text = new StringWriter();
            try (JsonGenerator out = new JsonFactory().createGenerator(text)) {
                f.write(Events.updateWithKeyChange(), out);
            }
            assertThat(Events.text(f, Events.updateWithKeyChange())).as(f.name()).isEqualTo(text.toString());
        }
    }

    @Test
    void formats_write_consecutive_events_to_one_generator() throws Exception {
        StringWriter text = new StringWriter();
        try (JsonGenerator out = new JsonFactory().createGenerator(text)) {
            out.setRootValueSeparator(new com.fasterxml.jackson.core.io.SerializedString("\n"));
            TidingsFormat.DEFAULT.write(Events.insert(), out);
            TidingsFormat.DEFAULT.write(Events.delete(), out);
        }
        String[] lines = text.toString().split("\n");

        assertThat(lines).hasSize(2);
        assertThat(Events.parse(lines[1]).get("op").asText()).isEqualTo("delete");
    }

    @Test
    void formats_are_safe_to_share_between_threads() throws Exception {
        List<ChangeEvent> events = List.of(Events.insert(), Events.updateWithKeyChange(), Events.updateWithUnchangedToast(),
                Events.delete(), Events.oddNames());
        EventFormat format = EventFormat.named("cloudevents");
        List<String> expected = events.stream().map(e -> Events.text(format, e)).toList();

        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                Callable<Boolean> task = () -> {
                    for (int i = 0; i < 2_000; i++) {
                        int k = i % events.size();
                        if (!Events.text(format, events.get(k)).equals(expected.get(k))) {
                            return false;
                        }
                    }
                    return true;
                };
                results.add(pool.submit(task));
            }
            for (Future<Boolean> r : results) {
                assertThat(r.get()).isTrue();
            }
        }
    }

    @Test
    void configured_formats_are_equal_by_configuration() {
        assertThat(new CloudEventsFormat("/a")).isEqualTo(new CloudEventsFormat("/a")).isNotEqualTo(new CloudEventsFormat("/b"));
        assertThat(new DebeziumFormat("s", "db")).isEqualTo(new DebeziumFormat("s", "db")).isNotEqualTo(new DebeziumFormat("s", "other"));
        assertThat(new DebeziumFormat("s", "db")).hasSameHashCodeAs(new DebeziumFormat("s", "db"));
    }
}
