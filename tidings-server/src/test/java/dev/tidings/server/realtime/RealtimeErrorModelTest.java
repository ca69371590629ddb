package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Supabase Realtime's error model and subscription details, frame by frame with secure channels:
 * coded join errors, {@code replication_ready}, a token refresh that is authorized again and
 * re-sends the subscribed message, {@code select}, a table without a schema, an unknown event,
 * deletes filtered by replica identity, and the tenant health check.
 */
@Timeout(60)
@Tag("postgres")
class RealtimeErrorModelTest {
    private static final String SECRET = "another-test-secret-that-is-long-enough-for-hs256-use";
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static ServeHarness serve;
    private static int nextId = 1;

    @BeforeAll
    static void start() throws Exception {
        serve = ServeHarness.start(Map.of("auth.secure_channels", "true", "auth.jwt_secret", SECRET));
        serve.sql("ALTER TABLE notes REPLICA IDENTITY FULL");
    }

    @AfterAll
    static void stop() {
        serve.close();
    }

    private static String token(String sub, long seconds) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().claim("role", "authenticated")
                .subject(sub).expirationTime(Date.from(Instant.now().plusSeconds(seconds))).build());
        jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    private static RawSocket connect() throws JOSEException {
        return RawSocket.open(serve.ws("vsn=1.0.0&apikey=" + token("0", 600)));
    }

    private static String changes(String bindings, String token) {
        return "{\"config\":{\"postgres_changes\":" + bindings + "},\"access_token\":\"" + token + "\"}";
    }

    private static JsonNode system(RawSocket c, String topic) throws Exception {
        return c.await(n -> n.path("event").asText().equals("system") && n.path("topic").asText().equals(topic)).get("payload");
    }

    @Test
    void a_join_with_a_bad_token_is_refused_with_a_code_and_the_message() throws Exception {
        try (RawSocket c = connect()) {
            c.send(RawSocket.join("realtime:bad-token", "1", "{\"config\":{},\"access_token\":\"not-a-jwt\"}"));
            JsonNode reply = c.awaitReply("1");
            assertThat(reply.at("/payload/status").asText()).isEqualTo("error");
            assertThat(reply.at("/payload/response/reason").asText()).matches("[A-Z][A-Za-z]+: .+");
        }
    }

    @Test
    void replication_ready_is_announced_to_a_channel_that_asks_for_it() throws Exception {
        try (RawSocket c = connect()) {
            c.send(RawSocket.join("realtime:ready", "1", "{\"config\":{\"broadcast\":{\"replication_ready\":true}}}"));
            assertThat(c.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");
            JsonNode system = system(c, "realtime:ready");
            assertThat(system.toString()).isEqualTo("{\"extension\":\"system\",\"status\":\"ok\","
                    + "\"message\":\"Replication connection established\",\"channel\":\"ready\"}");
        }
    }

    @Test
    void a_refreshed_token_is_authorized_again_and_the_subscription_confirmed_again() throws Exception {
        String first = token("1", 600);
        try (RawSocket c = connect()) {
            c.send(RawSocket.join("realtime:refresh", "1", changes("[{\"event\":\"*\",\"schema\":\"public\",\"table\":\"todos\"}]", first)));
            assertThat(c.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");
            assertThat(system(c, "realtime:refresh").get("message").asText()).isEqualTo("Subscribed to PostgreSQL");

            c.send("{\"topic\":\"realtime:refresh\",\"event\":\"access_token\",\"payload\":{\"access_token\":\"" + first + "\"},\"ref\":\"2\"}");
            c.send("{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":\"3\"}");
            List<JsonNode> before = c.until(n -> n.path("ref").asText().equals("3"));
            assertThat(before).as("the same token again changes nothing").hasSize(1);

            c.send("{\"topic\":\"realtime:refresh\",\"event\":\"access_token\",\"payload\":{\"access_token\":\"" + token("2", 900)
                    + "\"},\"ref\":\"4\"}");
            assertThat(system(c, "realtime:refresh").get("message").asText()).isEqualTo("Subscribed to PostgreSQL");

            c.send("{\"topic\":\"realtime:refresh\",\"event\":\"access_token\",\"payload\":{\"access_token\":\"forged\"},\"ref\":\"5\"}");
            JsonNode shut = system(c, "realtime:refresh");
            assertThat(shut.get("status").asText()).isEqualTo("error");
            assertThat(c.await(n -> n.path("event").asText().equals("phx_close")).path("topic").asText()).isEqualTo("realtime:refresh");
        }
    }

    @Test
    void select_sends_only_the_chosen_columns() throws Exception {
        int id = nextId++;
        try (RawSocket c = connect()) {
            c.send(RawSocket.join("realtime:select", "1", changes("[{\"event\":\"INSERT\",\"schema\":\"public\",\"table\":\"todos\","
                    + "\"filter\":\"id=eq." + id + "\",\"select\":[\"title\",\"id\"]}]", token("1", 600))));
            c.awaitReply("1");
            system(c, "realtime:select");
            serve.sql("INSERT INTO todos (id, title) VALUES (" + id + ", 'chosen')");
            JsonNode data = c.await(n -> n.path("event").asText().equals("postgres_changes")).at("/payload/data");
            assertThat(data.get("record").toString()).isEqualTo("{\"id\":" + id + ",\"title\":\"chosen\"}");
            assertThat(data.get("columns").toString()).isEqualTo("[{\"name\":\"id\",\"type\":\"int8\"},{\"name\":\"title\",\"type\":\"text\"}]");
        }
    }

    @Test
    void a_table_without_schema_is_in_public_and_an_unknown_event_means_every_event() throws Exception {
        int id = nextId++;
        try (RawSocket c = connect()) {
            c.send(RawSocket.join("realtime:defaults", "1", changes("[{\"event\":\"upsert\",\"table\":\"todos\",\"filter\":\"id=eq." + id
                    + "\"}]", token("1", 600))));
            JsonNode reply = c.awaitReply("1");
            assertThat(reply.at("/payload/response/postgres_changes/0/event").asText()).as("echoed as sent").isEqualTo("upsert");
            assertThat(system(c, "realtime:defaults").get("status").asText()).isEqualTo("ok");
            serve.sql("INSERT INTO todos (id, title) VALUES (" + id + ", 'a')", "UPDATE todos SET title = 'b' WHERE id = " + id);
            List<String> types = List.of(
                    c.await(n -> n.path("event").asText().equals("postgres_changes")).at("/payload/data/type").asText(),
                    c.await(n -> n.path("event").asText().equals("postgres_changes")).at("/payload/data/type").asText());
            assertThat(types).containsExactly("INSERT", "UPDATE");
        }
    }

    @Test
    void deletes_match_non_key_columns_only_under_replica_identity_full() throws Exception {
        int id = nextId++;
        try (RawSocket c = connect()) {
            c.send(RawSocket.join("realtime:deletes", "1", changes("[{\"event\":\"DELETE\",\"schema\":\"public\",\"table\":\"todos\","
                    + "\"filter\":\"title=eq.gone\"},{\"event\":\"DELETE\",\"schema\":\"public\",\"table\":\"notes\",\"filter\":\"body=eq.gone\"}]",
                    token("1", 600))));
            c.awaitReply("1");
            system(c, "realtime:deletes");
            serve.sql("INSERT INTO todos (id, title) VALUES (" + id + ", 'gone')", "INSERT INTO notes (id, body) VALUES (" + id + ", 'gone')",
                    "DELETE FROM todos WHERE id = " + id, "DELETE FROM notes WHERE id = " + id);
            List<JsonNode> received = c.until(n -> n.path("event").asText().equals("postgres_changes"));
            JsonNode delete = received.get(received.size() - 1).at("/payload/data");
            assertThat(delete.get("table").asText()).as("todos has only its key in the old row: no match").isEqualTo("notes");
            assertThat(delete.at("/old_record/body").asText()).isEqualTo("gone");
        }
    }

    @Test
    void the_tenant_health_check_answers_for_any_tenant_name() throws Exception {
        HttpResponse<String> get = HTTP.send(HttpRequest.newBuilder(URI.create(serve.http("/api/tenants/realtime-dev/health"))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.body()).startsWith("{\"data\":{\"healthy\":true,\"db_connected\":true,\"replication_connected\":true,");
        HttpResponse<String> head = HTTP.send(HttpRequest.newBuilder(URI.create(serve.http("/api/tenants/realtime-dev/health")))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(head.statusCode()).isEqualTo(200);
        HttpResponse<String> other = HTTP.send(HttpRequest.newBuilder(URI.create(serve.http("/api/tenants/a/b/health"))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(other.statusCode()).isEqualTo(404);
    }
}
