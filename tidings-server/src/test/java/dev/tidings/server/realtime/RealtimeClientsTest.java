package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The published realtime-js clients — 0.9.0 running the classic 0.x walkthrough verbatim, 1.7.5 and 2.x — against
 * {@code tidings serve} on a real PostgreSQL: inserts, updates, deletes and filtered changes.
 */
@Timeout(120)
@Tag("postgres")
@Tag("process")
class RealtimeClientsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ServeHarness serve;

    @BeforeAll
    static void start() throws Exception {
        NodeClient.installPackages();
        serve = ServeHarness.start();
    }

    @AfterAll
    static void stop() {
        serve.close();
    }

    @BeforeEach
    void emptyTables() {
        serve.sqlSettled("DELETE FROM todos", "DELETE FROM notes");
    }

    @Test
    void the_0x_walkthrough_prints_data_update_lines_for_every_change_in_the_public_schema() throws Exception {
        String url = "http://127.0.0.1:" + serve.server.port() + "/socket";
        try (NodeClient walkthrough = NodeClient.run(Map.of("REALTIME_URL", url), "run-walkthrough.js")) {
            walkthrough.await("SchemaListener connected");
            serve.sql("INSERT INTO todos (id, title) VALUES (1, 'buy milk')",
                    "UPDATE todos SET done = true WHERE id = 1",
                    "INSERT INTO notes (body) VALUES ('hello')",
                    "DELETE FROM todos WHERE id = 1");

            List<String> lines = walkthrough.collect("DATA UPDATE", 4);
            assertThat(json(lines.get(0).substring("DATA UPDATE ".length())).get("title").asText()).isEqualTo("buy milk");
            assertThat(json(lines.get(1).substring("DATA UPDATE ".length())).get("done").asBoolean()).isTrue();
            assertThat(json(lines.get(2).substring("DATA UPDATE ".length())).get("body").asText()).isEqualTo("hello");
            assertThat(lines.get(3).strip()).isEqualTo("DATA UPDATE"); // a delete has no record
        }
    }

    @Test
    void v1_client_gets_inserts_updates_and_deletes_of_a_table_topic() throws Exception {
        try (NodeClient client = NodeClient.run(Map.of(), "v1-listen.js", serve.socket(), "realtime:public:todos", "*")) {
            client.await("SUBSCRIBED");
            serve.sql("INSERT INTO todos (id, title) VALUES (5, 'buy milk')",
                    "INSERT INTO notes (body) VALUES ('not this one')",
                    "UPDATE todos SET done = true WHERE id = 5",
                    "DELETE FROM todos WHERE id = 5",
                    "INSERT INTO todos (id, title) VALUES (6, 'last')");

            // the change to notes would have come before the last insert
            List<JsonNode> changes = payloads(client.collect("CHANGE ", 4));
            assertThat(changes).extracting(c -> c.get("type").asText()).containsExactly("INSERT", "UPDATE", "DELETE", "INSERT");
            assertThat(changes.get(3).get("record").get("id").asInt()).isEqualTo(6);
            assertThat(changes.get(0).get("record").toString())
                    .startsWith("{\"id\":5,\"title\":\"buy milk\",\"done\":false,\"inserted_at\":\"");
            assertThat(changes.get(1).get("old_record").toString()).isEqualTo("{\"id\":5}");
            assertThat(changes.get(2).get("old_record").toString()).isEqualTo("{\"id\":5}");
            assertThat(changes.get(0).get("columns").toString()).startsWith("[{\"name\":\"id\",\"type\":\"int8\"}");
        }
    }

    @Test
    void v1_client_with_an_eq_filter_topic_gets_only_that_row() throws Exception {
        try (NodeClient client = NodeClient.run(Map.of(), "v1-listen.js", serve.socket(), "realtime:public:todos:id=eq.5", "UPDATE")) {
            client.await("SUBSCRIBED");
            serve.sql("INSERT INTO todos (id, title) VALUES (4, 'a'), (5, 'b'), (50, 'c')",
                    "UPDATE todos SET done = true",
                    "UPDATE todos SET title = 'last' WHERE id = 5");

            // updates of rows 4 and 50 would have come before the last update of row 5
            List<JsonNode> changes = payloads(client.collect("CHANGE ", 2));
            assertThat(changes).extracting(c -> c.get("type").asText()).containsExactly("UPDATE", "UPDATE");
            assertThat(changes).extracting(c -> c.get("record").get("id").asInt()).containsExactly(5, 5);
            assertThat(changes.get(1).get("record").get("title").asText()).isEqualTo("last");
        }
    }

    @Test
    void v2_client_gets_postgres_changes_after_the_subscribed_system_message() throws Exception {
        try (NodeClient client = NodeClient.run(Map.of(), "v2-listen.js", serve.socket(), "*", "public", "todos")) {
            client.await("SUBSCRIBED");
            JsonNode system = payloads(List.of(client.await("SYSTEM "))).get(0);
            assertThat(system.get("message").asText()).isEqualTo("Subscribed to PostgreSQL");
            serve.sql("INSERT INTO todos (id, title) VALUES (7, 'write tests')",
                    "UPDATE todos SET title = 'write more tests' WHERE id = 7",
                    "DELETE FROM todos WHERE id = 7");

            List<JsonNode> changes = payloads(client.collect("CHANGE ", 3));
            assertThat(changes).extracting(c -> c.get("eventType").asText()).containsExactly("INSERT", "UPDATE", "DELETE");
            assertThat(changes.get(0).get("new").get("title").asText()).isEqualTo("write tests");
            assertThat(changes.get(1).get("new").get("title").asText()).isEqualTo("write more tests");
            assertThat(changes.get(2).get("old").toString()).isEqualTo("{\"id\":7}");
        }
    }

    @Test
    void v2_client_filter_compares_numbers_as_numbers_and_applies_to_deletes() throws Exception {
        try (NodeClient client = NodeClient.run(Map.of(), "v2-listen.js", serve.socket(), "*", "public", "todos", "id=gt.10")) {
            client.await("SYSTEM ");
            // as text, '9' > '10'; as numbers it is not
            serve.sql("INSERT INTO todos (id, title) VALUES (9, 'nine'), (100, 'hundred')",
                    "DELETE FROM todos WHERE id = 9",
                    "DELETE FROM todos WHERE id = 100",
                    "INSERT INTO todos (id, title) VALUES (101, 'last')");

            // changes of row 9 would have come before the last insert
            List<JsonNode> changes = payloads(client.collect("CHANGE ", 3));
            assertThat(changes).extracting(c -> c.get("eventType").asText()).containsExactly("INSERT", "DELETE", "INSERT");
            assertThat(changes.get(0).get("new").get("id").asInt()).isEqualTo(100);
            assertThat(changes.get(1).get("old").get("id").asInt()).isEqualTo(100);
            assertThat(changes.get(2).get("new").get("id").asInt()).isEqualTo(101);
        }
    }

    @Test
    void v2_client_speaking_vsn_1_on_the_realtime_v1_mount_gets_only_its_event() throws Exception {
        String url = "ws://127.0.0.1:" + serve.server.port() + "/realtime/v1";
        try (NodeClient client = NodeClient.run(Map.of("VSN", "1.0.0"), "v2-listen.js", url, "UPDATE", "public", "todos",
                "done=eq.true")) {
            client.await("SYSTEM ");
            serve.sql("INSERT INTO todos (id, title) VALUES (1, 'a'), (2, 'b')",
                    "UPDATE todos SET done = true WHERE id = 2",
                    "UPDATE todos SET title = 'still open' WHERE id = 1",
                    "UPDATE todos SET title = 'last' WHERE id = 2");

            // the inserts and the update of the open row would have come before the last update
            List<JsonNode> changes = payloads(client.collect("CHANGE ", 2));
            assertThat(changes).extracting(c -> c.get("eventType").asText()).containsExactly("UPDATE", "UPDATE");
            assertThat(changes).extracting(c -> c.get("new").get("id").asInt()).containsExactly(2, 2);
            assertThat(changes.get(1).get("new").get("title").asText()).isEqualTo("last");
        }
    }

    @Test
    void v2_client_with_a_bad_filter_is_subscribed_gets_the_reason_as_a_system_error_and_does_not_rejoin() throws Exception {
        try (NodeClient client = NodeClient.run(Map.of(), "v2-listen.js", serve.socket(), "*", "public", "todos", "id=eq.abc")) {
            client.await("SUBSCRIBED");
            JsonNode system = payloads(List.of(client.await("SYSTEM "))).get(0);
            assertThat(system.get("extension").asText()).isEqualTo("postgres_changes");
            assertThat(system.get("status").asText()).isEqualTo("error");
            assertThat(system.get("message").asText()).startsWith("Unable to subscribe to changes with given parameters.")
                    .endsWith("Exception: invalid input syntax for type bigint: \"abc\"");
            // a rejoin would print SUBSCRIBED or CHANNEL_ERROR again; the client heartbeats every second
            assertThatThrownBy(() -> client.await(l -> !l.isBlank(), Duration.ofSeconds(4)))
                    .as("nothing more: no rejoin").isInstanceOf(AssertionError.class);
        }
    }

    @Test
    void v2_client_with_text_filters_gets_rows_in_the_columns_collation_order_and_negated_like() throws Exception {
        serve.sql("CREATE TABLE IF NOT EXISTS words (id int PRIMARY KEY, w text COLLATE \"C\", note text)");
        try (NodeClient client = NodeClient.run(Map.of(), "v2-listen.js", serve.socket(), "INSERT", "public", "words",
                "w=lt.b,w=not.like.%z%")) {
            client.await("SYSTEM ");
            serve.sql("INSERT INTO words VALUES (1, 'B', 'upper case sorts first under C'), (2, 'c', 'no'), (3, 'az', 'no'),"
                    + " (4, 'a', 'last')");
            List<JsonNode> changes = payloads(client.collect("CHANGE ", 2));
            assertThat(changes).extracting(c -> c.get("new").get("id").asInt()).containsExactly(1, 4);
        }
    }

    private static List<JsonNode> payloads(List<String> lines) {
        return lines.stream().map(l -> json(l.substring(l.indexOf(' ') + 1))).toList();
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }
}
