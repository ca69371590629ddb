package dev.tidings.server.config;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Start-up fails closed: the token settings of the current Realtime image turn checks on, and a
 * Realtime variable Tidings does not implement stops the start with its name and the fix.
 */
@Tag("unit")
class FailClosedConfigTest {
    private static final String SECRET = "0123456789abcdef0123456789abcdef";
    private static final String JWKS = """
            {"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}""";

    private static ServeConfig env(Map<String, String> env) {
        Map<String, String> e = new HashMap<>(env);
        e.putIfAbsent("DB_HOST", "db");
        return ServeConfigLoader.load(Map.of(), e, null);
    }

    @Test
    void api_jwt_secret_alone_turns_token_checks_on() {
        ServeConfig c = env(Map.of("API_JWT_SECRET", SECRET));
        assertThat(c.auth().secureChannels()).as("an operator who sets only the secret gets a closed server").isTrue();
        assertThat(c.auth().tokens().secrets()).containsExactly(SECRET);
        assertThat(c.auth().tokens().requireExp()).isTrue();
        assertThat(c.auth().tokens().requireRole()).isTrue();
        assertThat(env(Map.of("API_JWT_SECRET", SECRET, "API_JWT_SECRET_NEXT", SECRET.toUpperCase())).auth().tokens().secrets())
                .containsExactly(SECRET, SECRET.toUpperCase());
    }

    @Test
    void api_jwt_jwks_alone_turns_token_checks_on_and_claim_validators_are_read_as_json() {
        ServeConfig c = env(Map.of("API_JWT_JWKS", JWKS, "JWT_CLAIM_VALIDATORS", "{\"iss\": \"supabase\", \"n\": 3}"));
        assertThat(c.auth().secureChannels()).isTrue();
        assertThat(c.auth().tokens().jwks().getKeyByKeyId("ed")).isNotNull();
        assertThat(c.auth().tokens().claimValidators()).containsEntry("iss", "supabase").containsEntry("n", 3L);
    }

    @Test
    void exp_and_role_may_be_made_optional_in_the_environment_or_the_yaml_file(@TempDir Path dir) throws Exception {
        ServeConfig c = env(Map.of("API_JWT_SECRET", SECRET, "TIDINGS_JWT_REQUIRE_EXP", "false"));
        assertThat(c.auth().tokens().requireExp()).isFalse();
        assertThat(c.auth().tokens().requireRole()).isTrue();
        Path yaml = dir.resolve("tidings.yaml");
        Files.writeString(yaml, """
                db:
                  host: db
                auth:
                  jwt_secret: %s
                  require_role: false
                  claim_validators:
                    iss: supabase
                  jwks:
                    keys:
                      - {kty: oct, kid: k1, k: c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA}
                """.formatted(SECRET));
        ServeConfig y = ServeConfigLoader.load(Map.of(), Map.of(), yaml);
        assertThat(y.auth().tokens().requireRole()).isFalse();
        assertThat(y.auth().tokens().claimValidators()).containsEntry("iss", "supabase");
        assertThat(y.auth().tokens().jwks().getKeyByKeyId("k1")).isNotNull();
    }

    @Test
    void realtime_variables_tidings_does_not_implement_stop_the_start_with_their_name_and_the_fix() {
        assertThatThrownBy(() -> env(Map.of("API_JWT_SECRET", SECRET, "API_TOKEN_BLOCKLIST", "eyJ...")))
                .hasMessageStartingWith("API_TOKEN_BLOCKLIST is a Supabase Realtime setting that Tidings does not implement: ")
                .hasMessageContaining("API_JWT_SECRET_NEXT");
        assertThatThrownBy(() -> env(Map.of("METRICS_JWT_SECRET", SECRET, "MAX_CONNECTIONS", "100")))
                .hasMessageContaining("MAX_CONNECTIONS is a Supabase Realtime setting")
                .hasMessageContaining("METRICS_JWT_SECRET is a Supabase Realtime setting");
        for (String var : RealtimeEnvironment.REFUSED.keySet()) {
            assertThatThrownBy(() -> env(Map.of(var, "1"))).as(var).hasMessageStartingWith(var + " is a Supabase Realtime setting");
        }
        assertThat(env(Map.of("API_TOKEN_BLOCKLIST", ""))).as("empty counts as unset").isNotNull();
    }

