package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Phoenix protocol frame by frame, and bad input: each mistake gets an error to the client
 * that made it while another client, joined all along, keeps receiving changes.
 */
@Timeout(60)
@Tag("postgres")
class ProtocolTest {
    private static ServeHarness serve;
    private static RawSocket bystander;
    private static int nextId = 1000;

    @BeforeAll
    static void start() throws Exception {
        serve = ServeHarness.start();
        bystander = RawSocket.open(serve.ws("vsn=1.0.0"));
        bystander.send(RawSocket.join("realtime:public:todos", "1", "{}"));
        assertThat(bystander.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");
    }

    @AfterAll
    static void stop() {
        bystander.close();
        serve.close();
    }

    /** The bystander still gets a change written now. */
    private static void bystanderStillReceives() throws Exception {
        int id = nextId++;
        serve.sql("INSERT INTO todos (id, title) VALUES (" + id + ", 'still here')");
        JsonNode insert = bystander.await(n -> n.path("event").asText().equals("INSERT")
                && n.at("/payload/record/id").asInt() == id);
        assertThat(insert.at("/payload/record/title").asText()).isEqualTo("still here");
    }

    @Test
    void heartbeat_is_answered_with_the_same_ref_in_both_serializers() throws Exception {
        try (RawSocket v1 = RawSocket.open(serve.ws("vsn=1.0.0")); RawSocket v2 = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            v1.send("{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":\"hb-1\"}");
            assertThat(v1.awaitReply("hb-1").toString())
                    .isEqualTo("{\"event\":\"phx_reply\",\"payload\":{\"status\":\"ok\",\"response\":{}},\"ref\":\"hb-1\",\"topic\":\"phoenix\"}");
            v2.send("[null,\"8\",\"phoenix\",\"heartbeat\",{}]");
            assertThat(v2.await(n -> n.isArray()).toString())
                    .isEqualTo("[null,\"8\",\"phoenix\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]");
        }
    }

    @Test
    void a_websocket_ping_is_answered_with_a_pong_of_the_same_payload_and_the_connection_goes_on() throws Exception {
        try (RawSocket c = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            c.ping("are you there");
            assertThat(c.pongs.poll(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("are you there");
            c.send("[null,\"7\",\"phoenix\",\"heartbeat\",{}]");
            JsonNode reply = c.await(n -> n.get(1).asText().equals("7"));
            assertThat(reply.get(4).get("status").asText()).isEqualTo("ok");
            assertThat(c.pongs).as("one pong per ping").isEmpty();
        }
    }

    @Test
    void websocket_compression_offered_by_a_client_is_declined() throws Exception {
        java.net.URI uri = java.net.URI.create(serve.ws("vsn=2.0.0"));
        try (java.net.Socket socket = new java.net.Socket(uri.getHost(), uri.getPort())) {
            socket.setSoTimeout(10_000);
            String request = "GET " + uri.getRawPath() + "?" + uri.getRawQuery() + " HTTP/1.1\r\n"
                    + "Host: " + uri.getHost() + ":" + uri.getPort() + "\r\n"
                    + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
            socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
                    socket.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII));
            java.util.List<String> head = new java.util.ArrayList<>();
            for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
                head.add(line.toLowerCase(java.util.Locale.ROOT));
            }
            assertThat(head.get(0)).startsWith("http/1.1 101");
            assertThat(head).noneMatch(h -> h.startsWith("sec-websocket-extensions"));
        }
    }

