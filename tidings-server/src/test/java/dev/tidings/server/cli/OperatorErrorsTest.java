package dev.tidings.server.cli;

import dev.tidings.testing.ChildJvm;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The operator's usual mistakes, made with the real command in a JVM of its own: an unreachable
 * database, a database host that does not resolve, a URL that is not PostgreSQL's, a port another
 * program holds, a Supabase Realtime variable Tidings does not implement. Each ends the command
 * at once with exit code 2 and one or two lines on stderr naming the problem and the fix — no
 * stack trace, no reconnect loop.
 */
@Timeout(120)
@Tag("process")
@Tag("postgres")
class OperatorErrorsTest {
    private static final List<String> JVM = List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    @TempDir
    Path dir;

    /** Runs {@code tidings args} to its end; returns its stderr after checking the exit code and the shape. */
    private String fails(Map<String, String> env, String... args) throws Exception {
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        try (ChildJvm jvm = new ChildJvm()) {
            Process p = jvm.start(JVM, Main.class.getName(), List.of(args), env, out, err);
            assertThat(ChildJvm.await(p, 60)).as("exit code of tidings %s; stderr: %s", List.of(args), Files.readString(err))
                    .isEqualTo(2);
        }
        String stderr = Files.readString(err);
        assertThat(stderr.lines().toList()).as(stderr).hasSizeBetween(1, 2);
        assertThat(stderr).as("no stack trace").doesNotContain("\tat ").doesNotContain("Exception").doesNotContain("WARN");
        return stderr;
    }

    private static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void an_unreachable_database_stops_serve_and_tail_with_where_to_look() throws Exception {
        int port = closedPort();
        String url = "postgresql://postgres@127.0.0.1:" + port + "/app";
        for (String command : List.of("serve", "tail")) {
            String stderr = fails(Map.of(), command, "--db", url);
            assertThat(stderr).startsWith("tidings: cannot connect to " + url + ": Connection to 127.0.0.1:" + port + " refused")
                    .contains("\n  Is PostgreSQL running and accepting TCP connections at 127.0.0.1:" + port + "?");
        }
        assertThat(fails(Map.of(), "demo", "--db", url, "--port", "0")).startsWith("tidings: cannot connect to " + url);
    }

    @Test
    void a_host_that_does_not_resolve_and_a_url_that_is_not_postgresql_are_named() throws Exception {
        assertThat(fails(Map.of(), "serve", "--db", "postgresql://postgres@no-such-host.invalid:5432/app"))
                .startsWith("tidings: cannot connect to postgresql://postgres@no-such-host.invalid:5432/app")
                .contains("\n  The host name 'no-such-host.invalid' does not resolve: check the host in the URL.");
        assertThat(fails(Map.of(), "tail", "--db", "mysql://root@db/app"))
                .startsWith("tidings: not a PostgreSQL URL: 'mysql://root@db/app'; use postgresql://");
    }

    @Test
    void a_port_in_use_stops_serve_and_demo_before_they_start_anything() throws Exception {
        String db = TestPostgres.newDatabase();
        try (ServerSocket busy = new ServerSocket()) {
            busy.bind(new InetSocketAddress("0.0.0.0", 0));
            int port = busy.getLocalPort();
            String inUse = "tidings: port " + port + " on 0.0.0.0 is already in use by another program\n"
                    + "  stop that program, or choose another port with --port N";
            assertThat(fails(Map.of(), "serve", "--db", db, "--port", String.valueOf(port), "--temporary")).startsWith(inUse);
            assertThat(fails(Map.of(), "demo", "--port", String.valueOf(port)))
                    .as("refused before an embedded PostgreSQL is started").startsWith(inUse);
        }
    }

    @Test
    void a_realtime_variable_tidings_does_not_implement_stops_serve_naming_it() throws Exception {
        assertThat(fails(Map.of("API_JWT_SECRET", "a-secret-of-at-least-thirty-two-bytes", "API_TOKEN_BLOCKLIST", "x"),
                "serve", "--db", "postgresql://postgres@127.0.0.1:1/app"))
                .startsWith("tidings: API_TOKEN_BLOCKLIST is a Supabase Realtime setting that Tidings does not implement");
    }
}
