package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
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
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * RLS mode ({@code auth.rls: true}) with real row level security policies and realtime-js 2.119.1
 * clients: each user gets exactly the rows PostgreSQL lets that user {@code SELECT} (checked by
 * running the same SELECT as that user), without the column the role may not read; a role that
 * no policy lets read gets nothing but the key of deletes, as Supabase sends them; a token
 * refresh to another user switches the rows; tables without a key or without privilege get
 * Supabase's {@code errors} entries; SSE is refused.
 */
@Timeout(120)
@Tag("postgres")
@Tag("process")
class RlsClientsTest {
    private static final String SECRET = "an-rls-test-secret-that-is-long-enough-for-hs256-tokens";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ServeHarness serve;

    @BeforeAll
    static void start() throws Exception {
        NodeClient.installPackages();
        serve = ServeHarness.start(Map.of("auth.secure_channels", "true", "auth.jwt_secret", SECRET, "auth.rls", "true"));
        serve.sql(FIXTURE);
    }

    @AfterAll
    static void stop() {
        if (serve != null) {
            serve.close();
        }
    }

    /** Supabase-style: auth.uid() from request.jwt.claims, a user role, a role no policy lets read. */
    static final String[] FIXTURE = {
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rls_user') THEN CREATE ROLE rls_user NOLOGIN; END IF;"
                    + " IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rls_anon') THEN CREATE ROLE rls_anon NOLOGIN; END IF; END $$",
            "CREATE SCHEMA auth",
            "CREATE FUNCTION auth.uid() RETURNS text LANGUAGE sql STABLE"
                    + " AS $$ SELECT nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub' $$",
            "GRANT USAGE ON SCHEMA auth TO rls_user, rls_anon",
            "CREATE TABLE items (id bigint PRIMARY KEY, user_id text NOT NULL, title text, secret text)",
            "ALTER TABLE items REPLICA IDENTITY FULL",
            "ALTER TABLE items ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY own_items ON items FOR SELECT TO rls_user USING (user_id = auth.uid())",
            "GRANT SELECT (id, user_id, title) ON items TO rls_user",
            "GRANT SELECT ON items TO rls_anon",
            "CREATE TABLE keyless (n int, note text)",
            "GRANT SELECT ON keyless TO rls_user",
            "CREATE TABLE locked (id int PRIMARY KEY, note text)",
    };

