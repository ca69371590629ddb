package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code config.broadcast.replay}: a join gets the newest stored broadcasts of its topic since a
 * time, oldest first, marked {@code replayed}, then live ones — none twice.
 */
@Tag("postgres")
class BroadcastReplayTest {
    private static ServeHarness serve;

    @BeforeAll
    static void start() throws Exception {
        serve = ServeHarness.start();
        BroadcastClientsTest.installRealtimeSql(serve);
    }

    @AfterAll
    static void stop() {
        serve.close();
    }

    @Test
    void a_join_with_replay_gets_the_newest_stored_broadcasts_since_then_oldest_first_and_then_live_ones_once() throws Exception {
        serve.sql("INSERT INTO realtime.messages (topic, event, payload, inserted_at) VALUES ('replay-room', 'old', '{\"n\": 0}', "
                + "now() - interval '1 hour')");
        long since = System.currentTimeMillis() - 60_000;
        List<String> sends = new ArrayList<>();
        for (int n = 1; n <= 8; n++) {
            sends.add("SELECT realtime.send('{\"n\": " + n + "}', 'e" + n + "', 'replay-room', false)");
        }
        sends.add("SELECT realtime.send('{\"n\": 99}', 'private', 'replay-room')"); // private: not for a public channel
        sends.add("SELECT realtime.send('{\"n\": 98}', 'elsewhere', 'other-room', false)");
        serve.sqlSettled(sends.toArray(String[]::new)); // streamed before the join: only the replay brings them
        try (RawSocket c = RawSocket.open(serve.ws("vsn=1.0.0"))) {
            c.send(RawSocket.join("realtime:replay-room", "1", "{\"config\":{\"broadcast\":{\"replay\":{\"since\":" + since
                    + ",\"limit\":5}}}}"));
            assertThat(c.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");
            serve.sql("SELECT realtime.send('{\"n\": 9}', 'live', 'replay-room', false)");
            List<JsonNode> got = c.until(n -> n.path("event").asText().equals("broadcast")
                    && n.at("/payload/event").asText().equals("live")).stream()
                    .filter(n -> n.path("event").asText().equals("broadcast")).toList();
            assertThat(got.stream().map(n -> n.at("/payload/event").asText()).toList())
                    .as("the 5 newest since the time, oldest first, then the live one")
                    .containsExactly("e4", "e5", "e6", "e7", "e8", "live");
            assertThat(got.subList(0, 5)).allSatisfy(n -> {
                assertThat(n.at("/payload/meta/replayed").asBoolean()).isTrue();
                assertThat(n.at("/payload/meta/id").asText()).matches("[0-9a-f-]{36}");
            });
            assertThat(got.get(0).at("/payload/payload/n").asInt()).isEqualTo(4);
            assertThat(got.get(5).at("/payload/meta").has("replayed")).as("a live one is not marked").isFalse();
        }
    }

    @Test
    void a_broadcast_stored_while_joining_arrives_once_replayed_or_live() throws Exception {
        try (RawSocket c = RawSocket.open(serve.ws("vsn=1.0.0"))) {
            serve.sql("SELECT realtime.send('{}', 'racing', 'race-room', false)");
            // joined at once: the stream may or may not have delivered the row yet
            c.send(RawSocket.join("realtime:race-room", "1", "{\"config\":{\"broadcast\":{\"replay\":{\"since\":0}}}}"));
            serve.sql("SELECT realtime.send('{}', 'marker', 'race-room', false)");
            List<String> events = c.until(n -> n.at("/payload/event").asText().equals("marker")).stream()
                    .filter(n -> n.path("event").asText().equals("broadcast")).map(n -> n.at("/payload/event").asText()).toList();
            assertThat(events).containsExactly("racing", "marker");
        }
    }

    @Test
    void replay_params_that_are_not_numbers_are_refused_saying_what_they_are() throws Exception {
        try (RawSocket c = RawSocket.open(serve.ws("vsn=1.0.0"))) {
            c.send(RawSocket.join("realtime:replay-bad", "1", "{\"config\":{\"broadcast\":{\"replay\":{\"since\":\"yesterday\"}}}}"));
            JsonNode reply = c.awaitReply("1");
            assertThat(reply.at("/payload/status").asText()).isEqualTo("error");
            assertThat(reply.at("/payload/response/reason").asText()).startsWith("UnableToReplayMessages: Replay params are not valid:"
                    + " config.broadcast.replay is {since: <milliseconds since 1970>, limit: <1 to 25>}");
        }
    }
}