    @Test
    void the_self_hosted_compose_environment_starts_with_its_realtime_only_variables_accepted() {
        Map<String, String> compose = Map.ofEntries(Map.entry("PORT", "4000"), Map.entry("DB_HOST", "db"),
                Map.entry("DB_PORT", "5432"), Map.entry("DB_USER", "supabase_admin"), Map.entry("DB_PASSWORD", "pw"),
                Map.entry("DB_NAME", "postgres"), Map.entry("DB_AFTER_CONNECT_QUERY", "SET search_path TO _realtime"),
                Map.entry("DB_ENC_KEY", "supabaserealtime"), Map.entry("API_JWT_SECRET", SECRET),
                Map.entry("SECRET_KEY_BASE", "x".repeat(64)), Map.entry("ERL_AFLAGS", "-proto_dist inet_tcp"),
                Map.entry("DNS_NODES", "''"), Map.entry("RLIMIT_NOFILE", "10000"), Map.entry("APP_NAME", "realtime"),
                Map.entry("SEED_SELF_HOST", "true"), Map.entry("RUN_JANITOR", "true"));
        ServeConfig c = env(compose);
        assertThat(c.auth().secureChannels()).isTrue();
        assertThat(RealtimeEnvironment.notApplicable(compose)).contains("DB_ENC_KEY", "RUN_JANITOR", "SEED_SELF_HOST")
                .doesNotContain("API_JWT_SECRET", "PORT");
        assertThat(RealtimeEnvironment.NOT_APPLICABLE).doesNotContainAnyElementsOf(RealtimeEnvironment.REFUSED.keySet());
        assertThat(RealtimeEnvironment.NOT_APPLICABLE).as("no implemented variable is listed as not applicable")
                .doesNotContainAnyElementsOf(ServeConfigLoader.SETTINGS.stream().flatMap(s -> s.env().stream()).toList());
    }

    @Test
    void bad_token_settings_are_refused_with_the_variable_named_and_no_secret_repeated() {
        assertThatThrownBy(() -> env(Map.of("API_JWT_SECRET", "short-secret")))
                .hasMessageStartingWith("API_JWT_SECRET (auth.jwt_secret) is shorter than 32 bytes").hasMessageNotContaining("short-secret");
        assertThatThrownBy(() -> env(Map.of("API_JWT_JWKS", "{\"keys\": [{\"kty\": \"RSA\", \"n\": 1}]}")))
                .hasMessageStartingWith("API_JWT_JWKS (auth.jwks) is not a JWK set");
        assertThatThrownBy(() -> env(Map.of("API_JWT_JWKS", "not json at all")))
                .hasMessageStartingWith("API_JWT_JWKS (auth.jwks) must be a JWK set as JSON").hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> env(Map.of("API_JWT_JWKS", "{\"keys\": [{\"kty\": \"OKP\", \"crv\": \"X25519\", \"kid\": \"x\", "
                + "\"x\": \"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}")))
                .hasMessageContaining("key 'x' is a OKP X25519 key, which cannot check token signatures");
        assertThatThrownBy(() -> env(Map.of("API_JWT_JWKS", "{\"keys\": []}"))).hasMessageContaining("has no keys");
        assertThatThrownBy(() -> env(Map.of("API_JWT_SECRET", SECRET, "JWT_CLAIM_VALIDATORS", "[\"iss\"]")))
                .hasMessageStartingWith("JWT_CLAIM_VALIDATORS (auth.claim_validators) must be a JSON map of claim");
        assertThatThrownBy(() -> env(Map.of("API_JWT_SECRET_NEXT", SECRET))).hasMessageContaining("set API_JWT_SECRET too");
        assertThatThrownBy(() -> env(Map.of("JWKS_URL", "ftp://keys"))).hasMessageStartingWith("JWKS_URL (auth.jwks_url) must be an http(s) URL");
        assertThatThrownBy(() -> env(Map.of("TIDINGS_JWT_REQUIRE_EXP", "no")))
                .hasMessage("TIDINGS_JWT_REQUIRE_EXP (auth.require_exp) must be true or false, not 'no'");
    }

    @Test
    void two_names_of_one_setting_with_different_values_are_refused() {
        assertThatThrownBy(() -> env(Map.of("API_JWT_SECRET", SECRET, "JWT_SECRET", SECRET.toUpperCase())))
                .hasMessage("API_JWT_SECRET and JWT_SECRET are both set, to different values, and mean the same setting "
                        + "(auth.jwt_secret); unset one of them");
        assertThat(env(Map.of("API_JWT_SECRET", SECRET, "JWT_SECRET", SECRET)).auth().secureChannels()).isTrue();
    }

    @Test
    void log_level_takes_realtimes_level_names() {
        assertThat(env(Map.of("LOG_LEVEL", "warning")).server().logLevel()).isEqualTo("WARN");
        assertThat(env(Map.of("LOG_LEVEL", "notice")).server().logLevel()).isEqualTo("INFO");
        assertThat(env(Map.of()).server().logLevel()).isEqualTo("INFO");
        assertThatThrownBy(() -> env(Map.of("LOG_LEVEL", "loud"))).hasMessageStartingWith("LOG_LEVEL (log.level) must be debug, info");
    }
}
