package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.tidings.server.auth.Ed25519Keys;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Token rules as a client meets them, on a server configured only with the Realtime image's
 * {@code API_JWT_JWKS} and {@code JWT_CLAIM_VALIDATORS}: EdDSA and ES256 tokens from that key set
 * connect and receive changes; a token without {@code exp} or {@code role}, with the wrong issuer,
 * or a Supabase API key is refused with a JSON body (at connect) or an error reply (at join)
 * that says why.
 */
@Timeout(60)
@Tag("postgres")
class TokenRulesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ServeHarness serve;
    private static Ed25519Keys ed;
    private static ECKey ec;

    @BeforeAll
    static void start() throws Exception {
        ed = Ed25519Keys.generate("ed-1");
        ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
        serve = ServeHarness.start(Map.of(
                "auth.jwks", new JWKSet(List.of(ed.publicJwk(), ec.toPublicJWK())).toString(),
                "auth.claim_validators", "{\"iss\": \"tidings-test\"}"));
    }

    @AfterAll
    static void stop() {
        serve.close();
    }

    private static JWTClaimsSet.Builder claims() {
        return new JWTClaimsSet.Builder().issuer("tidings-test").claim("role", "authenticated").subject("7")
                .expirationTime(Date.from(Instant.now().plusSeconds(600)));
    }

    private static String eddsa(JWTClaimsSet claims) throws Exception {
        return ed.sign(JWSAlgorithm.EdDSA, claims);
    }

    @Test
    void eddsa_and_es256_tokens_from_the_key_set_connect_join_and_receive_changes() throws Exception {
        SignedJWT es = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("ec-1").build(), claims().build());
        es.sign(new ECDSASigner(ec));
        try (RawSocket edClient = RawSocket.open(serve.ws("vsn=1.0.0&apikey=" + eddsa(claims().build())));
             RawSocket esClient = RawSocket.open(serve.ws("vsn=1.0.0&apikey=" + es.serialize()))) {
            edClient.send(RawSocket.join("realtime:public:todos", "1", "{}"));
            esClient.send(RawSocket.join("realtime:public:todos", "1", "{}"));
            assertThat(edClient.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");
            assertThat(esClient.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");
            serve.sql("INSERT INTO todos (id, user_id) VALUES (1, 7)");
            assertThat(edClient.awaitEvent("INSERT").at("/payload/record/id").asInt()).isEqualTo(1);
            assertThat(esClient.awaitEvent("INSERT").at("/payload/record/id").asInt()).isEqualTo(1);
        }
    }

    @Test
    void refused_connections_get_a_json_body_saying_why() throws Exception {
        assertThat(upgrade(eddsa(claims().expirationTime(null).build())))
                .isEqualTo("403 {\"error\":\"Fields `role` and `exp` are required in JWT (this token has no `exp`)\"}");
        assertThat(upgrade(eddsa(claims().claim("role", null).build())))
                .isEqualTo("403 {\"error\":\"Fields `role` and `exp` are required in JWT (this token has no `role`)\"}");
        assertThat(upgrade(eddsa(claims().issuer("someone-else").build())))
                .isEqualTo("403 {\"error\":\"Invalid JWT: claim `iss` does not have the required value\"}");
        assertThat(upgrade("sb_publishable_fmHdY2yKr0nXz8_abc"))
                .startsWith("403 {\"error\":\"The token provided is not a valid JWT: sb_publishable_… is a Supabase API key");
        assertThat(upgrade(Ed25519Keys.generate("ed-1").sign(JWSAlgorithm.EdDSA, claims().build())))
                .isEqualTo("403 {\"error\":\"Invalid JWT: signature does not verify with the configured keys\"}");
        assertThat(upgrade(null)).startsWith("401 {\"error\":\"no token");

        HttpResponse<String> sse = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(serve.http(
                "/events?tables=public.todos&apikey=sb_secret_abc"))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(sse.statusCode()).isEqualTo(403);
        assertThat(sse.headers().firstValue("content-type")).hasValue("application/json");
        assertThat(JSON.readTree(sse.body()).get("error").asText()).startsWith("The token provided is not a valid JWT: sb_secret_…");
    }

    @Test
    void a_join_with_a_token_lacking_role_or_the_required_claim_gets_an_error_reply_with_the_reason() throws Exception {
        try (RawSocket c = RawSocket.open(serve.ws("vsn=1.0.0&apikey=" + eddsa(claims().build())))) {
            c.send(RawSocket.join("realtime:public:todos", "1", "{\"access_token\":\"" + eddsa(claims().claim("role", null).build()) + "\"}"));
            JsonNode noRole = c.awaitReply("1");
            assertThat(noRole.at("/payload/status").asText()).isEqualTo("error");
            assertThat(noRole.at("/payload/response/reason").asText())
                    .isEqualTo("InvalidJWTToken: Fields `role` and `exp` are required in JWT (this token has no `role`)");
            c.send(RawSocket.join("realtime:public:todos", "2", "{\"access_token\":\"sb_publishable_abc\"}"));
            assertThat(c.awaitReply("2").at("/payload/response/reason").asText())
                    .startsWith("InvalidJWTToken: The token provided is not a valid JWT: sb_publishable_… is a Supabase API key");
            c.send(RawSocket.join("realtime:public:todos", "3", "{\"access_token\":\"" + eddsa(claims().build()) + "\"}"));
            assertThat(c.awaitReply("3").at("/payload/status").asText()).isEqualTo("ok");
        }
    }

    /** The status and body of a WebSocket upgrade answered with an error, read off the wire. */
    private static String upgrade(String token) throws Exception {
        URI uri = URI.create(serve.ws("vsn=1.0.0" + (token == null ? "" : "&apikey=" + token)));
        try (Socket s = new Socket(uri.getHost(), uri.getPort())) {
            OutputStream out = s.getOutputStream();
            out.write(("GET " + uri.getRawPath() + "?" + uri.getRawQuery() + " HTTP/1.1\r\nHost: " + uri.getHost() + "\r\n"
                    + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                head.append((char) in.read());
            }
            String[] lines = head.toString().split("\r\n");
            int length = 0;
            for (String line : lines) {
                String lower = line.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-type:")) {
                    assertThat(lower).contains("application/json");
                }
                if (lower.startsWith("content-length:")) {
                    length = Integer.parseInt(line.substring(15).strip());
                }
            }
            return lines[0].split(" ")[1] + " " + new String(in.readNBytes(length), StandardCharsets.UTF_8);
        }
    }
}
