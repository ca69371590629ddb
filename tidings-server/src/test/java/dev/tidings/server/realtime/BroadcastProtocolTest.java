package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Broadcast, Presence and the limits on the wire, with raw frames: the binary user-broadcast frames
 * of vsn 2.0.0 byte for byte, the JSON forms, acks only when asked, REST, and each limit with the
 * exact error a client gets — while another client on the same server is unaffected.
 */
@Timeout(120)
class BroadcastProtocolTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static ServeHarness serve;

    @BeforeAll
    static void start() throws Exception {
        serve = ServeHarness.start(Map.of("limits.channels_per_client", "2", "limits.joins_per_second", "3",
                "limits.events_per_second", "3", "limits.bytes_per_second", "2000", "limits.payload_kb", "1",
                "limits.client_presence_max_calls", "2", "limits.presence_events_per_second", "4"));
    }

    @AfterAll
    static void stop() {
        serve.close();
    }

    @Test
    void binary_push_reaches_v2_members_as_the_binary_broadcast_and_v1_members_as_json() throws Exception {
        try (RawSocket sender = v2("wire-1", true, false); RawSocket v2 = v2("wire-1", false, false); RawSocket v1 = v1("wire-1")) {
            sender.sendBinary(push("1", "5", "realtime:wire-1", "shout", "{\"a\":1}".getBytes(StandardCharsets.UTF_8), true));

            JsonNode reply = sender.await(n -> n.isArray() && n.get(3).asText().equals("phx_reply"));
            assertThat(reply.toString()).isEqualTo("[\"1\",\"5\",\"realtime:wire-1\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]");
            String expected = "04" + hex(15) + hex(5) + "00" + "01" + hex("realtime:wire-1") + hex("shout") + hex("{\"a\":1}");
            assertThat(v2.await(n -> n.has("binary")).get("binary").asText()).isEqualTo(expected);
            assertThat(v1.awaitEvent("broadcast").toString()).isEqualTo("{\"event\":\"broadcast\",\"payload\":{\"event\":\"shout\","
                    + "\"payload\":{\"a\":1},\"type\":\"broadcast\"},\"ref\":null,\"topic\":\"realtime:wire-1\"}");
        }
    }

    @Test
    void binary_payload_is_relayed_to_v2_members_and_not_to_v1_members() throws Exception {
        try (RawSocket sender = v2("wire-2", false, false); RawSocket v2 = v2("wire-2", false, false); RawSocket v1 = v1("wire-2")) {
            sender.sendBinary(push("1", "", "realtime:wire-2", "raw", new byte[] {0, 1, (byte) 0xFE}, false));
            sender.send("[\"1\",\"6\",\"realtime:wire-2\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"after\",\"payload\":{}}]");

            assertThat(v2.await(n -> n.has("binary")).get("binary").asText())
                    .isEqualTo("04" + hex(15) + hex(3) + "00" + "00" + hex("realtime:wire-2") + hex("raw") + "0001fe");
            // the v1 member's first broadcast is the later JSON one: bytes cannot be carried in vsn 1.0.0
            assertThat(v1.awaitEvent("broadcast").get("payload").get("event").asText()).isEqualTo("after");
        }
    }

    @Test
    void text_push_without_ack_is_relayed_as_it_came_and_not_answered() throws Exception {
        try (RawSocket sender = v2("wire-3", false, false); RawSocket other = v2("wire-3", false, false)) {
            sender.send("[\"1\",\"7\",\"realtime:wire-3\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"t\",\"payload\":{\"b\":2}}]");
            sender.send("[null,\"8\",\"phoenix\",\"heartbeat\",{}]");

            assertThat(other.await(n -> n.isArray() && n.get(3).asText().equals("broadcast")).toString())
                    .isEqualTo("[null,null,\"realtime:wire-3\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"t\",\"payload\":{\"b\":2}}]");
            // the first reply the sender gets is the heartbeat's: the broadcast (ref 7) had none
            assertThat(sender.await(n -> n.isArray() && n.get(3).asText().equals("phx_reply")).get(1).asText()).isEqualTo("8");
        }
    }

    @Test
    void binary_frames_that_cannot_be_read_get_an_error_and_the_connection_stays() throws Exception {
        try (RawSocket v2 = v2("wire-4", false, false); RawSocket v1 = v1("wire-4")) {
            v2.sendBinary(new byte[] {9, 0, 0});
            assertThat(v2.await(n -> n.isArray() && n.get(2).asText().equals("phoenix")).get(4).get("response").get("reason")
                    .asText()).contains("too short");
            v2.sendBinary(new byte[] {9, 0, 0, 0, 0, 0, 1});
            assertThat(v2.await(n -> n.isArray() && n.get(2).asText().equals("phoenix")).get(4).get("response").get("reason")
                    .asText()).isEqualTo("binary frame of kind 9 is not understood: only broadcast pushes (kind 3) are");
            v1.sendBinary(push("1", "", "realtime:wire-4", "x", new byte[0], true));
            assertThat(v1.awaitEvent("phx_reply").get("payload").get("response").get("reason").asText())
                    .isEqualTo("binary frames need vsn=2.0.0; this connection speaks 1.0.0");
            v2.send("[null,\"9\",\"phoenix\",\"heartbeat\",{}]");
            assertThat(v2.await(n -> n.isArray() && n.get(1).asText().equals("9")).get(4).get("status").asText()).isEqualTo("ok");
        }
    }

    @Test
    void presence_state_on_join_then_a_diff_per_track() throws Exception {
        try (RawSocket watcher = v2("lobby-raw", false, true); RawSocket tracker = v2("lobby-raw", false, false)) {
            tracker.send("[\"1\",\"3\",\"realtime:lobby-raw\",\"presence\",{\"type\":\"presence\",\"event\":\"track\",\"payload\":{\"x\":1}}]");
            assertThat(tracker.await(n -> n.isArray() && n.get(1).asText().equals("3")).get(4).get("status").asText()).isEqualTo("ok");
            JsonNode diff = watcher.await(n -> n.isArray() && n.get(3).asText().equals("presence_diff"));
            assertThat(diff.get(0).isNull()).isTrue();
            JsonNode metas = diff.get(4).get("joins").get("tracker-key").get("metas");
            assertThat(metas.get(0).get("x").asInt()).isEqualTo(1);
            assertThat(metas.get(0).get("phx_ref").asText()).isNotEmpty();
            assertThat(diff.get(4).get("leaves").size()).isZero();
        }
    }

    @Test
    void rest_batch_reaches_members_and_bad_messages_are_refused() throws Exception {
        try (RawSocket member = v2("rest-raw", false, false)) {
            assertThat(post("/api/broadcast", "{\"messages\":[{\"topic\":\"rest-raw\",\"event\":\"e\",\"payload\":{\"n\":1}}]}"))
                    .isEqualTo("202 ");
            assertThat(member.await(n -> n.isArray() && n.get(3).asText().equals("broadcast")).get(4).toString())
                    .isEqualTo("{\"event\":\"e\",\"type\":\"broadcast\",\"payload\":{\"n\":1}}");
            assertThat(post("/api/broadcast", "{\"messages\":[{\"topic\":\"rest-raw\",\"payload\":{}}]}"))
                    .isEqualTo("422 {\"error\":\"messages[0].event is required and must be a non-empty string\"}");
            assertThat(post("/realtime/v1/api/broadcast/rest-raw/events/single", "{\"m\":2}")).isEqualTo("202 ");
            assertThat(member.await(n -> n.has("binary")).get("binary").asText())
                    .isEqualTo("04" + hex(17) + hex(6) + "00" + "01" + hex("realtime:rest-raw") + hex("single") + hex("{\"m\":2}"));
        }
    }

    @Test
    void too_many_channels_and_joins_are_refused_with_supabases_errors() throws Exception {
        try (RawSocket s = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            List<String> reasons = new ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                s.send(joinFrame(String.valueOf(i), "realtime:ch-" + i, false, false));
                reasons.add(s.await(n -> n.isArray() && n.get(3).asText().equals("phx_reply")).get(4).path("response")
                        .path("reason").asText("ok"));
            }
            assertThat(reasons).containsExactly("ok", "ok", "ChannelRateLimitReached: Too many channels");
        }
        try (RawSocket s = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            List<String> reasons = new ArrayList<>();
            for (int i = 1; i <= 4; i++) { // rejoining one topic: always one channel, four joins
                s.send(joinFrame(String.valueOf(i), "realtime:again", false, false));
                reasons.add(s.await(n -> n.isArray() && n.get(3).asText().equals("phx_reply")).get(4).path("response")
                        .path("reason").asText("ok"));
            }
            assertThat(reasons).containsExactly("ok", "ok", "ok", "ClientJoinRateLimitReached: Too many joins per second");
        }
    }

    @Test
    void too_many_broadcasts_shut_the_senders_channel_and_others_go_on() throws Exception {
        try (RawSocket flood = v2("busy", false, false); RawSocket other = v2("busy", false, false);
             RawSocket calm = v2("busy", false, false)) {
            for (int i = 0; i < 4; i++) {
                flood.send("[\"1\",\"" + (10 + i) + "\",\"realtime:busy\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"n\",\"payload\":{\"i\":" + i + "}}]");
            }
            JsonNode system = flood.await(n -> n.isArray() && n.get(3).asText().equals("system"));
            assertThat(system.get(4).toString()).isEqualTo(
                    "{\"extension\":\"system\",\"status\":\"error\",\"message\":\"Too many messages per second\",\"channel\":\"busy\"}");
            assertThat(flood.await(n -> n.isArray() && n.get(3).asText().equals("phx_close")).get(2).asText()).isEqualTo("realtime:busy");

            calm.send("[\"1\",\"20\",\"realtime:busy\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"calm\",\"payload\":{}}]");
            List<String> seen = new ArrayList<>();
            while (seen.isEmpty() || !seen.get(seen.size() - 1).equals("calm")) {
                seen.add(other.await(n -> n.isArray() && n.get(3).asText().equals("broadcast")).get(4).get("event").asText());
            }
            assertThat(seen).containsExactly("n", "n", "n", "calm");
        }
    }

    @Test
    void too_many_bytes_per_second_shut_the_channel() throws Exception {
        String big = "x".repeat(900);
        try (RawSocket s = v2("bytes", false, false)) {
            for (int i = 0; i < 3; i++) {
                s.send("[\"1\",\"" + (30 + i) + "\",\"realtime:bytes\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"b\",\"payload\":{\"s\":\"" + big + "\"}}]");
            }
            assertThat(s.await(n -> n.isArray() && n.get(3).asText().equals("system")).get(4).get("message").asText())
                    .isEqualTo("Too many bytes per second");
        }
    }

    @Test
    void a_payload_over_the_limit_is_refused_in_the_ack_and_the_channel_stays() throws Exception {
        try (RawSocket s = v2("large", true, false)) {
            s.sendBinary(push("1", "40", "realtime:large", "big", ("{\"s\":\"" + "y".repeat(1100) + "\"}").getBytes(StandardCharsets.UTF_8), true));
            assertThat(s.await(n -> n.isArray() && n.get(1).asText().equals("40")).get(4).toString())
                    .isEqualTo("{\"status\":\"error\",\"response\":{\"reason\":\"Payload size exceeded\"}}");
            s.sendBinary(push("1", "41", "realtime:large", "small", "{}".getBytes(StandardCharsets.UTF_8), true));
            assertThat(s.await(n -> n.isArray() && n.get(1).asText().equals("41")).get(4).get("status").asText()).isEqualTo("ok");
        }
    }

    @Test
    void presence_limits_shut_the_channel_with_supabases_errors() throws Exception {
        try (RawSocket s = v2("presence-limit", false, false)) {
            for (int i = 0; i < 3; i++) {
                s.send("[\"1\",\"" + (50 + i) + "\",\"realtime:presence-limit\",\"presence\",{\"type\":\"presence\",\"event\":\"track\",\"payload\":{\"i\":" + i + "}}]");
            }
            assertThat(s.await(n -> n.isArray() && n.get(3).asText().equals("system")).get(4).get("message").asText())
                    .isEqualTo("Client presence rate limit exceeded");
        }
        try (RawSocket s = v2("presence-big", false, false)) {
            s.send("[\"1\",\"60\",\"realtime:presence-big\",\"presence\",{\"type\":\"presence\",\"event\":\"track\",\"payload\":{\"s\":\"" + "z".repeat(1100) + "\"}}]");
            assertThat(s.await(n -> n.isArray() && n.get(3).asText().equals("system")).get(4).get("message").asText())
                    .isEqualTo("Track message size exceeded");
        }
        // the server-wide limit (4 per second here): fresh connections track until the server refuses
        String refusal = null;
        List<RawSocket> open = new ArrayList<>();
        try {
            for (int i = 0; i < 8 && refusal == null; i++) {
                RawSocket s = v2("presence-server", false, false);
                open.add(s);
                s.send("[\"1\",\"70\",\"realtime:presence-server\",\"presence\",{\"type\":\"presence\",\"event\":\"track\",\"payload\":{\"i\":" + i + "}}]");
                JsonNode answer = s.await(n -> n.isArray() && (n.get(1).asText().equals("70") || n.get(3).asText().equals("system")));
                if (answer.get(3).asText().equals("system")) {
                    refusal = answer.get(4).get("message").asText();
                }
            }
        } finally {
            open.forEach(RawSocket::close);
        }
        assertThat(refusal).isEqualTo("Too many presence messages per second");
        String metrics = HTTP.send(HttpRequest.newBuilder(URI.create(serve.http("/metrics"))).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertThat(metrics).containsPattern("tidings_limit\\{limit=\"channels_per_client\",?} 2\\.0")
                .containsPattern("tidings_limit_refused_total\\{limit=\"server_presence_events_per_second\",?} [1-9]");
    }

    private static RawSocket v2(String topic, boolean ack, boolean presence) throws Exception {
        RawSocket s = RawSocket.open(serve.ws("vsn=2.0.0"));
        s.send(joinFrame("1", "realtime:" + topic, ack, presence));
        JsonNode reply = s.await(n -> n.isArray() && n.get(3).asText().equals("phx_reply"));
        assertThat(reply.get(4).get("status").asText()).as(reply.toString()).isEqualTo("ok");
        if (presence) {
            assertThat(s.await(n -> n.isArray() && n.get(3).asText().equals("presence_state")).get(4).toString()).isEqualTo("{}");
        }
        return s;
    }

    private static RawSocket v1(String topic) throws Exception {
        RawSocket s = RawSocket.open(serve.ws("vsn=1.0.0"));
        s.send(RawSocket.join("realtime:" + topic, "1", "{\"config\":{\"broadcast\":{\"self\":false},\"postgres_changes\":[]}}"));
        assertThat(s.awaitReply("1").get("payload").get("status").asText()).isEqualTo("ok");
        return s;
    }

    private static String joinFrame(String ref, String topic, boolean ack, boolean presence) {
        return "[\"" + ref + "\",\"" + ref + "\",\"" + topic + "\",\"phx_join\",{\"config\":{\"broadcast\":{\"ack\":" + ack
                + ",\"self\":false},\"presence\":{\"key\":\"" + (presence ? "watcher-key" : "tracker-key") + "\",\"enabled\":"
                + presence + "},\"postgres_changes\":[],\"private\":false}}]";
    }

    /** A broadcast push laid out as realtime-js 2.x's serializer lays it out (kind 3). */
    private static byte[] push(String joinRef, String ref, String topic, String event, byte[] payload, boolean json) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        byte[][] fields = {joinRef.getBytes(StandardCharsets.UTF_8), ref.getBytes(StandardCharsets.UTF_8),
                topic.getBytes(StandardCharsets.UTF_8), event.getBytes(StandardCharsets.UTF_8), new byte[0]};
        b.write(3);
        for (byte[] f : fields) {
            b.write(f.length);
        }
        b.write(json ? 1 : 0);
        for (byte[] f : fields) {
            b.writeBytes(f);
        }
        b.writeBytes(payload);
        return b.toByteArray();
    }

    private static String post(String path, String body) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(serve.http(path)))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode() + " " + r.body();
    }

    private static String hex(int b) {
        return HexFormat.of().toHexDigits((byte) b);
    }

    private static String hex(String s) {
        return HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
    }
}
