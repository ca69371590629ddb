package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.sinks.ServeProcess;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Broadcast and Presence across nodes through {@code broadcast.relay} on the local NATS server
 * (a subject prefix of its own per run): two serve nodes in this JVM, and one in a JVM of its own
 * that is killed with SIGKILL; raw vsn 1.0.0 clients, and realtime-js 2.119.1 clients (vsn 2.0.0).
 */
@Tag("postgres")
@Tag("process")
@Timeout(180)
class BroadcastRelayTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String RELAY = "nats://127.0.0.1:4222/relaytest_" + ProcessHandle.current().pid() + "_" + System.nanoTime();
    private static ServeHarness a;
    private static ServeHarness b;

    @BeforeAll
    static void start() throws Exception {
        a = ServeHarness.start(Map.of("broadcast.relay", RELAY));
        b = ServeHarness.start(Map.of("broadcast.relay", RELAY));
    }

    @AfterAll
    static void stop() {
        a.close();
        b.close();
    }

    @Test
    void a_broadcast_on_one_node_reaches_a_client_on_the_other_once_and_the_sender_as_before() throws Exception {
        try (RawSocket onB = join(b.ws("vsn=1.0.0"), "room-1", "{\"self\":false}", null);
             RawSocket onA = join(a.ws("vsn=1.0.0"), "room-1", "{\"self\":true,\"ack\":true}", null)) {
            onA.send(broadcast("room-1", "2", 1));
            onA.send(broadcast("room-1", "3", 2));

            List<JsonNode> seenOnA = onA.until(BroadcastRelayTest::second);
            assertThat(countsOfFirst(seenOnA)).isEqualTo(1);
            assertThat(seenOnA).anyMatch(n -> n.path("event").asText().equals("phx_reply") && n.path("ref").asText().equals("2")
                    && n.path("payload").path("status").asText().equals("ok"));
            List<JsonNode> seenOnB = onB.until(BroadcastRelayTest::second);
            assertThat(countsOfFirst(seenOnB)).isEqualTo(1);
            assertThat(seenOnB.get(seenOnB.size() - 1).get("payload").toString())
                    .isEqualTo("{\"type\":\"broadcast\",\"event\":\"hi\",\"payload\":{\"n\":2}}");
        }
    }

    @Test
    void presence_tracked_on_one_node_is_in_the_other_nodes_state_and_diffs() throws Exception {
        try (RawSocket watcher = join(b.ws("vsn=1.0.0"), "lobby", "{\"self\":false}", "watcher");
             RawSocket tracker = join(a.ws("vsn=1.0.0"), "lobby", "{\"self\":false}", "tracker")) {
            assertThat(watcher.awaitEvent("presence_state").get("payload").toString()).isEqualTo("{}");
            tracker.send(track("lobby", "5", "{\"x\":1}"));

            JsonNode diff = watcher.awaitEvent("presence_diff").get("payload");
            assertThat(diff.get("joins").get("tracker").get("metas").get(0).get("x").asInt()).isEqualTo(1);
            try (RawSocket late = join(b.ws("vsn=1.0.0"), "lobby", "{\"self\":false}", "late")) {
                JsonNode state = late.awaitEvent("presence_state").get("payload");
                assertThat(state.get("tracker").get("metas").get(0).get("x").asInt()).isEqualTo(1);
            }
            tracker.send(untrack("lobby", "6"));
            JsonNode leave = watcher.await(n -> n.path("event").asText().equals("presence_diff")
                    && n.get("payload").get("leaves").has("tracker")).get("payload");
            assertThat(leave.get("joins").size()).isZero();
        }
    }

    @Test
    void the_members_of_a_killed_node_leave_the_other_nodes_presence(@TempDir Path dir) throws Exception {
        String db = TestPostgres.newDatabase();
        TestPostgres.execute(db, "CREATE PUBLICATION supabase_realtime FOR ALL TABLES");
        Path yaml = dir.resolve("node.yaml");
        Files.writeString(yaml, """
                {"db": {"url": "%s"}, "replication": {"slot": "relay_kill_%d", "temporary": true},
                 "broadcast": {"relay": "%s"}}""".formatted(db, ProcessHandle.current().pid(), RELAY));
        try (ServeProcess node = new ServeProcess(yaml, ServeProcess.freePort(), dir.resolve("node.log"), Map.of());
             RawSocket watcher = join(b.ws("vsn=1.0.0"), "doomed", "{\"self\":false}", "watcher")) {
            node.awaitReady(Duration.ofSeconds(60));
            assertThat(watcher.awaitEvent("presence_state").get("payload").toString()).isEqualTo("{}");
            RawSocket tracker = join("ws://127.0.0.1:" + node.port + "/socket/websocket?vsn=1.0.0", "doomed", "{\"self\":false}", "gone");
            tracker.send(track("doomed", "5", "{\"x\":1}"));
            assertThat(watcher.awaitEvent("presence_diff").get("payload").get("joins").has("gone")).isTrue();

            node.kill();
            tracker.close();
            JsonNode leave = watcher.awaitEvent("presence_diff").get("payload");
            assertThat(leave.get("leaves").get("gone").get("metas").get(0).get("x").asInt()).isEqualTo(1);
            assertThat(leave.get("joins").size()).isZero();
            assertThat(metric(b, "tidings_relay_nodes_lost_total")).as("the killed node counted as lost").isGreaterThanOrEqualTo(1);
            assertThat(metric(b, "tidings_relay_presence_leaves_total")).as("its presence left for silence").isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void relay_metrics_count_what_one_node_sent_and_the_other_received() throws Exception {
        double sentBefore = metric(a, "tidings_relay_messages_sent_total{kind=\"broadcast\"}");
        double receivedBefore = metric(b, "tidings_relay_messages_received_total{kind=\"broadcast\"}");
        try (RawSocket onB = join(b.ws("vsn=1.0.0"), "counted", "{\"self\":false}", null);
             RawSocket onA = join(a.ws("vsn=1.0.0"), "counted", "{\"self\":false}", null)) {
            onA.send(broadcast("counted", "2", 1));
            onA.send(broadcast("counted", "3", 2));
            onB.until(BroadcastRelayTest::second);
        }
        assertThat(metric(a, "tidings_relay_messages_sent_total{kind=\"broadcast\"}") - sentBefore).isEqualTo(2);
        Await.until(Duration.ofSeconds(10), "node b to count the 2 relayed broadcasts",
                () -> metric(b, "tidings_relay_messages_received_total{kind=\"broadcast\"}") - receivedBefore == 2);
        for (ServeHarness node : List.of(a, b)) {
            assertThat(metric(node, "tidings_relay_connected")).isEqualTo(1);
            assertThat(metric(node, "tidings_relay_nodes")).as("the other node is heard").isGreaterThanOrEqualTo(1);
            assertThat(metric(node, "tidings_relay_messages_sent_total{kind=\"heartbeat\"}")).isPositive();
            Await.until(Duration.ofSeconds(10), "a heartbeat of the other node (one a second)",
                    () -> metric(node, "tidings_relay_messages_received_total{kind=\"heartbeat\"}") > 0);
        }
    }

    /** The value of a series on the node's {@code /metrics} ({@code name} with its labels as Prometheus writes them). */
    private static double metric(ServeHarness node, String series) {
        String text;
        try {
            text = HTTP.send(HttpRequest.newBuilder(URI.create(node.http("/metrics"))).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (java.io.IOException | InterruptedException e) {
            throw new AssertionError("GET /metrics: " + e, e);
        }
        for (String line : text.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        throw new AssertionError(series + " is not on /metrics:\n" + text);
    }

    @Test
    void realtime_js_clients_on_two_nodes_see_each_others_presence_and_broadcasts() throws Exception {
        try (NodeClient alice = NodeClient.run(Map.of("PRESENCE", "1", "KEY", "alice"), "room.js", a.socket(), "js-room");
             NodeClient bob = NodeClient.run(Map.of("PRESENCE", "1", "KEY", "bob"), "room.js", b.socket(), "js-room")) {
            alice.await("SUBSCRIBED");
            bob.await("SUBSCRIBED");
            alice.tell("{\"track\":{\"status\":\"online\"}}");
            bob.tell("{\"track\":{\"status\":\"away\"}}");
            for (NodeClient n : List.of(alice, bob)) {
                String sync = n.await(l -> l.startsWith("SYNC ") && l.contains("alice") && l.contains("bob"), Duration.ofSeconds(20));
                JsonNode state = JSON.readTree(sync.substring(5));
                assertThat(state.get("alice").get(0).get("status").asText()).isEqualTo("online");
                assertThat(state.get("bob").get(0).get("status").asText()).isEqualTo("away");
            }
            alice.tell("{\"send\":\"hello\",\"payload\":{\"n\":1}}");
            alice.tell("{\"send\":\"hello\",\"payload\":{\"n\":2}}");
            bob.await(l -> l.startsWith("BROADCAST ") && l.contains("\"n\":2"), Duration.ofSeconds(20));
            assertThat(bob.seen().stream().filter(l -> l.startsWith("BROADCAST ")).toList())
                    .containsExactly("BROADCAST {\"event\":\"hello\",\"payload\":{\"n\":1}}",
                            "BROADCAST {\"event\":\"hello\",\"payload\":{\"n\":2}}");
            assertThat(alice.seen()).noneMatch(l -> l.startsWith("BROADCAST "));

            alice.kill();
            assertThat(bob.await("LEAVE ")).isEqualTo("LEAVE alice");
        }
    }

    private static RawSocket join(String url, String topic, String broadcast, String presenceKey) throws Exception {
        RawSocket s = RawSocket.open(url);
        String presence = presenceKey == null ? "" : ",\"presence\":{\"key\":\"" + presenceKey + "\",\"enabled\":true}";
        s.send(RawSocket.join("realtime:" + topic, "1", "{\"config\":{\"broadcast\":" + broadcast + presence + ",\"postgres_changes\":[]}}"));
        assertThat(s.awaitReply("1").get("payload").get("status").asText()).isEqualTo("ok");
        return s;
    }

    private static String broadcast(String topic, String ref, int n) {
        return "{\"topic\":\"realtime:" + topic + "\",\"event\":\"broadcast\",\"payload\":{\"type\":\"broadcast\",\"event\":\"hi\","
                + "\"payload\":{\"n\":" + n + "}},\"ref\":\"" + ref + "\",\"join_ref\":\"1\"}";
    }

    private static String track(String topic, String ref, String meta) {
        return "{\"topic\":\"realtime:" + topic + "\",\"event\":\"presence\",\"payload\":{\"type\":\"presence\",\"event\":\"track\","
                + "\"payload\":" + meta + "},\"ref\":\"" + ref + "\",\"join_ref\":\"1\"}";
    }

    private static String untrack(String topic, String ref) {
        return "{\"topic\":\"realtime:" + topic + "\",\"event\":\"presence\",\"payload\":{\"type\":\"presence\",\"event\":\"untrack\"},"
                + "\"ref\":\"" + ref + "\",\"join_ref\":\"1\"}";
    }

    private static boolean second(JsonNode n) {
        return n.path("event").asText().equals("broadcast") && n.path("payload").path("payload").path("n").asInt() == 2;
    }

    private static long countsOfFirst(List<JsonNode> seen) {
        return seen.stream().filter(n -> n.path("event").asText().equals("broadcast")
                && n.path("payload").path("payload").path("n").asInt() == 1).count();
    }
}
