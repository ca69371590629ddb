package dev.tidings.server.cli;

import dev.tidings.server.http.TidingsServer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** One version string: the Maven project version, as {@code --version} and {@code /api/status} show it. */
@Tag("unit")
class VersionTest {

    @Test
    void the_version_is_the_maven_project_version_filtered_into_the_build() {
        assertThat(TidingsServer.VERSION).matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
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
