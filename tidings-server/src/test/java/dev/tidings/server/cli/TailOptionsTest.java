package dev.tidings.server.cli;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code tail}'s source options reach the {@link dev.tidings.source.SourceConfig} it streams with. */
@Tag("unit")
class TailOptionsTest {

    @Test
    void skip_origin_is_comma_separated_or_repeated() {
        TailCommand tail = new TailCommand();
        new CommandLine(tail).parseArgs("--db", "postgresql://localhost/db", "--skip-origin", "node_b,node_c",
                "--skip-origin", "node_d");
        assertThat(tail.source.config().skipOrigins()).containsExactlyInAnyOrder("node_b", "node_c", "node_d");
        assertThat(tail.source.config().skipsOrigin("node_c")).isTrue();
        assertThat(tail.source.config().skipsOrigin(null)).isFalse();
    }
}
