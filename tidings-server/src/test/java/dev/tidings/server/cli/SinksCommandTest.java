package dev.tidings.server.cli;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code tidings sinks} refuses a file it cannot run before it connects anywhere (its streaming is in KillNineTest). */
@Tag("unit")
class SinksCommandTest {
    @TempDir
    Path dir;

    private record Run(int exitCode, String err) {}

    private static Run sinks(String... args) {
        StringWriter err = new StringWriter();
        String[] full = new String[args.length + 1];
        full[0] = "sinks";
        System.arraycopy(args, 0, full, 1, args.length);
        int code = Main.commandLine().setErr(new PrintWriter(err, true)).execute(full);
        return new Run(code, err.toString());
    }

    @Test
    void a_yaml_file_without_sinks_is_refused_saying_what_to_add() throws Exception {
        Path file = Files.writeString(dir.resolve("tidings.yaml"), "db: {url: postgresql://a@127.0.0.1:1/x}\nsinks: []\n");
        Run run = sinks("--db", "postgresql://a@127.0.0.1:1/x", "--config", file.toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("tidings: " + file + " lists no sinks: add a sinks: list");
    }

    @Test
    void a_sink_error_names_the_sink_the_key_and_the_file() throws Exception {
        Path file = Files.writeString(dir.resolve("sinks.json"),
                "{\"sinks\": [{\"name\": \"audit\", \"type\": \"file\", \"path\": \"/tmp/a\", \"max_bytes\": \"lots\"}]}");
        Run run = sinks("--db", "postgresql://a@127.0.0.1:1/x", "--config", file.toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("sink audit: max_bytes in " + file + " must be a size");
    }

    @Test
    void the_command_is_listed_with_its_options() {
        StringWriter out = new StringWriter();
        new CommandLine(new Main()).setOut(new PrintWriter(out, true)).execute("sinks", "--help");
        assertThat(out.toString()).contains("--config=FILE", "--db=URL", "--slot=NAME", "--publication=NAME");
    }
}
