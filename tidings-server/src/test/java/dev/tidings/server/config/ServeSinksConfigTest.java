package dev.tidings.server.config;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The sinks, lag, metrics and log settings of {@code tidings serve}. */
@Tag("unit")
class ServeSinksConfigTest {
    private static final Map<String, String> DB = Map.of("DATABASE_URL", "postgresql://app@db:5432/shop");

    @TempDir
    Path dir;

    private ServeConfig yaml(String text, Map<String, String> env) throws Exception {
        Path file = dir.resolve("tidings.yaml");
        Files.writeString(file, text);
        return ServeConfigLoader.load(Map.of(), env, file);
    }

    @Test
    void a_sinks_list_in_yaml_is_read_by_sink_config_and_makes_the_default_slot_persistent() throws Exception {
        ServeConfig c = yaml("""
                sinks:
                  - {name: audit, type: file, path: /tmp/audit.jsonl}
                  - {name: cache, type: redis, stream: "cdc:${table}", tables: [public.orders]}
                """, DB);
        assertThat(c.sinks()).extracting(s -> s.settings().name()).containsExactly("audit", "cache");
        assertThat(c.sinks().get(1).type()).isEqualTo("redis");
        assertThat(c.replication().temporary()).isFalse();
        assertThat(c.replication().slot()).isEqualTo("tidings");
    }

    @Test
    void tidings_sinks_in_the_environment_is_the_same_list_as_json() {
        ServeConfig c = ServeConfigLoader.load(Map.of(), Map.of("DATABASE_URL", "postgresql://app@db/shop", "SLOT_NAME", "cdc",
                "TIDINGS_SINKS", "[{\"name\":\"audit\",\"type\":\"file\",\"path\":\"/tmp/a.jsonl\"}]"), null);
        assertThat(c.sinks()).hasSize(1);
        assertThat(c.replication().slot()).isEqualTo("cdc");
    }

    @Test
    void durable_sinks_with_a_temporary_slot_fail_at_start_saying_why() {
        assertThatThrownBy(() -> yaml("""
                replication: {slot: cdc, temporary: true}
                sinks: [{name: audit, type: file, path: /tmp/a.jsonl}]
                """, DB)).hasMessageContaining("durable sinks need a persistent replication slot")
                .hasMessageContaining("TEMPORARY_SLOT=false");
    }

    @Test
    void a_sink_with_an_unknown_key_names_the_sink_and_the_key() {
        assertThatThrownBy(() -> yaml("sinks: [{name: audit, type: file, path: /tmp/a, colour: red}]", DB))
                .hasMessageContaining("sink audit").hasMessageContaining("colour");
    }

    @Test
    void lag_metrics_and_log_settings_are_read_and_checked() throws Exception {
        ServeConfig c = yaml("""
                replication: {max_lag_mb: 64, pause_on_max_lag: true, lag_check_seconds: 2}
                metrics: {public: true}
                log: {format: json}
                """, DB);
        assertThat(c.replication().maxLagMb()).isEqualTo(64);
        assertThat(c.replication().pauseOnMaxLag()).isTrue();
        assertThat(c.replication().lagCheck()).hasSeconds(2);
        assertThat(c.server().metricsPublic()).isTrue();
        assertThat(c.server().logFormat()).isEqualTo("json");
        assertThat(ServeConfigLoader.load(Map.of(), Map.of("DATABASE_URL", "postgresql://a@b/c", "LOG_FORMAT", "json"), null)
                .server().logFormat()).isEqualTo("json");
        assertThatThrownBy(() -> yaml("log: {format: xml}", DB)).hasMessageContaining("log.format in ")
                .hasMessageContaining("plain or json");
        assertThatThrownBy(() -> yaml("replication: {pause_on_max_lag: true}", DB)).hasMessageContaining("MAX_REPLICATION_LAG_MB");
    }
}