    @Test
    void leave_is_answered_then_the_channel_closes_with_the_join_ref() throws Exception {
        try (RawSocket v2 = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            v2.send("[\"6\",\"6\",\"realtime:any\",\"phx_join\",{\"config\":{\"broadcast\":{\"ack\":false,\"self\":false},"
                    + "\"presence\":{\"key\":\"\",\"enabled\":true},\"postgres_changes\":[{\"event\":\"INSERT\",\"schema\":\"public\","
                    + "\"table\":\"todos\"}],\"private\":false}}]");
            JsonNode reply = v2.await(n -> n.get(3).asText().equals("phx_reply"));
            assertThat(reply.get(0).asText()).isEqualTo("6");
            assertThat(reply.get(4).at("/response/postgres_changes/0/event").asText()).isEqualTo("INSERT");
            assertThat(reply.get(4).at("/response/postgres_changes/0/id").isInt()).isTrue();
            JsonNode system = v2.await(n -> n.get(3).asText().equals("system"));
            assertThat(system.toString()).isEqualTo("[\"6\",null,\"realtime:any\",\"system\",{\"extension\":\"postgres_changes\","
                    + "\"status\":\"ok\",\"message\":\"Subscribed to PostgreSQL\",\"channel\":\"any\"}]");

            v2.send("[\"6\",\"10\",\"realtime:any\",\"phx_leave\",{}]");
            assertThat(v2.await(n -> n.get(3).asText().equals("phx_reply")).toString())
                    .isEqualTo("[\"6\",\"10\",\"realtime:any\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]");
            assertThat(v2.await(n -> n.get(3).asText().equals("phx_close")).toString())
                    .isEqualTo("[\"6\",\"6\",\"realtime:any\",\"phx_close\",{}]");
            // a change after the leave, then one for another channel of the same connection: the left
            // channel's push of the first would have come before the second
            serve.sql("INSERT INTO todos (id, title) VALUES (" + nextId++ + ", 'after leave')");
            v2.send("[\"11\",\"11\",\"realtime:other\",\"phx_join\",{\"config\":{\"postgres_changes\":[{\"event\":\"INSERT\","
                    + "\"schema\":\"public\",\"table\":\"todos\"}]}}]");
            List<JsonNode> afterLeave = new ArrayList<>(
                    v2.until(n -> n.get(3).asText().equals("system") && n.get(2).asText().equals("realtime:other")));
            int last = nextId++;
            serve.sql("INSERT INTO todos (id, title) VALUES (" + last + ", 'last')");
            afterLeave.addAll(v2.until(n -> n.get(3).asText().equals("postgres_changes")
                    && n.get(4).at("/data/record/id").asInt() == last));
            assertThat(afterLeave).noneMatch(n -> n.get(2).asText().equals("realtime:any"));
        }
    }

    @Test
    void access_token_null_is_tolerated_and_unknown_events_get_an_error_reply() throws Exception {
        try (RawSocket c = RawSocket.open(serve.ws(""))) {
            c.send(RawSocket.join("realtime:public:todos", "1", "{\"user_token\":\"not-checked\"}"));
            c.awaitReply("1");
            c.send("{\"topic\":\"realtime:public:todos\",\"event\":\"access_token\",\"payload\":{\"access_token\":null},\"ref\":\"2\",\"join_ref\":\"1\"}");
            c.send("{\"topic\":\"realtime:public:todos\",\"event\":\"shout\",\"payload\":{},\"ref\":\"3\",\"join_ref\":\"1\"}");
            JsonNode reply = c.awaitReply("3");
            assertThat(reply.at("/payload/status").asText()).isEqualTo("error");
            assertThat(reply.at("/payload/response/reason").asText()).isEqualTo("unknown event 'shout'");
            int id = nextId++;
            serve.sql("INSERT INTO todos (id) VALUES (" + id + ")");
            assertThat(c.awaitEvent("INSERT").at("/payload/record/id").asInt()).isEqualTo(id);
        }
        bystanderStillReceives();
    }

