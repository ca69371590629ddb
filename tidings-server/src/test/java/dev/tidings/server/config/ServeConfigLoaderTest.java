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

/** Settings from the Realtime image's environment, YAML and flags; bad values fail with the setting's name. */
@Tag("unit")
class ServeConfigLoaderTest {
    private static final String SECRET = "0123456789abcdef0123456789abcdef";

    private static ServeConfig env(Map<String, String> env) {
        return ServeConfigLoader.load(Map.of(), env, null);
    }

    @Test
    void the_seeds_docker_run_environment_works_unchanged() {
        ServeConfig c = env(Map.of("DB_HOST", "host.docker.internal", "DB_NAME", "wiki", "DB_USER", "scottp",
                "DB_PASSWORD", "", "DB_PORT", "5432", "PORT", "4000", "HOSTNAME", "localhost",
                "SECRET_KEY_BASE", "SOMETHING_SUPER_SECRET"));
        assertThat(c.db().toString()).isEqualTo("postgresql://scottp@host.docker.internal:5432/wiki");
        assertThat(c.server().port()).isEqualTo(4000);
        assertThat(c.replication().temporary()).as("no SLOT_NAME: a temporary slot, as the image").isTrue();
        assertThat(c.replication().publication()).isEqualTo("supabase_realtime");
        assertThat(c.auth().secureChannels()).isFalse();
    }

    @Test
    void realtime_variables_map_to_settings() {
        Map<String, String> e = new HashMap<>(Map.of("DB_HOST", "db", "DB_SSL", "true", "SLOT_NAME", "realtime",
                "PUBLICATIONS", "[\"my_pub\"]", "SECURE_CHANNELS", "true", "JWT_SECRET", SECRET,
                "MAX_REPLICATION_LAG_MB", "100"));
        ServeConfig c = env(e);
        assertThat(c.replication().slot()).isEqualTo("realtime");
        assertThat(c.replication().temporary()).isFalse();
        assertThat(c.replication().publication()).isEqualTo("my_pub");
        assertThat(c.auth().secureChannels()).isTrue();
        assertThat(c.db().parameters()).containsEntry("sslmode", "require");
        assertThat(c.replication().maxLagMb()).isEqualTo(100);
        e.put("TEMPORARY_SLOT", "true");
        assertThat(env(e).replication().temporary()).isTrue();
    }

    @Test
    void flags_win_over_environment_which_wins_over_yaml(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tidings.yaml");
        Files.writeString(yaml, """
                db:
                  url: postgresql://app@yaml:5432/app
                server:
                  port: 5000
                replication:
                  slot: from_yaml
                  tables: [public.todos, public.users]
                auth:
                  jwt_secret: %s
                  roles:
                    authenticated: [public.todos]
                  rows:
                    public.todos: user_id=eq.{sub}
                """.formatted(SECRET));
        ServeConfig c = ServeConfigLoader.load(Map.of("server.port", "6000"), Map.of("SLOT_NAME", "from_env"), yaml);
        assertThat(c.server().port()).isEqualTo(6000);
        assertThat(c.replication().slot()).isEqualTo("from_env");
        assertThat(c.db().host()).isEqualTo("yaml");
        assertThat(c.replication().tables()).hasSize(2);
        assertThat(c.auth().secureChannels()).as("a key configured: secure by default").isTrue();
        assertThat(c.auth().roles()).containsEntry("authenticated", java.util.List.of("public.todos"));
        assertThat(c.auth().rows()).containsEntry("public.todos", "user_id=eq.{sub}");
    }

