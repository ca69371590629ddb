package dev.tidings.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.event.Op;
import dev.tidings.event.Transaction;
import dev.tidings.server.http.TidingsServer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** One version string: the Maven project version, as {@code --version}, {@code /api/status} and the debezium format show it. */
@Tag("unit")
class VersionTest {

    @Test
    void the_version_is_the_maven_project_version_filtered_into_the_build() {
        assertThat(TidingsServer.VERSION).matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
    }

    @Test
    void the_debezium_format_carries_the_same_version() throws Exception {
        ChangeEvent event = new ChangeEvent(Op.INSERT, "public", "t", List.of(), null, null, List.of(),
                new Transaction(1, Lsn.of(100), Instant.EPOCH), 0, Lsn.of(90), null);
        JsonNode source = new ObjectMapper().readTree(EventFormat.named("debezium").toBytes(event)).get("source");

        assertThat(source.get("version").asText()).isEqualTo(TidingsServer.VERSION);
    }

    @Test
    void dash_dash_version_prints_the_version_the_server_reports() {
        StringWriter out = new StringWriter();
        CommandLine commandLine = Main.commandLine();
        commandLine.setOut(new PrintWriter(out));

        int exit = commandLine.execute("--version");

        assertThat(exit).isZero();
        assertThat(out.toString().strip()).isEqualTo("tidings " + TidingsServer.VERSION);
    }
}
