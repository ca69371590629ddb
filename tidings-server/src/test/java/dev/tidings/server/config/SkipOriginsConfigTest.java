package dev.tidings.server.config;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Op;
import dev.tidings.event.Transaction;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/** The replication origins to skip, as {@code serve} and each sink read them (the embedded API is tested end to end). */
@Tag("unit")
class SkipOriginsConfigTest {

    @TempDir
    Path dir;

    @Test
    void serve_reads_skip_origins_from_the_environment_and_from_yaml() throws Exception {
        ServeConfig fromEnv = ServeConfigLoader.load(Map.of(), Map.of("DATABASE_URL", "postgresql://localhost/db",
                "TIDINGS_SKIP_ORIGINS", "node_b, node_c"), null);
        assertThat(fromEnv.replication().skipOrigins()).containsExactlyInAnyOrder("node_b", "node_c");

        Path yaml = dir.resolve("tidings.yaml");
        Files.writeString(yaml, "db:\n  url: postgresql://localhost/db\nreplication:\n  skip_origins: [node_b, '*']\n");
        ServeConfig fromYaml = ServeConfigLoader.load(Map.of(), Map.of(), yaml);
        assertThat(fromYaml.replication().skipOrigins()).containsExactlyInAnyOrder("node_b", "*");

        ServeConfig none = ServeConfigLoader.load(Map.of(), Map.of("DATABASE_URL", "postgresql://localhost/db"), null);
        assertThat(none.replication().skipOrigins()).isEmpty();
    }

    @Test
    void a_sink_with_skip_origins_gets_no_change_from_those_origins() {
        Predicate<ChangeEvent> filter = SinkConfig.parse(Map.of("name", "f", "type", "file", "path", "/tmp/f",
                "skip_origins", List.of("node_b"))).settings().filter();
        assertThat(filter.test(event("node_b"))).isFalse();
        assertThat(filter.test(event("node_c"))).isTrue();
        assertThat(filter.test(event(null))).isTrue();

        Predicate<ChangeEvent> any = SinkConfig.parse(Map.of("name", "f", "type", "file", "path", "/tmp/f",
                "skip_origins", "*")).settings().filter();
        assertThat(any.test(event("node_b"))).isFalse();
        assertThat(any.test(event(null))).isTrue();
    }

    private static ChangeEvent event(String origin) {
        Transaction tx = new Transaction(7, Lsn.parse("0/16B3748"), Instant.parse("2026-11-27T10:00:00Z"), origin);
        return new ChangeEvent(Op.INSERT, "public", "t", List.of(), null, null, List.of(), tx, 0, Lsn.parse("0/16B3700"), null);
    }
}
