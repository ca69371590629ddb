package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SECURE_CHANNELS with an HS secret and a JWKS URL: tokens at connect (401/403), at join (error
 * reply), refreshed by access_token pushes, expiry closing the channel; roles and row policies
 * from the config file applied to each subscriber's changes.
 */
@Timeout(60)
@Tag("postgres")
class SecurityTest {
    static final String SECRET = "a-test-secret-that-is-long-enough-for-hs512-a-test-secret-that-is";
    private static ServeHarness serve;
    private static HttpServer jwks;
    private static RSAKey rsa;
    private static int nextId = 1;

    @BeforeAll
    static void start() throws Exception {
        rsa = new RSAKeyGenerator(2048).keyID("k1").generate();
        byte[] set = new JWKSet(rsa.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
        jwks = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        jwks.createContext("/jwks.json", x -> {
            x.sendResponseHeaders(200, set.length);
            x.getResponseBody().write(set);
            x.close();
        });
        jwks.start();
        serve = ServeHarness.start(Map.of(
                "auth.secure_channels", "true",
                "auth.jwt_secret", SECRET,
                "auth.jwks_url", "http://127.0.0.1:" + jwks.getAddress().getPort() + "/jwks.json"), """
                auth:
                  roles:
                    authenticated: [public.todos]
                    service_role: ["*"]
                    anon: []
                  rows:
                    public.todos: user_id=eq.{sub}
                """);
    }

    @AfterAll
    static void stop() {
        serve.close();
        jwks.stop(0);
    }

    static String hs(JWSAlgorithm alg, String secret, String role, String sub, Instant exp) throws JOSEException {
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().claim("role", role).expirationTime(Date.from(exp));
        if (sub != null) {
            claims.subject(sub);
        }
        SignedJWT jwt = new SignedJWT(new JWSHeader(alg), claims.build());
        jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    static String user(String sub) throws JOSEException {
        return hs(JWSAlgorithm.HS256, SECRET, "authenticated", sub, Instant.now().plusSeconds(3600));
    }

    static String rs256(RSAKey key, String role) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").build(),
                new JWTClaimsSet.Builder().claim("role", role).subject("7").expirationTime(Date.from(Instant.now().plusSeconds(600))).build());
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    private static String url(String token) {
        return serve.ws("vsn=1.0.0&apikey=" + token);
    }

    @Test
    void rest_broadcast_needs_a_valid_token_and_reaches_the_members_with_one() throws Exception {
        try (RawSocket member = RawSocket.open(url(user("7")))) {
            member.send(RawSocket.join("realtime:sec-room", "1", "{\"config\":{\"broadcast\":{\"self\":false},\"postgres_changes\":[]}}"));
            assertThat(member.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");
            String body = "{\"messages\":[{\"topic\":\"sec-room\",\"event\":\"e\",\"payload\":{\"n\":1}}]}";
            assertThat(post(body, null)).isEqualTo(401);
            assertThat(post(body, hs(JWSAlgorithm.HS256, SECRET.replace('a', 'b'), "service_role", null,
                    Instant.now().plusSeconds(60)))).isEqualTo(403);
            assertThat(post(body, hs(JWSAlgorithm.HS256, SECRET, "service_role", null, Instant.now().plusSeconds(60))))
                    .isEqualTo(202);
            assertThat(member.awaitEvent("broadcast").at("/payload/payload/n").asInt()).isEqualTo(1);
        }
    }

    private static int post(String body, String bearer) throws Exception {
        java.net.http.HttpRequest.Builder r = java.net.http.HttpRequest.newBuilder(java.net.URI.create(serve.http("/api/broadcast")))
                .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(body));
        if (bearer != null) {
            r.header("Authorization", "Bearer " + bearer);
        }
        return java.net.http.HttpClient.newHttpClient().send(r.build(), java.net.http.HttpResponse.BodyHandlers.discarding())
                .statusCode();
    }

    @Test
    void connect_without_a_token_is_401_and_forged_or_expired_tokens_are_403() throws Exception {
        String future = "exp";
        assertThat(RawSocket.upgradeStatus(serve.ws("vsn=1.0.0"))).isEqualTo(401);
        String none = new PlainJWT(new JWTClaimsSet.Builder().claim("role", "service_role")
                .expirationTime(Date.from(Instant.now().plusSeconds(60))).build()).serialize();
        assertThat(RawSocket.upgradeStatus(url(none))).as("alg none").isEqualTo(403);
        assertThat(RawSocket.upgradeStatus(url(hs(JWSAlgorithm.HS256, SECRET.replace('a', 'b'), "service_role", null,
                Instant.now().plusSeconds(60))))).as("wrong key").isEqualTo(403);
        assertThat(RawSocket.upgradeStatus(url(hs(JWSAlgorithm.HS256, SECRET, "service_role", null,
                Instant.now().minusSeconds(5))))).as("expired").isEqualTo(403);
        assertThat(RawSocket.upgradeStatus(url("not.a.jwt"))).as(future).isEqualTo(403);
        assertThat(RawSocket.upgradeStatus(url(rs256(new RSAKeyGenerator(2048).keyID("k1").generate(), "anon"))))
                .as("RS256 with a key not in the JWKS").isEqualTo(403);

        assertThat(RawSocket.upgradeStatus(url(user("7")))).isEqualTo(101);
        assertThat(RawSocket.upgradeStatus(url(hs(JWSAlgorithm.HS384, SECRET, "anon", null, Instant.now().plusSeconds(60))))).isEqualTo(101);
        assertThat(RawSocket.upgradeStatus(url(hs(JWSAlgorithm.HS512, SECRET, "anon", null, Instant.now().plusSeconds(60))))).isEqualTo(101);
        assertThat(RawSocket.upgradeStatus(url(rs256(rsa, "anon")))).as("RS256 from the JWKS").isEqualTo(101);
    }

    @Test
    void join_with_a_bad_token_or_a_role_without_the_table_is_refused_while_others_receive() throws Exception {
        try (RawSocket owner = RawSocket.open(url(user("7"))); RawSocket other = RawSocket.open(url(user("7")))) {
            owner.send(RawSocket.join("realtime:public:todos", "1", "{}"));
            assertThat(owner.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");

            other.send(RawSocket.join("realtime:public:todos", "1", "{\"access_token\":\"" + hs(JWSAlgorithm.HS256,
                    SECRET.replace('a', 'c'), "authenticated", "7", Instant.now().plusSeconds(60)) + "\"}"));
            assertThat(other.awaitReply("1").at("/payload/response/reason").asText()).startsWith("InvalidJWTToken: Invalid JWT");
            other.send(RawSocket.join("realtime:public:todos", "2", "{\"user_token\":\"" + hs(JWSAlgorithm.HS256, SECRET,
                    "authenticated", "7", Instant.now().minusSeconds(1)) + "\"}"));
            assertThat(other.awaitReply("2").at("/payload/response/reason").asText()).isEqualTo("InvalidJWTToken: Invalid JWT: Token has expired");
            other.send(RawSocket.join("realtime:public:todos", "3", "{\"access_token\":\"" + hs(JWSAlgorithm.HS256, SECRET,
                    "anon", null, Instant.now().plusSeconds(60)) + "\"}"));
            assertThat(other.awaitReply("3").at("/payload/response/reason").asText())
                    .isEqualTo("Unauthorized: role 'anon' may not subscribe to public.todos");
            other.send(RawSocket.join("realtime:public:notes", "4", "{}"));
            assertThat(other.awaitReply("4").at("/payload/response/reason").asText())
                    .isEqualTo("Unauthorized: role 'authenticated' may not subscribe to public.notes");

            int id = nextId++;
            serve.sql("INSERT INTO todos (id, user_id) VALUES (" + id + ", 7)");
            assertThat(owner.awaitEvent("INSERT").at("/payload/record/id").asInt()).isEqualTo(id);
        }
    }

    @Test
    void row_policy_gives_each_subscriber_only_its_own_rows_of_the_tables_its_role_may_see() throws Exception {
        try (RawSocket seven = RawSocket.open(url(user("7")));
             RawSocket eight = RawSocket.open(serve.ws("vsn=2.0.0&apikey=" + user("8")))) {
            seven.send(RawSocket.join("realtime:public", "1", "{}"));
            assertThat(seven.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");
            eight.send("[\"1\",\"1\",\"realtime:mine\",\"phx_join\",{\"config\":{\"postgres_changes\":"
                    + "[{\"event\":\"*\",\"schema\":\"public\",\"table\":\"todos\"}]}}]");
            eight.await(n -> n.get(3).asText().equals("system"));
            int a = nextId++;
            int b = nextId++;
            serve.sql("INSERT INTO todos (id, user_id) VALUES (" + a + ", 7), (" + b + ", 8)",
                    "INSERT INTO notes (body) VALUES ('not for authenticated')",
                    "UPDATE todos SET done = true WHERE id IN (" + a + ", " + b + ")");

            // a last row for each: anything either should not see would have come before it
            int lastOfSeven = nextId++;
            int lastOfEight = nextId++;
            serve.sql("INSERT INTO todos (id, user_id) VALUES (" + lastOfSeven + ", 7), (" + lastOfEight + ", 8)");

            List<String> sevenSaw = seven.until(n -> n.path("event").asText().equals("INSERT")
                            && n.at("/payload/record/id").asInt() == lastOfSeven).stream()
                    .filter(n -> n.path("event").asText().matches("INSERT|UPDATE"))
                    .map(n -> n.path("event").asText() + " " + n.at("/payload/record/id").asInt()).toList();
            assertThat(sevenSaw).containsExactly("INSERT " + a, "UPDATE " + a, "INSERT " + lastOfSeven);
            List<String> eightSaw = eight.until(n -> n.get(3).asText().equals("postgres_changes")
                            && n.get(4).at("/data/record/id").asInt() == lastOfEight).stream()
                    .filter(n -> n.get(3).asText().equals("postgres_changes"))
                    .map(n -> n.get(4).at("/data/type").asText() + " " + n.get(4).at("/data/record/id").asInt()).toList();
            assertThat(eightSaw).containsExactly("INSERT " + b, "UPDATE " + b, "INSERT " + lastOfEight);
        }
    }

    @Test
    void channel_is_closed_when_its_token_expires_and_a_refresh_keeps_it_open() throws Exception {
        try (RawSocket c = RawSocket.open(url(user("7")))) {
            String shortLived = hs(JWSAlgorithm.HS256, SECRET, "authenticated", "7", Instant.now().plusSeconds(2));
            c.send(RawSocket.join("realtime:public:todos", "1", "{\"user_token\":\"" + shortLived + "\"}"));
            c.send(RawSocket.join("realtime:public", "2", "{\"user_token\":\"" + shortLived + "\"}"));
            assertThat(c.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");
            assertThat(c.awaitReply("2").at("/payload/status").asText()).isEqualTo("ok");
            c.send("{\"topic\":\"realtime:public\",\"event\":\"access_token\",\"payload\":{\"access_token\":\"" + user("7")
                    + "\"},\"ref\":\"3\",\"join_ref\":\"2\"}");

            JsonNode system = c.await(n -> n.path("event").asText().equals("system"));
            assertThat(system.path("topic").asText()).isEqualTo("realtime:public:todos");
            assertThat(system.at("/payload/message").asText()).isEqualTo("Token has expired");
            JsonNode close = c.awaitEvent("phx_close");
            assertThat(close.path("topic").asText()).isEqualTo("realtime:public:todos");
            assertThat(close.path("ref").asText()).isEqualTo("1");

            int id = nextId++;
            serve.sql("INSERT INTO todos (id, user_id) VALUES (" + id + ", 7)");
            JsonNode insert = c.awaitEvent("INSERT");
            assertThat(insert.path("topic").asText()).as("the refreshed channel lives on").isEqualTo("realtime:public");

            c.send("{\"topic\":\"realtime:public\",\"event\":\"access_token\",\"payload\":{\"access_token\":\""
                    + hs(JWSAlgorithm.HS256, SECRET.replace('a', 'd'), "authenticated", "7", Instant.now().plusSeconds(60))
                    + "\"},\"ref\":\"4\",\"join_ref\":\"2\"}");
            assertThat(c.awaitEvent("phx_close").path("topic").asText()).isEqualTo("realtime:public");
        }
    }
}
