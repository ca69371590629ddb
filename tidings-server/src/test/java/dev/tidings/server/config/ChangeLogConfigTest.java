package dev.tidings.server.config;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code log.dir}, {@code log.retention}, {@code log.max_bytes}: off by default, defaults, errors that say what to do. */
@Tag("unit")
class ChangeLogConfigTest {
    private static final String DB = "postgresql://localhost/app";

    @Test
    void without_a_directory_there_is_no_log() {
        assertThat(ServeConfigLoader.load(Map.of("db.url", DB), Map.of(), null).changeLog()).isNull();
    }

    @Test
    void a_directory_from_the_flag_or_the_environment_gets_the_documented_defaults() {
        ServeConfig.ChangeLogSettings fromFlag = ServeConfigLoader.load(Map.of("db.url", DB, "log.dir", "/var/lib/tidings/log"),
                Map.of(), null).changeLog();
        assertThat(fromFlag).isEqualTo(new ServeConfig.ChangeLogSettings(Path.of("/var/lib/tidings/log"), Duration.ofHours(24),
                1L << 30));
        ServeConfig.ChangeLogSettings fromEnv = ServeConfigLoader.load(Map.of("db.url", DB), Map.of("TIDINGS_LOG_DIR", "/tmp/l",
                "TIDINGS_LOG_RETENTION", "90m", "TIDINGS_LOG_MAX_BYTES", "64MiB"), null).changeLog();
        assertThat(fromEnv).isEqualTo(new ServeConfig.ChangeLogSettings(Path.of("/tmp/l"), Duration.ofMinutes(90), 64L << 20));
    }

    @Test
    void yaml_sets_the_log_beside_the_log_format(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tidings.yaml");
        Files.writeString(yaml, """
                db: {url: "postgresql://localhost/app"}
                log: {format: json, dir: /data/log, retention: 2h, max_bytes: 1GiB}
                """);
        ServeConfig config = ServeConfigLoader.load(Map.of(), Map.of(), yaml);
        assertThat(config.server().logFormat()).isEqualTo("json");
        assertThat(config.changeLog()).isEqualTo(new ServeConfig.ChangeLogSettings(Path.of("/data/log"), Duration.ofHours(2), 1L << 30));
    }

    @Test
    void retention_without_a_directory_or_a_bad_value_is_refused_with_what_to_do() {
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of("db.url", DB), Map.of("TIDINGS_LOG_RETENTION", "2h"), null))
                .hasMessageContaining("TIDINGS_LOG_RETENTION (log.retention) is set but log.dir is not")
                .hasMessageContaining("--log-dir");
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of("db.url", DB, "log.dir", "/l"), Map.of("TIDINGS_LOG_RETENTION", "0"), null))
                .hasMessageContaining("a positive duration");
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of("db.url", DB, "log.dir", "/l"), Map.of("TIDINGS_LOG_MAX_BYTES", "1KiB"),
                null)).hasMessageContaining("TIDINGS_LOG_MAX_BYTES (log.max_bytes) must be a size from 1048576");
    }
}