    @Test
    void invalid_or_unknown_values_fail_at_start_naming_the_setting(@TempDir Path dir) throws Exception {
        Map<String, String> db = Map.of("DB_HOST", "db");
        assertThatThrownBy(() -> env(Map.of())).hasMessageContaining("no database given");
        assertThatThrownBy(() -> env(with(db, "PORT", "http"))).hasMessageContaining("PORT (server.port) must be a whole number");
        assertThatThrownBy(() -> env(with(db, "SECURE_CHANNELS", "yes"))).hasMessageContaining("SECURE_CHANNELS (auth.secure_channels) must be true or false");
        assertThatThrownBy(() -> env(with(db, "SECURE_CHANNELS", "true"))).hasMessageContaining("no key is configured");
        assertThatThrownBy(() -> env(with(db, "JWT_SECRET", "short"))).hasMessageContaining("shorter than 32 bytes");
        assertThatThrownBy(() -> env(with(db, "PUBLICATIONS", "[\"a\",\"b\"]"))).hasMessageContaining("exactly one publication");
        assertThatThrownBy(() -> env(with(db, "MAX_REPLICATION_LAG_MB", "-1"))).hasMessageContaining("MAX_REPLICATION_LAG_MB");
        assertThatThrownBy(() -> env(with(db, "SLOT_NAME", "Bad-Name"))).hasMessageContaining("slot name 'Bad-Name'");
        assertThatThrownBy(() -> env(with(db, "TIDINGS_PROT", "1"))).hasMessageContaining("unknown environment variable TIDINGS_PROT");
        Path yaml = dir.resolve("bad.yaml");
        Files.writeString(yaml, "server:\n  prot: 4000\n");
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of(), db, yaml)).hasMessageContaining("unknown setting 'server.prot'");
        Files.writeString(yaml, "auth:\n  rows:\n    public.todos: user_id=foo.{sub}\n");
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of(), db, yaml)).hasMessageContaining("Error parsing `filter` params: [\"foo\", \"0\"]");
    }

    @Test
    void errors_name_the_setting_and_where_it_was_given(@TempDir Path dir) throws Exception {
        Map<String, String> db = Map.of("DB_HOST", "db");
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of("server.port", "http"), db, null))
                .hasMessageContaining("--port (server.port) must be a whole number from 0 to 65535, not 'http'");
        assertThatThrownBy(() -> env(with(db, "TIDINGS_SEND_QUEUE_BYTES", "lots")))
                .hasMessageContaining("TIDINGS_SEND_QUEUE_BYTES (limits.send_queue_bytes) must be a size");
        Path yaml = dir.resolve("tidings.yaml");
        Files.writeString(yaml, "limits:\n  max_frame_bytes: 3 pages\n");
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of(), db, yaml))
                .hasMessageContaining("limits.max_frame_bytes in " + yaml + " must be a size");
        Files.writeString(yaml, "sinks:\n  - {name: audit, type: webhook, url: http://h/, timeout: soon}\n");
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of(), with(db, "SLOT_NAME", "s"), yaml))
                .hasMessageContaining("sink audit: timeout in sinks in " + yaml + " must be a duration");
    }

    @Test
    void sizes_take_binary_units_and_lists_take_yaml_or_commas(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tidings.yaml");
        Files.writeString(yaml, """
                limits: {send_queue_bytes: 8MiB, max_frame_bytes: 64KiB}
                replication: {tables: "public.a, public.b"}
                """);
        ServeConfig c = ServeConfigLoader.load(Map.of(), Map.of("DB_HOST", "db"), yaml);
        assertThat(c.limits().sendQueueBytes()).isEqualTo(8L << 20);
        assertThat(c.limits().maxFrameBytes()).isEqualTo(64 << 10);
        assertThat(c.replication().tables()).extracting(Object::toString).containsExactly("public.a", "public.b");
        assertThat(env(Map.of("DB_HOST", "db")).limits().sendQueueBytes()).as("default").isEqualTo(4L << 20);
    }

    private static Map<String, String> with(Map<String, String> base, String key, String value) {
        Map<String, String> m = new HashMap<>(base);
        m.put(key, value);
        return m;
    }

    @Test
    void standby_readers_and_failover_slots_are_opt_in_and_need_a_persistent_slot() {
        ServeConfig plain = env(Map.of("DB_HOST", "db", "SLOT_NAME", "orders"));
        assertThat(plain.ha().enabled()).isFalse();
        assertThat(plain.replication().failover()).isFalse();

        ServeConfig ha = env(Map.of("DB_HOST", "db", "SLOT_NAME", "orders", "TIDINGS_HA", "true",
                "TIDINGS_HA_LEASE_SECONDS", "10", "TIDINGS_REPLICATION_FAILOVER", "true"));
        assertThat(ha.ha().enabled()).isTrue();
        assertThat(ha.ha().lease()).hasSeconds(10);
        assertThat(ha.replication().failover()).isTrue();
        assertThat(ServeConfigLoader.load(Map.of("ha.enabled", "true"), Map.of("DB_HOST", "db", "SLOT_NAME", "orders"), null).ha().enabled())
                .as("--ha").isTrue();

        assertThatThrownBy(() -> env(Map.of("DB_HOST", "db", "TIDINGS_HA", "true")))
                .hasMessageContaining("TIDINGS_HA").hasMessageContaining("persistent replication slot")
                .hasMessageContaining("set SLOT_NAME");
        assertThatThrownBy(() -> env(Map.of("DB_HOST", "db", "SLOT_NAME", "orders", "TIDINGS_HA", "true", "TIDINGS_HA_LEASE_SECONDS", "1")))
                .hasMessageContaining("TIDINGS_HA_LEASE_SECONDS");
    }
}