    @Test
    void a_legacy_channel_sends_the_star_copy_only_to_0x_clients_which_join_without_a_join_ref() throws Exception {
        try (RawSocket v0 = RawSocket.open(serve.ws("")); RawSocket v1 = RawSocket.open(serve.ws("vsn=1.0.0"))) {
            v0.send("{\"topic\":\"realtime:public:todos\",\"event\":\"phx_join\",\"payload\":{},\"ref\":\"1\"}");
            v0.awaitReply("1");
            v1.send(RawSocket.join("realtime:public:todos", "1", "{}"));
            v1.awaitReply("1");
            int first = nextId;
            int last = first + 2;
            for (int id = first; id <= last; id++) {
                serve.sql("INSERT INTO todos (id) VALUES (" + id + ")");
            }
            nextId = last + 1;
            java.util.function.Predicate<JsonNode> lastInsert = n -> n.path("event").asText().equals("INSERT")
                    && n.at("/payload/record/id").asInt() == last;
            List<String> v0Events = v0.until(lastInsert).stream().map(n -> n.path("event").asText())
                    .filter(e -> !e.equals("system")).toList();
            List<String> v1Events = v1.until(lastInsert).stream().map(n -> n.path("event").asText())
                    .filter(e -> !e.equals("system")).toList();
            assertThat(v0Events).as("0.x: two frames per change").containsExactly("*", "INSERT", "*", "INSERT", "*", "INSERT");
            assertThat(v1Events).as("1.x: one frame per change").containsExactly("INSERT", "INSERT", "INSERT");
        }
    }

    @Test
    void malformed_json_and_wrong_frame_shapes_get_error_replies_and_the_connection_stays() throws Exception {
        try (RawSocket v1 = RawSocket.open(serve.ws("vsn=1.0.0")); RawSocket v2 = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            v1.send("{not json");
            assertThat(v1.awaitEvent("phx_reply").at("/payload/response/reason").asText()).startsWith("malformed JSON");
            v1.send("[null,\"1\",\"phoenix\",\"heartbeat\",{}]");
            assertThat(v1.awaitEvent("phx_reply").at("/payload/response/reason").asText()).contains("expected a JSON object");
            v1.send("{\"event\":\"phx_join\",\"payload\":{},\"ref\":\"7\"}");
            assertThat(v1.awaitReply("7").at("/payload/response/reason").asText()).isEqualTo("missing or non-string topic");
            v1.send("{\"topic\":\"realtime:public\",\"event\":\"phx_join\",\"payload\":[1],\"ref\":\"8\"}");
            assertThat(v1.awaitReply("8").at("/payload/response/reason").asText()).isEqualTo("payload must be an object");
            v2.send("{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":\"1\"}");
            assertThat(v2.await(n -> n.isArray()).get(4).at("/response/reason").asText()).contains("expected a JSON array");
            v2.send("[null,\"2\",\"phoenix\"]");
            JsonNode shape = v2.await(n -> n.isArray());
            assertThat(shape.get(1).asText()).isEqualTo("2");
            assertThat(shape.get(4).at("/response/reason").asText()).contains("got 3");

            v1.send("{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":\"9\"}");
            assertThat(v1.awaitReply("9").at("/payload/status").asText()).isEqualTo("ok");
        }
        bystanderStillReceives();
    }

    @Test
    void unknown_and_empty_topics_are_refused_and_bad_bindings_join_with_a_system_error() throws Exception {
        try (RawSocket c = RawSocket.open(serve.ws(""))) {
            c.send(RawSocket.join("lobby:1", "1", "{}"));
            assertThat(c.awaitReply("1").at("/payload/response/reason").asText()).contains("unknown topic 'lobby:1'");
            c.send(RawSocket.join("realtime:", "2", "{}"));
            assertThat(c.awaitReply("2").at("/payload/response/reason").asText())
                    .isEqualTo("TopicNameRequired: You must provide a topic name");
            c.send(RawSocket.join("realtime:public:nope", "3", "{}"));
            assertThat(c.awaitReply("3").at("/payload/status").asText()).isEqualTo("ok");
            assertThat(systemError(c, "realtime:public:nope")).isEqualTo("Unable to subscribe to changes with given parameters."
                    + " Please check Realtime is enabled for the given connect parameters: [event: *, schema: public, table: nope,"
                    + " filters: [], select: nil]");
            c.send(RawSocket.join("realtime:public:todos:id=foo.5", "4", "{}"));
            assertThat(c.awaitReply("4").at("/payload/status").asText()).isEqualTo("ok");
            assertThat(systemError(c, "realtime:public:todos:id=foo.5")).startsWith("Error parsing `filter` params: [\"foo\", \"5\"]");
            c.send(RawSocket.join("realtime:x", "5", "{\"config\":{\"postgres_changes\":[{\"event\":\"*\",\"schema\":\"public\","
                    + "\"table\":\"todos\",\"filter\":\"colour=eq.red\"}]}}"));
            assertThat(c.awaitReply("5").at("/payload/status").asText()).isEqualTo("ok");
            assertThat(systemError(c, "realtime:x")).endsWith("filters: [colour=eq.red], select: nil]. Exception: invalid column for filter colour");
            c.send(RawSocket.join("realtime:y", "6", "{\"config\":{\"postgres_changes\":[{\"event\":\"*\",\"schema\":\"public\","
                    + "\"table\":\"todos\",\"filter\":\"inserted_at=gt.soon\"}]}}"));
            assertThat(c.awaitReply("6").at("/payload/status").asText()).isEqualTo("ok");
            assertThat(systemError(c, "realtime:y"))
                    .endsWith("Exception: invalid input syntax for type timestamp with time zone: \"soon\"");
            c.send("{\"topic\":\"realtime:never-joined\",\"event\":\"access_token\",\"payload\":{},\"ref\":\"7\"}");
            assertThat(c.awaitReply("7").at("/payload/response/reason").asText()).contains("unmatched topic");
        }
        bystanderStillReceives();
    }

