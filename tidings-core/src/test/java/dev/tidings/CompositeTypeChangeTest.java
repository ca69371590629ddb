package dev.tidings;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.event.ChangeEvent;
import dev.tidings.testing.Json;
import dev.tidings.testing.Streams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ALTER TYPE … ADD/DROP ATTRIBUTE} of a composite type a published table uses: PostgreSQL
 * sends no Type message for it, so the writer built for the old shape meets values of the new one.
 * The stream must go on with the new shape, not stop (and stop again on every restart).
 */
@Tag("postgres")
class CompositeTypeChangeTest {

    @Test
    void a_composite_altered_mid_stream_is_looked_up_again_and_its_values_keep_to_jsonb() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TYPE address AS (street text, zip int)",
                    "CREATE TABLE person (id int PRIMARY KEY, home address)");
            s.start();
            s.sql("INSERT INTO person VALUES (1, ROW('Main St', 1000))");
            s.collector.await(1);
            JsonNode first = s.toJsonb("SELECT * FROM person WHERE id = 1").get(0);

            s.sql("ALTER TYPE address ADD ATTRIBUTE city text CASCADE",
                    "INSERT INTO person VALUES (2, ROW('Side St', 2000, 'Oslo'))");
            JsonNode second = s.toJsonb("SELECT * FROM person WHERE id = 2").get(0);
            s.collector.await(2);
            s.sql("ALTER TYPE address DROP ATTRIBUTE zip CASCADE",
                    "INSERT INTO person VALUES (3, ROW('Back St', 'Rome'))");
            JsonNode third = s.toJsonb("SELECT * FROM person WHERE id = 3").get(0);

            List<ChangeEvent> events = s.collector.await(3);
            assertThat(Json.row(events.get(0).record())).isEqualTo(first);
            assertThat(Json.row(events.get(1).record())).isEqualTo(second);
            assertThat(Json.row(events.get(1).record()).at("/home/city").asText()).isEqualTo("Oslo");
            assertThat(Json.row(events.get(2).record())).isEqualTo(third);
            assertThat(s.tidings().failure()).isNull();
            assertThat(s.tidings().reconnects()).as("no stop, no restart").isZero();
        }
    }

    @Test
    void a_value_written_before_an_alter_type_and_read_after_it_does_not_stop_the_stream() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TYPE address AS (street text, zip int)",
                    "CREATE TABLE person (id int PRIMARY KEY, home address)");
            s.start();
            s.stop();
            s.sql("INSERT INTO person VALUES (1, ROW('Main St', 1000))",
                    "ALTER TYPE address ADD ATTRIBUTE city text CASCADE",
                    "INSERT INTO person VALUES (2, ROW('Side St', 2000, 'Oslo'))");
            JsonNode second = s.toJsonb("SELECT * FROM person WHERE id = 2").get(0);

            try (Tidings again = Tidings.start(s.config(), s.collector)) {
                List<ChangeEvent> events = s.collector.await(2);
                // the catalog no longer knows the old shape: the old value comes as the text PostgreSQL sent
                assertThat(Json.row(events.get(0).record()).get("home").asText()).isEqualTo("(\"Main St\",1000)");
                assertThat(Json.row(events.get(1).record())).isEqualTo(second);
                assertThat(again.failure()).isNull();
            }
        }
    }
}
