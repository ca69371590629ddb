package dev.tidings.server.cli;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The command end to end, on a server of its own: slots are cluster-wide, so a slot another test
 * left on the shared test server would turn "all good" into a warning.
 */
@Tag("postgres")
class CheckCommandTest {

    private static EmbeddedPostgres server;
    private static final AtomicInteger databases = new AtomicInteger();

    @BeforeAll
    static void startServer() throws IOException {
        server = EmbeddedPostgres.builder().setServerConfig("wal_level", "logical").start();
    }

    @AfterAll
    static void stopServer() throws IOException {
        server.close();
    }

    record Run(int exitCode, String out, String err) {}

    @Test
    void healthy_database_passes_with_exit_code_0() throws SQLException {
        String db = newDatabase("CREATE TABLE todos (id bigint PRIMARY KEY, title text)",
                "CREATE PUBLICATION tidings FOR ALL TABLES");

        Run run = check("--db", url(db));

        assertThat(run.exitCode()).as(run.out()).isZero();
        assertThat(run.err()).isEmpty();
        assertThat(run.out()).contains("Checking postgresql://postgres@localhost:" + server.getPort() + "/" + db,
                "All good: ready for change data capture.");
        assertThat(run.out()).containsPattern("(?m)^OK  +wal_level +logical$");
        assertThat(run.out()).doesNotContain("WARN", "FAIL");
    }

    @Test
    void keyless_table_is_a_warning_with_exit_code_1_and_the_fix_indented() throws SQLException {
        String db = newDatabase("CREATE TABLE \"Odd Table ✓\" (note text)",
                "CREATE PUBLICATION \"My Pub\" FOR TABLE \"Odd Table ✓\"");

        Run run = check("--db", url(db), "--publication", "My Pub");

        assertThat(run.exitCode()).as(run.out()).isEqualTo(1);
        assertThat(run.out()).containsPattern("(?m)^WARN  table public\\.\"Odd Table ✓\" +has no primary key")
                .contains("\n        ALTER TABLE public.\"Odd Table ✓\" REPLICA IDENTITY FULL;\n")
                .contains("0 errors, 1 warning.");
    }

    @Test
    void slot_with_test_decoding_fails_with_exit_code_2() throws SQLException {
        String db = newDatabase("CREATE PUBLICATION tidings FOR ALL TABLES",
                "SELECT pg_create_logical_replication_slot('td_slot', 'test_decoding')");
        try {
            Run run = check("--db", url(db), "--slot", "td_slot");

            assertThat(run.exitCode()).as(run.out()).isEqualTo(2);
            assertThat(run.out()).containsPattern("(?m)^FAIL  slot 'td_slot' +uses the output plugin 'test_decoding'")
                    .contains("\n        SELECT pg_drop_replication_slot('td_slot');\n")
                    .contains("1 error, 0 warnings. Tidings cannot start until the errors are fixed.");
        } finally {
            execute(db, "SELECT pg_drop_replication_slot('td_slot')");
        }
    }

    @Test
    void database_url_comes_from_the_environment_when_db_is_absent() throws SQLException {
        String db = newDatabase("CREATE PUBLICATION tidings FOR ALL TABLES");
        // picocli resolves ${DATABASE_URL} from a system property first, then the environment.
        System.setProperty("DATABASE_URL", "jdbc:postgresql://localhost:" + server.getPort() + "/" + db + "?user=postgres");
        try {
            Run run = check();
            assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
            assertThat(run.out()).contains("/" + db);
        } finally {
            System.clearProperty("DATABASE_URL");
        }
    }

    @Test
    void unreachable_database_prints_host_and_port_and_exits_2_without_a_stack_trace() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Run run = check("--db", "postgresql://nobody@127.0.0.1:" + closedPort + "/app");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.out()).isEmpty();
        assertThat(run.err()).contains("cannot check postgresql://nobody@127.0.0.1:" + closedPort + "/app",
                "accepting TCP connections at 127.0.0.1:" + closedPort).doesNotContain("\tat ", "Exception");
    }

    @Test
    void missing_database_and_bad_url_are_explained() {
        Run missing = check("--db", "postgresql://postgres@localhost:" + server.getPort() + "/no_such_db");
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("Database 'no_such_db' does not exist");

        Run bad = check("--db", "mysql://root@localhost/app");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("not a PostgreSQL URL");
    }

    @Test
    void wal_level_replica_is_reported_with_the_alter_system_fix() throws IOException {
        try (EmbeddedPostgres replica = EmbeddedPostgres.builder().setServerConfig("wal_level", "replica").start()) {
            Run run = check("--db", "postgresql://postgres@localhost:" + replica.getPort() + "/postgres");

            assertThat(run.exitCode()).as(run.out()).isEqualTo(2);
            assertThat(run.out()).containsPattern("(?m)^FAIL  wal_level +wal_level is 'replica'")
                    .contains("\n        ALTER SYSTEM SET wal_level = logical;\n        -- then restart PostgreSQL");
        }
    }

    @Test
    void help_documents_the_exit_codes() {
        Run run = check("--help");
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).contains("--db=URL", "DATABASE_URL", "Exit codes:", "0   everything is OK",
                "1   warnings only", "2   errors");
    }

    private static Run check(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] full = new String[args.length + 1];
        full[0] = "check";
        System.arraycopy(args, 0, full, 1, args.length);
        int code = new CommandLine(new Main()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute(full);
        return new Run(code, out.toString(), err.toString());
    }

    private static String newDatabase(String... statements) throws SQLException {
        String name = "check_" + databases.incrementAndGet();
        try (Connection c = server.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        execute(name, statements);
        return name;
    }

    private static void execute(String db, String... statements) throws SQLException {
        try (Connection c = DriverManager.getConnection(
                "jdbc:postgresql://localhost:" + server.getPort() + "/" + db + "?user=postgres");
             Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
    }

    private static String url(String db) {
        return "postgresql://postgres@localhost:" + server.getPort() + "/" + db;
    }
}
