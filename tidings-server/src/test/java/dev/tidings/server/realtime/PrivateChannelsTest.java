package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Private channels ({@code config.private: true}) authorized by real row level security policies
 * on {@code realtime.messages}, with realtime-js 2.119.1 clients. The policies, written as a
 * Supabase app writes them ({@code realtime.topic()}, {@code auth.uid()} from the JWT claims):
 * a user may read {@code room:<own id>} and {@code shared}, and may write to {@code room:<own id>};
 * only alice may write to {@code shared}. Every SELECT policy check bumps a sequence (which a
 * rollback does not undo), so the tests see when the database was asked.
 */
@Timeout(180)
@Tag("postgres")
@Tag("process")
class PrivateChannelsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ServeHarness serve;

    @BeforeAll
    static void start() throws Exception {
        NodeClient.installPackages();
        serve = ServeHarness.start(Map.of("auth.secure_channels", "true", "auth.jwt_secret", Tokens.SECRET,
                "limits.events_per_second", "0", "limits.bytes_per_second", "0"));
        BroadcastClientsTest.installRealtimeSql(serve);
        serve.sql(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pc_user') THEN CREATE ROLE pc_user NOLOGIN; END IF; END $$",
                "CREATE SCHEMA auth",
                "CREATE FUNCTION auth.uid() RETURNS text LANGUAGE sql STABLE"
                        + " AS $$ SELECT nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub' $$",
                "GRANT USAGE ON SCHEMA auth, realtime TO pc_user",
                "GRANT SELECT, INSERT ON realtime.messages TO pc_user",
                "CREATE SEQUENCE policy_checks",
                "CREATE FUNCTION counted() RETURNS boolean LANGUAGE sql VOLATILE SECURITY DEFINER"
                        + " AS $$ SELECT nextval('policy_checks') > 0 $$",
                "GRANT EXECUTE ON FUNCTION counted() TO pc_user",
                "CREATE POLICY members_read ON realtime.messages FOR SELECT TO pc_user"
                        + " USING (counted() AND realtime.topic() IN ('room:' || auth.uid(), 'shared'))",
                "CREATE POLICY members_write ON realtime.messages FOR INSERT TO pc_user"
                        + " WITH CHECK (realtime.topic() = 'room:' || auth.uid() OR (realtime.topic() = 'shared' AND auth.uid() = 'alice'))");
    }

    @AfterAll
    static void stop() {
        if (serve != null) {
            serve.close();
        }
    }

    @Test
    void aUserThePoliciesLetReadJoinsAndReceivesAndThePublicChannelOfTheTopicDoesNot() throws Exception {
        try (NodeClient alice = room("alice", "shared", true, Map.of());
             NodeClient bob = room("bob", "shared", true, Map.of());
             NodeClient outsider = room("carol", "shared", false, Map.of("SELF", "1"))) {
            alice.tell("{\"send\":\"hello\",\"payload\":{\"from\":\"alice\"}}");
            assertThat(broadcast(bob).get("payload").get("from").asText()).isEqualTo("alice");
            outsider.tell("{\"send\":\"public\",\"payload\":{\"from\":\"carol\"}}");
            // the public channel's first broadcast is its own: alice's private one did not reach it
            assertThat(broadcast(outsider).get("event").asText()).isEqualTo("public");
        }
    }

    @Test
    void aUserThePoliciesDoNotLetReadIsRefusedWithSupabasesReason() throws Exception {
        try (NodeClient bob = NodeClient.run(env("bob", true, Map.of()), "room.js", serve.socket(), "room:alice")) {
            assertThat(bob.await("CHANNEL_ERROR")).isEqualTo(
                    "CHANNEL_ERROR Unauthorized: You do not have permissions to read from this Channel topic: room:alice");
        }
    }

    @Test
    void aReadOnlyUsersBroadcastIsDroppedAndItsTrackAnsweredWithAnError() throws Exception {
        try (NodeClient alice = room("alice", "shared", true, Map.of("SELF", "1"));
             NodeClient bob = room("bob", "shared", true, Map.of("PRESENCE", "1"))) {
            bob.tell("{\"send\":\"sneaky\",\"payload\":{\"from\":\"bob\"}}");
            assertThat(bob.await("SENT ")).isEqualTo("SENT ok"); // without ack, realtime-js does not wait
            bob.tell("{\"track\":{\"name\":\"bob\"}}");
            assertThat(bob.await("TRACK ")).isEqualTo("TRACK error");
            // bob's broadcast was handled before his track was answered: had it been relayed, it would come first
            alice.tell("{\"send\":\"marker\",\"payload\":{}}");
            assertThat(broadcast(alice).get("event").asText()).isEqualTo("marker");
            assertThat(alice.seen()).noneMatch(l -> l.contains("sneaky"));
        }
    }

    @Test
    void aUserWhoMayWriteTracksPresenceOnItsOwnRoom() throws Exception {
        try (NodeClient alice = room("alice", "room:alice", true, Map.of("PRESENCE", "1", "KEY", "alice"))) {
            alice.tell("{\"track\":{\"name\":\"alice\"}}");
            assertThat(alice.await("TRACK ")).isEqualTo("TRACK ok");
            assertThat(alice.seen()).contains("JOIN alice"); // the diff is queued before the reply
        }
    }

    @Test
    void restBroadcastToAPrivateChannelIsSentForAWriterAndRefusedForAReader() throws Exception {
        try (NodeClient alice = room("alice", "shared", true, Map.of());
             NodeClient bob = room("bob", "shared", true, Map.of())) {
            bob.tell("{\"http\":\"by-bob\",\"payload\":{\"n\":1}}");
            assertThat(bob.await("HTTP ")).isEqualTo("HTTP error Unauthorized");
            assertThat(batch(Tokens.user("bob"), "by-bob-batch")).isEqualTo(202); // left out, as Supabase does
            alice.tell("{\"http\":\"by-alice\",\"payload\":{\"n\":2}}");
            assertThat(alice.await("HTTP ")).isEqualTo("HTTP ok");
            assertThat(broadcast(bob).get("event").asText()).isEqualTo("by-alice");
            assertThat(batch(Tokens.user("alice"), "by-alice-batch")).isEqualTo(202);
            assertThat(broadcast(bob).get("event").asText()).isEqualTo("by-alice-batch");
            assertThat(bob.seen()).noneMatch(l -> l.contains("by-bob"));
        }
    }

    @Test
    void aDatabaseBroadcastMarkedPrivateReachesThePrivateChannelOnly() throws Exception {
        try (NodeClient bob = room("bob", "shared", true, Map.of());
             NodeClient outsider = room("carol", "shared", false, Map.of())) {
            serve.sql("SELECT realtime.send('{\"secret\": 1}', 'db-private', 'shared')", // private by default
                    "SELECT realtime.send('{\"open\": 2}', 'db-public', 'shared', false)");
            JsonNode got = broadcast(bob);
            assertThat(got.get("event").asText()).isEqualTo("db-private");
            assertThat(got.get("payload").get("secret").asInt()).isEqualTo(1);
            assertThat(broadcast(outsider).get("event").asText()).isEqualTo("db-public");
            assertThat(bob.seen()).noneMatch(l -> l.contains("db-public"));
        }
    }

    @Test
    void aTokenRefreshToAUserThePoliciesDoNotLetReadEndsTheChannel() throws Exception {
        try (NodeClient client = room("alice", "room:alice", true, Map.of())) {
            client.tell("{\"token\":\"" + Tokens.user("alice") + "\"}"); // still alice: the channel stays
            client.await("AUTH alice");
            client.tell("{\"token\":\"" + Tokens.user("bob") + "\"}");
            client.await("AUTH bob");
            assertThat(client.await("SYSTEM ")).contains("You no longer have permission to read from this Channel topic: room:alice");
        }
    }

    @Test
    void aPublicJoinNeverAsksTheDatabaseAndAPrivateOneAsksOnce() throws Exception {
        long before = checks();
        try (NodeClient open = room("alice", "lobby", false, Map.of("SELF", "1"))) {
            open.tell("{\"send\":\"x\",\"payload\":{}}");
            broadcast(open);
            assertThat(checks()).isEqualTo(before);
        }
        try (NodeClient closed = room("alice", "room:alice", true, Map.of("SELF", "1"))) {
            long joined = checks();
            assertThat(joined).isGreaterThan(before);
            for (int i = 0; i < 3; i++) {
                closed.tell("{\"send\":\"x\",\"payload\":{}}");
                broadcast(closed);
            }
            assertThat(checks()).as("the decision is kept for the life of the join").isEqualTo(joined);
        }
    }

    @Test
    void aReplayOnAPrivateChannelGetsTheStoredPrivateBroadcastsOfItsTopic() throws Exception {
        long since = System.currentTimeMillis() - 60_000;
        serve.sqlSettled("SELECT realtime.send('{\"n\": 1}', 'stored-private', 'room:dana')",
                "SELECT realtime.send('{\"n\": 2}', 'stored-public', 'room:dana', false)");
        String token = Tokens.user("dana");
        try (RawSocket c = RawSocket.open(serve.ws("vsn=1.0.0&apikey=" + token))) {
            c.send(RawSocket.join("realtime:room:dana", "1", "{\"access_token\":\"" + token + "\",\"config\":{\"private\":true,"
                    + "\"broadcast\":{\"replay\":{\"since\":" + since + ",\"limit\":10}}}}"));
            assertThat(c.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");
            serve.sql("SELECT realtime.send('{\"n\": 3}', 'live', 'room:dana')");
            assertThat(c.until(n -> n.at("/payload/event").asText().equals("live")).stream()
                    .filter(n -> n.path("event").asText().equals("broadcast")).map(n -> n.at("/payload/event").asText()))
                    .containsExactly("stored-private", "live");
        }
    }

    /** How often the SELECT policy was evaluated so far. */
    private static long checks() throws Exception {
        try (Connection c = TestPostgres.connect(serve.jdbcUrl); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM policy_checks")) {
            r.next();
            return r.getLong(1);
        }
    }

    private static int batch(String token, String event) throws Exception {
        String body = "{\"messages\":[{\"topic\":\"shared\",\"event\":\"" + event + "\",\"payload\":{},\"private\":true}]}";
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(serve.http("/api/broadcast")))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        return r.statusCode();
    }

    private static Map<String, String> env(String user, boolean isPrivate, Map<String, String> more) throws Exception {
        Map<String, String> env = new HashMap<>(more);
        String token = Tokens.user(user);
        env.put("APIKEY", token);
        env.put("ACCESS_TOKEN", token);
        if (isPrivate) {
            env.put("PRIVATE", "1");
        }
        return env;
    }

    private static NodeClient room(String user, String topic, boolean isPrivate, Map<String, String> more) throws Exception {
        NodeClient c = NodeClient.run(env(user, isPrivate, more), "room.js", serve.socket(), topic);
        try {
            c.await("SUBSCRIBED");
            return c;
        } catch (AssertionError | InterruptedException e) {
            c.close();
            throw e;
        }
    }

    private static JsonNode broadcast(NodeClient c) throws Exception {
        return JSON.readTree(c.await("BROADCAST ").substring("BROADCAST ".length()));
    }

    /** Tokens of role pc_user, signed with the server's secret. */
    private static final class Tokens {
        static final String SECRET = "a-private-channels-test-secret-long-enough-for-hs256";

        static String user(String sub) throws Exception {
            com.nimbusds.jwt.SignedJWT jwt = new com.nimbusds.jwt.SignedJWT(
                    new com.nimbusds.jose.JWSHeader(com.nimbusds.jose.JWSAlgorithm.HS256),
                    new com.nimbusds.jwt.JWTClaimsSet.Builder().claim("role", "pc_user").subject(sub)
                            .expirationTime(java.util.Date.from(java.time.Instant.now().plusSeconds(600))).build());
            jwt.sign(new com.nimbusds.jose.crypto.MACSigner(SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            return jwt.serialize();
        }
    }
}