    static String token(String role, String sub) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().claim("role", role)
                .subject(sub).expirationTime(Date.from(Instant.now().plusSeconds(600))).build());
        jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    private static NodeClient listen(String token, String table) throws Exception {
        NodeClient c = NodeClient.run(Map.of("ACCESS_TOKEN", token), "rls-listen.js", serve.socket(), table);
        c.await(l -> l.startsWith("SYSTEM") && l.contains("Subscribed to PostgreSQL"), Duration.ofSeconds(30));
        return c;
    }

    private static JsonNode change(NodeClient c) throws Exception {
        return JSON.readTree(c.await("CHANGE ").substring(7));
    }

    /** "INSERT 1" etc.: the event and the id of the row (old row for deletes). */
    private static String summary(JsonNode change) {
        JsonNode row = change.path("eventType").asText().equals("DELETE") ? change.get("old") : change.get("new");
        return change.path("eventType").asText() + " " + row.path("id").asText();
    }

    /** The ids {@code sub} may select as role rls_user, as PostgreSQL answers. */
    private static List<Long> selectAs(String role, String sub) throws Exception {
        try (Connection c = TestPostgres.connect(serve.jdbcUrl); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("SET LOCAL ROLE " + role);
            s.execute("SELECT set_config('request.jwt.claims', '{\"sub\":\"" + sub + "\"}', true)");
            List<Long> ids = new ArrayList<>();
            try (ResultSet r = s.executeQuery("SELECT id FROM items ORDER BY id")) {
                while (r.next()) {
                    ids.add(r.getLong(1));
                }
            }
            c.rollback();
            return ids;
        }
    }

    @Test
    void each_user_gets_exactly_their_rows_without_the_hidden_column_and_deletes_carry_only_the_key() throws Exception {
        serve.sqlSettled("DELETE FROM items");
        try (NodeClient alice = listen(token("rls_user", "alice"), "items");
             NodeClient bob = listen(token("rls_user", "bob"), "items");
             NodeClient anon = listen(token("rls_anon", "nobody"), "items")) {
            serve.sql("INSERT INTO items VALUES (1, 'alice', 'a1', 's1')");
            JsonNode first = change(alice);
            assertThat(summary(first)).isEqualTo("INSERT 1");
            assertThat(first.get("new").has("secret")).as("a column the role may not read").isFalse();
            assertThat(first.get("new").path("title").asText()).isEqualTo("a1");
            serve.sql("INSERT INTO items VALUES (2, 'bob', 'b2', 's2')");
            assertThat(summary(change(bob))).isEqualTo("INSERT 2");
            serve.sql("INSERT INTO items VALUES (3, 'alice', 'a3', 's3')");
            assertThat(summary(change(alice))).isEqualTo("INSERT 3");
            serve.sql("UPDATE items SET title = 'a1!' WHERE id = 1");
            assertThat(summary(change(alice))).isEqualTo("UPDATE 1");
            serve.sql("UPDATE items SET user_id = 'alice', title = 'moved' WHERE id = 2");
            JsonNode moved = change(alice);
            assertThat(summary(moved)).isEqualTo("UPDATE 2");
            assertThat(moved.get("old").has("secret")).isFalse();
            assertThat(selectAs("rls_user", "alice")).containsExactly(1L, 2L, 3L);
            assertThat(selectAs("rls_user", "bob")).isEmpty();
            assertThat(selectAs("rls_anon", "nobody")).isEmpty();

            serve.sql("DELETE FROM items WHERE id = 3");
            for (NodeClient c : List.of(alice, bob, anon)) {
                JsonNode delete = change(c);
                assertThat(summary(delete)).isEqualTo("DELETE 3");
                assertThat(delete.get("old").properties()).as("a delete carries only the key").hasSize(1);
            }
            // bob saw the row he could read while he could, not its move to alice; anon no row at all
            assertThat(bob.seen().stream().filter(l -> l.startsWith("CHANGE ")).map(l -> summary(read(l))))
                    .containsExactly("INSERT 2", "DELETE 3");
            assertThat(anon.seen().stream().filter(l -> l.startsWith("CHANGE ")).map(l -> summary(read(l))))
                    .containsExactly("DELETE 3");
            assertThat(alice.seen().stream().filter(l -> l.startsWith("CHANGE ")).map(l -> summary(read(l))))
                    .containsExactly("INSERT 1", "INSERT 3", "UPDATE 1", "UPDATE 2", "DELETE 3");
        }
    }

    @Test
    void a_token_refresh_to_another_user_switches_the_rows_the_client_gets() throws Exception {
        serve.sqlSettled("DELETE FROM items");
        try (NodeClient client = listen(token("rls_user", "carol"), "items")) {
            serve.sql("INSERT INTO items VALUES (10, 'carol', 'c', 's')", "INSERT INTO items VALUES (11, 'dave', 'd', 's')");
            assertThat(summary(change(client))).isEqualTo("INSERT 10");
            client.tell("TOKEN " + token("rls_user", "dave"));
            client.await("AUTH dave");
            client.await(l -> l.startsWith("SYSTEM") && l.contains("Subscribed to PostgreSQL"), Duration.ofSeconds(20));
            serve.sql("UPDATE items SET title = 'c!' WHERE id = 10", "UPDATE items SET title = 'd!' WHERE id = 11");
            assertThat(summary(change(client))).isEqualTo("UPDATE 11");
            assertThat(client.seen().stream().filter(l -> l.startsWith("CHANGE ")).map(l -> summary(read(l))))
                    .containsExactly("INSERT 10", "UPDATE 11");
        }
    }

    @Test
    void a_table_without_a_primary_key_or_without_privilege_gets_supabases_errors_entries() throws Exception {
        try (NodeClient keyless = listen(token("rls_user", "alice"), "keyless");
             NodeClient locked = listen(token("rls_user", "alice"), "locked")) {
            serve.sql("INSERT INTO keyless VALUES (1, 'no key')", "INSERT INTO locked VALUES (1, 'no grant')");
            JsonNode noKey = change(keyless);
            assertThat(noKey.get("errors").toString()).isEqualTo("[\"Error 400: Bad Request, no primary key\"]");
            JsonNode unauthorized = change(locked);
            assertThat(unauthorized.get("errors").toString()).isEqualTo("[\"Error 401: Unauthorized\"]");
            assertThat(unauthorized.get("new").properties()).as("no column of a table the role may not read").isEmpty();
        }
    }

    @Test
    void a_role_the_database_does_not_know_gets_nothing_and_does_not_hold_up_the_others() throws Exception {
        serve.sqlSettled("DELETE FROM items");
        try (NodeClient ghost = listen(token("rls_ghost_role", "alice"), "items");
             NodeClient alice = listen(token("rls_user", "alice"), "items")) {
            serve.sql("INSERT INTO items VALUES (20, 'alice', 'a20', 's')");
            assertThat(summary(change(alice))).isEqualTo("INSERT 20");
            serve.sql("DELETE FROM items WHERE id = 20");
            assertThat(summary(change(alice))).isEqualTo("DELETE 20");
            serve.sqlSettled();
            Thread.sleep(300); // the checks run after the fan-out: give a wrongly delivered change time to arrive
            assertThat(ghost.seen()).noneMatch(l -> l.startsWith("CHANGE "));
        }
    }

    @Test
    void a_change_no_binding_matches_costs_no_check_and_one_that_matches_is_delivered() throws Exception {
        serve.sqlSettled("DELETE FROM items");
        String alice = token("rls_user", "alice");
        try (RawSocket c = RawSocket.open(serve.ws("vsn=1.0.0&apikey=" + alice))) {
            // neither the event nor gt narrows the fan-out: only the channel can tell these changes apart
            c.send(RawSocket.join("realtime:filtered", "1", "{\"config\":{\"postgres_changes\":[{\"event\":\"INSERT\","
                    + "\"schema\":\"public\",\"table\":\"items\",\"filter\":\"id=gt.100\"}]},\"access_token\":\"" + alice + "\"}"));
            assertThat(c.awaitReply("1").at("/payload/status").asText()).isEqualTo("ok");
            c.await(n -> n.path("event").asText().equals("system") && n.at("/payload/message").asText().contains("Subscribed"));
            double checkedBefore = metric("tidings_rls_checked_total", alice);
            serve.sql("INSERT INTO items VALUES (30, 'alice', 'low', 's')", "UPDATE items SET title = 'still low' WHERE id = 30",
                    "INSERT INTO items VALUES (130, 'alice', 'high', 's')");
            List<JsonNode> received = c.until(n -> n.path("event").asText().equals("postgres_changes"));
            assertThat(received.get(received.size() - 1).at("/payload/data/record/id").asLong()).isEqualTo(130);
            assertThat(metric("tidings_rls_checked_total", alice) - checkedBefore)
                    .as("only the insert of row 130 was checked against the database").isEqualTo(1.0);
        }
    }

    /** A counter of the server's /metrics, read with {@code token}. */
    private static double metric(String name, String token) throws Exception {
        String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(serve.http("/metrics")))
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString()).body();
        return text.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(l.substring(name.length() + 1)))
                .findFirst().orElseThrow(() -> new AssertionError(name + " is not in /metrics: " + text));
    }

    @Test
    void sse_is_refused_in_rls_mode_with_the_reason() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                        serve.http("/events?tables=public.items&apikey=" + token("rls_user", "alice")))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(501);
        assertThat(r.body()).contains("RLS mode");
    }

    private static JsonNode read(String line) {
        try {
            return JSON.readTree(line.substring(7));
        } catch (Exception e) {
            throw new AssertionError(line, e);
        }
    }
}
