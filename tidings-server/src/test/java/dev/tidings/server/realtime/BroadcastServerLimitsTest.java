package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server-wide join and broadcast rates (off by default, low here): whoever comes over them —
 * a join, a WebSocket broadcast, a REST message — gets the error, whichever connection spent the
 * budget. Each test goes on until refused (at most a few tries), so it does not depend on where
 * in a one-second window it starts.
 */
@Timeout(120)
class BroadcastServerLimitsTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static ServeHarness serve;

    @BeforeAll
    static void start() throws Exception {
        serve = ServeHarness.start(Map.of("limits.server_joins_per_second", "2", "limits.server_events_per_second", "3"));
    }

    @AfterAll
    static void stop() {
        serve.close();
    }

    @Test
    void joins_over_the_servers_rate_are_refused_whichever_connection_makes_them() throws Exception {
        List<RawSocket> open = new ArrayList<>();
        String refusal = null;
        try {
            for (int i = 0; i < 10 && refusal == null; i++) {
                RawSocket s = RawSocket.open(serve.ws("vsn=2.0.0"));
                open.add(s);
                s.send("[\"1\",\"1\",\"realtime:joins\",\"phx_join\",{\"config\":{\"postgres_changes\":[]}}]");
                JsonNode reply = s.await(n -> n.isArray() && n.get(3).asText().equals("phx_reply"));
                refusal = reply.get(4).path("response").path("reason").asText(null);
            }
        } finally {
            open.forEach(RawSocket::close);
        }
        assertThat(refusal).isEqualTo("ClientJoinRateLimitReached: Too many joins per second");
    }

    @Test
    void rest_messages_over_the_servers_rate_get_429() throws Exception {
        String answer = null;
        for (int i = 0; i < 10; i++) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(serve.http("/api/broadcast/rest-rate/events/e")))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 202) {
                answer = r.statusCode() + " " + r.body();
                break;
            }
        }
        assertThat(answer).isEqualTo("429 {\"error\":\"You have exceeded your rate limit\"}");
    }

    @Test
    void websocket_broadcasts_over_the_servers_rate_shut_the_senders_channel() throws Exception {
        try (RawSocket s = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            String joined = null;
            for (int i = 0; i < 5 && !"ok".equals(joined); i++) {
                if (i > 0) {
                    Thread.sleep(1100); // the server's join budget of this second went to another test: the next second's
                }
                s.send("[\"1\",\"" + (10 + i) + "\",\"realtime:ws-rate\",\"phx_join\",{\"config\":{\"postgres_changes\":[]}}]");
                joined = s.await(n -> n.isArray() && n.get(3).asText().equals("phx_reply")).get(4).get("status").asText();
            }
            assertThat(joined).isEqualTo("ok");
            for (int i = 0; i < 10; i++) {
                s.send("[\"1\",\"" + (20 + i) + "\",\"realtime:ws-rate\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"n\",\"payload\":{}}]");
            }
            assertThat(s.await(n -> n.isArray() && n.get(3).asText().equals("system")).get(4).get("message").asText())
                    .isEqualTo("Too many messages per second");
        }
    }
}