    private static String systemError(RawSocket c, String topic) throws Exception {
        JsonNode system = c.await(n -> n.path("event").asText().equals("system") && n.path("topic").asText().equals(topic));
        assertThat(system.at("/payload/extension").asText()).isEqualTo("postgres_changes");
        assertThat(system.at("/payload/status").asText()).isEqualTo("error");
        return system.at("/payload/message").asText();
    }

    @Test
    void an_oversized_frame_closes_that_connection_only() throws Exception {
        try (RawSocket c = RawSocket.open(serve.ws(""))) {
            c.sendIgnoringFailure("{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{\"pad\":\""
                    + "x".repeat(2 << 20) + "\"},\"ref\":\"1\"}");
            // 1009 "message too big"; or, when the server closed while the client was still writing, an I/O error
            assertThat(c.closed.get(10, TimeUnit.SECONDS)).isIn(1009, -1);
        }
        bystanderStillReceives();
    }

    @Test
    void an_unknown_vsn_is_refused_at_connect() {
        assertThat(RawSocket.upgradeStatus(serve.ws("vsn=3.0.0"))).isEqualTo(400);
        assertThat(RawSocket.upgradeStatus(serve.ws("vsn=2.0.0"))).isEqualTo(101);
    }

    @Test
    void health_says_ok_while_streaming() throws Exception {
        var response = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(serve.http("/health"))).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).startsWith("{\"status\":\"ok\",\"role\":\"leader\",\"streaming\":true,");
    }

    @Test
    void on_a_server_without_a_change_log_a_resume_gets_a_reset_and_live_changes() throws Exception {
        try (RawSocket c = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            c.send("[\"1\",\"1\",\"realtime:nolog\",\"phx_join\",{\"config\":{\"postgres_changes\":[{\"event\":\"*\","
                    + "\"schema\":\"public\",\"table\":\"notes\"}],\"postgres_changes_options\":{\"resume_from\":\"0/1A2B3C4:2\"}}}]");
            assertThat(c.await(n -> n.get(3).asText().equals("phx_reply")).at("/4/status").asText()).isEqualTo("ok");
            JsonNode reset = c.await(n -> n.get(3).asText().equals("system") && n.at("/4/status").asText().equals("reset"));
            assertThat(reset.at("/4/message").asText()).isEqualTo("ResumeExpired: this server keeps no change log (log.dir), so it"
                    + " cannot resume after 0/1A2B3C4:2: refetch");
            assertThat(reset.at("/4/id").isNull()).isTrue();
            serve.sql("INSERT INTO notes (body) VALUES ('after the reset')");
            assertThat(c.await(n -> n.get(3).asText().equals("postgres_changes")).at("/4/data/record/body").asText())
                    .isEqualTo("after the reset");
        }
    }
}
