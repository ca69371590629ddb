package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.cli.InstallRealtimeSqlCommand;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Broadcast and Presence between published realtime-js 2.x clients (2.119.1, on its default
 * serializer vsn 2.0.0, whose broadcasts are binary frames, and on vsn 1.0.0, whose are JSON)
 * through {@code tidings serve}: self and ack, binary payloads, {@code httpSend}, order under a
 * burst, presence sync and leave, a private channel no policy admits refused, and broadcasts from SQL
 * ({@link PrivateChannelsTest} has private channels with policies). realtime-js
 * 1.x has neither Broadcast nor Presence. The per-client broadcast rate limits are off here (the
 * burst would hit them); {@link BroadcastProtocolTest} covers them.
 */
@Timeout(120)
class BroadcastClientsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ServeHarness serve;

    @BeforeAll
    static void start() throws Exception {
        NodeClient.installPackages();
        serve = ServeHarness.start(Map.of("limits.events_per_second", "0", "limits.bytes_per_second", "0"));
        installRealtimeSql(serve);
    }

    @AfterAll
    static void stop() {
        serve.close();
    }

    @Test
    void v2_broadcast_reaches_the_other_client_and_not_the_sender_without_self() throws Exception {
        try (NodeClient a = room("chat-1", Map.of()); NodeClient b = room("chat-1", Map.of())) {
            a.tell("{\"send\":\"message\",\"payload\":{\"text\":\"hello\",\"n\":1}}");
            assertThat(a.await("SENT ")).isEqualTo("SENT ok");
            JsonNode got = broadcast(b);
            assertThat(got.get("event").asText()).isEqualTo("message");
            assertThat(got.get("payload").toString()).isEqualTo("{\"text\":\"hello\",\"n\":1}");

            b.tell("{\"send\":\"message\",\"payload\":{\"text\":\"back\"}}");
            // a's first broadcast is b's: its own was not sent back to it
            assertThat(broadcast(a).get("payload").get("text").asText()).isEqualTo("back");
        }
    }

    @Test
    void self_on_gives_the_sender_its_own_broadcast() throws Exception {
        try (NodeClient a = room("chat-2", Map.of("SELF", "1"))) {
            a.tell("{\"send\":\"note\",\"payload\":{\"mine\":true}}");
            assertThat(broadcast(a).get("payload").get("mine").asBoolean()).isTrue();
        }
    }

    @Test
    void ack_on_resolves_send_with_the_servers_reply() throws Exception {
        try (NodeClient a = room("chat-3", Map.of("ACK", "1")); NodeClient b = room("chat-3", Map.of())) {
            a.tell("{\"send\":\"note\",\"payload\":{\"x\":1}}");
            // without the server's reply, realtime-js would report "timed out" after 10 s
            assertThat(a.await(l -> l.startsWith("SENT "), Duration.ofSeconds(8))).isEqualTo("SENT ok");
            assertThat(broadcast(b).get("payload").get("x").asInt()).isEqualTo(1);
        }
    }

    @Test
    void vsn_1_and_vsn_2_clients_exchange_json_broadcasts() throws Exception {
        try (NodeClient v1 = room("chat-4", Map.of("VSN", "1.0.0")); NodeClient v2 = room("chat-4", Map.of())) {
            v2.tell("{\"send\":\"from-v2\",\"payload\":{\"k\":\"binary frame in\"}}");
            JsonNode atV1 = broadcast(v1);
            assertThat(atV1.get("event").asText()).isEqualTo("from-v2");
            assertThat(atV1.get("payload").get("k").asText()).isEqualTo("binary frame in");

            v1.tell("{\"send\":\"from-v1\",\"payload\":{\"k\":\"json in\"}}");
            JsonNode atV2 = broadcast(v2);
            assertThat(atV2.get("event").asText()).isEqualTo("from-v1");
            assertThat(atV2.get("payload").get("k").asText()).isEqualTo("json in");
        }
    }

    @Test
    void vsn_1_client_with_self_and_ack_gets_the_reply_and_its_own_broadcast() throws Exception {
        try (NodeClient a = room("chat-5", Map.of("VSN", "1.0.0", "SELF", "1", "ACK", "1"))) {
            a.tell("{\"send\":\"echo\",\"payload\":{\"v\":1}}");
            // the server relays, then replies: its own broadcast comes first
            assertThat(broadcast(a).get("payload").get("v").asInt()).isEqualTo(1);
            assertThat(a.await(l -> l.startsWith("SENT "), Duration.ofSeconds(8))).isEqualTo("SENT ok");
        }
    }

    @Test
    void binary_payload_arrives_as_the_same_bytes() throws Exception {
        try (NodeClient a = room("bytes-1", Map.of()); NodeClient b = room("bytes-1", Map.of())) {
            a.tell("{\"sendBinary\":\"blob\",\"hex\":\"00ff10e282ac7b\"}");
            JsonNode got = broadcast(b);
            assertThat(got.get("event").asText()).isEqualTo("blob");
            assertThat(got.get("payload").get("hex").asText()).isEqualTo("00ff10e282ac7b");
        }
    }

    @Test
    void http_send_reaches_the_subscribers_of_the_topic() throws Exception {
        try (NodeClient a = room("rest-1", Map.of()); NodeClient b = room("rest-1", Map.of())) {
            a.tell("{\"http\":\"from-rest\",\"payload\":{\"via\":\"http\"}}");
            assertThat(a.await("HTTP ")).isEqualTo("HTTP ok");
            JsonNode got = broadcast(b);
            assertThat(got.get("event").asText()).isEqualTo("from-rest");
            assertThat(got.get("payload").get("via").asText()).isEqualTo("http");
        }
    }

    @Test
    void a_thousand_broadcasts_arrive_all_and_in_the_order_sent() throws Exception {
        try (NodeClient a = room("burst-1", Map.of()); NodeClient b = room("burst-1", Map.of())) {
            a.tell("{\"burst\":1000,\"event\":\"n\"}");
            for (int i = 0; i < 1000; i++) {
                assertThat(broadcast(b).get("payload").get("i").asInt()).isEqualTo(i);
            }
            assertThat(a.await("BURST ")).isEqualTo("BURST ok");
        }
    }

    @Test
    void three_tracked_clients_see_each_other_and_a_leave_when_one_disconnects() throws Exception {
        try (NodeClient a = presence("lobby", "alice"); NodeClient b = presence("lobby", "bob");
             NodeClient c = presence("lobby", "carol")) {
            for (NodeClient n : List.of(a, b, c)) {
                n.tell("{\"track\":{\"status\":\"online\"}}");
            }
            for (NodeClient n : List.of(a, b, c)) {
                JsonNode state = JSON.readTree(n.await(l -> l.startsWith("SYNC ") && l.contains("alice") && l.contains("bob")
                        && l.contains("carol"), Duration.ofSeconds(20)).substring(5));
                assertThat(state.get("bob").get(0).get("status").asText()).isEqualTo("online");
                assertThat(state.get("bob").get(0).get("presence_ref").asText()).isNotEmpty();
                if (!n.seen().contains("TRACK ok")) {
                    assertThat(n.await("TRACK ")).isEqualTo("TRACK ok");
                }
            }
            c.kill();
            assertThat(a.await("LEAVE ")).isEqualTo("LEAVE carol");
            assertThat(b.await("LEAVE ")).isEqualTo("LEAVE carol");
            JsonNode after = JSON.readTree(a.await("SYNC ").substring(5));
            assertThat(after.fieldNames()).toIterable().containsExactlyInAnyOrder("alice", "bob");
        }
    }

    @Test
    void untrack_removes_the_presence_for_the_others() throws Exception {
        try (NodeClient a = presence("lobby-2", "alice"); NodeClient b = presence("lobby-2", "bob")) {
            b.tell("{\"track\":{\"typing\":false}}");
            a.await(l -> l.equals("JOIN bob"), Duration.ofSeconds(20));
            b.tell("{\"untrack\":true}");
            assertThat(b.await("UNTRACK ")).isEqualTo("UNTRACK ok");
            assertThat(a.await("LEAVE ")).isEqualTo("LEAVE bob");
        }
    }

    @Test
    void private_channel_that_no_policy_admits_is_refused_with_supabases_unauthorized_error() throws Exception {
        try (NodeClient a = NodeClient.run(Map.of("PRIVATE", "1"), "room.js", serve.socket(), "secret-room")) {
            assertThat(a.await("CHANNEL_ERROR")).isEqualTo(
                    "CHANNEL_ERROR Unauthorized: You do not have permissions to read from this Channel topic: secret-room");
        }
    }

    @Test
    void realtime_send_in_sql_reaches_subscribers_and_private_messages_do_not() throws Exception {
        try (NodeClient a = room("db-room", Map.of())) {
            serve.sql("SELECT realtime.send('{\"secret\": true}', 'hidden', 'db-room')", // private by default
                    "SELECT realtime.send('{\"from\": \"sql\"}', 'db-event', 'db-room', false)");
            JsonNode got = broadcast(a);
            assertThat(got.get("event").asText()).isEqualTo("db-event");
            assertThat(got.get("payload").get("from").asText()).isEqualTo("sql");
            assertThat(got.get("meta").get("id").asText()).isEqualTo(got.get("payload").get("id").asText()).hasSize(36);
        }
    }

    @Test
    void broadcast_changes_in_a_row_trigger_sends_the_row() throws Exception {
        serve.sql("CREATE TABLE rooms (id int PRIMARY KEY, name text)",
                "CREATE FUNCTION rooms_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        + "PERFORM realtime.send(jsonb_build_object('record', to_jsonb(NEW)), TG_OP, 'rooms-topic', false); "
                        + "PERFORM realtime.broadcast_changes('rooms-private', TG_OP, TG_OP, TG_TABLE_NAME, TG_TABLE_SCHEMA, NEW, OLD); "
                        + "RETURN NEW; END $$",
                "CREATE TRIGGER rooms_changed AFTER INSERT ON rooms FOR EACH ROW EXECUTE FUNCTION rooms_changed()");
        try (NodeClient a = room("rooms-topic", Map.of())) {
            serve.sql("INSERT INTO rooms VALUES (1, 'kitchen')");
            JsonNode got = broadcast(a);
            assertThat(got.get("event").asText()).isEqualTo("INSERT");
            assertThat(got.get("payload").get("record").get("name").asText()).isEqualTo("kitchen");
        }
        try (var c = TestPostgres.connect(serve.jdbcUrl); var s = c.createStatement();
             var r = s.executeQuery("SELECT count(*) FROM realtime.messages WHERE topic = 'rooms-private' "
                     + "AND payload->>'operation' = 'INSERT' AND payload->'record'->>'name' = 'kitchen'")) {
            r.next();
            assertThat(r.getLong(1)).isEqualTo(1); // broadcast_changes stored it (private by default: not for a public channel)
        }
    }

    private static NodeClient room(String topic, Map<String, String> env) throws Exception {
        NodeClient c = NodeClient.run(env, "room.js", serve.socket(), topic);
        try {
            c.await("SUBSCRIBED");
            return c;
        } catch (AssertionError | InterruptedException e) {
            c.close();
            throw e;
        }
    }

    private static NodeClient presence(String topic, String key) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("PRESENCE", "1");
        env.put("KEY", key);
        return room(topic, env);
    }

    private static JsonNode broadcast(NodeClient c) throws Exception {
        return JSON.readTree(c.await("BROADCAST ").substring("BROADCAST ".length()));
    }

    /** Runs {@code tidings install-realtime-sql} against the harness's database. */
    static void installRealtimeSql(ServeHarness serve) {
        java.io.StringWriter out = new java.io.StringWriter();
        picocli.CommandLine cli = new picocli.CommandLine(new InstallRealtimeSqlCommand());
        cli.setOut(new java.io.PrintWriter(out));
        int exit = cli.execute("--db", serve.jdbcUrl);
        assertThat(exit).as(out.toString()).isZero();
        assertThat(out.toString()).contains("installed realtime.messages").contains("already publishes realtime.messages");
    }
}
