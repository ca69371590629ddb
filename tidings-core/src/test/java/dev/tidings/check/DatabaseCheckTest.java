package dev.tidings.check;

import dev.tidings.base.Identifiers;
import dev.tidings.check.Finding.Severity;
import dev.tidings.testing.TestPostgres;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Tag("postgres")
class DatabaseCheckTest {

    private static final String ODD_TABLE = "Odd Table ✓";
    private static final String ODD_TABLE_SQL = "public.\"Odd Table ✓\"";

    @Test
    void quote_ident_matches_postgres_for_odd_names() throws SQLException {
        List<String> names = List.of("orders", "Orders", "odd table", "Odd Table ✓", "with\"quote", "\"", "",
                "select", "user", "left", "int", "between", "name", "text", "_x1", "1abc", "a$b", "ümlaut",
                "schema.table", "it's", "CAPS", "x_y_z9");
        try (Connection c = TestPostgres.connect(TestPostgres.url("postgres"));
             PreparedStatement ps = c.prepareStatement("SELECT quote_ident(?), quote_literal(?)")) {
            for (String name : names) {
                ps.setString(1, name);
                ps.setString(2, name);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    assertThat(Identifiers.quote(name)).as("quote_ident(%s)", name).isEqualTo(rs.getString(1));
                    assertThat(Identifiers.literal(name)).as("quote_literal(%s)", name).isEqualTo(rs.getString(2));
                }
            }
        }
        assertThat(Identifiers.literal("a\\b'c")).isEqualTo("E'a\\\\b''c'");
    }

    @Test
    void sizes_read_like_pg_size_pretty() {
        assertThat(DatabaseCheck.bytes(0L)).isEqualTo("0 bytes");
        assertThat(DatabaseCheck.bytes(1023L)).isEqualTo("1023 bytes");
        assertThat(DatabaseCheck.bytes(16L << 20)).isEqualTo("16 MB");
        assertThat(DatabaseCheck.bytes(3L << 29)).isEqualTo("1.5 GB");
        assertThat(DatabaseCheck.bytes(null)).isEqualTo("unknown amount");
    }

    @Test
    void healthy_database_has_nothing_above_ok_for_its_own_checks() throws SQLException {
        String url = TestPostgres.newDatabase();
        TestPostgres.execute(url,
                "CREATE TABLE todos (id bigint PRIMARY KEY, title text)",
                "CREATE TABLE audit (at timestamptz, what text)",
                "ALTER TABLE audit REPLICA IDENTITY FULL",
                "CREATE PUBLICATION tidings FOR TABLE todos, audit");
        List<Finding> findings = check(url, "tidings", "healthy_check_slot");

        // Slots are cluster-wide; other tests' slots may show up here, so only this database's checks count.
        assertThat(findings).filteredOn(f -> !f.subject().startsWith("slot ") || f.subject().equals("slot 'healthy_check_slot'"))
                .allSatisfy(f -> assertThat(f.severity()).as(f.toString()).isEqualTo(Severity.OK));
        assertThat(find(findings, "publication tidings").message()).contains("2 table(s)", "public.audit", "public.todos");
        assertThat(find(findings, "slot 'healthy_check_slot'").message()).contains("does not exist yet");
        assertThat(find(findings, "wal_level").message()).isEqualTo("logical");
    }

    @Test
    void wal_level_replica_is_an_error_with_the_alter_system_fix() throws Exception {
        try (EmbeddedPostgres replica = EmbeddedPostgres.builder().setServerConfig("wal_level", "replica").start();
             Connection c = replica.getPostgresDatabase().getConnection()) {
            List<Finding> findings = DatabaseCheck.run(c, "tidings", "tidings");

            Finding wal = find(findings, "wal_level");
            assertThat(wal.severity()).isEqualTo(Severity.ERROR);
            assertThat(wal.message()).contains("'replica'");
            assertThat(wal.fix()).startsWith("ALTER SYSTEM SET wal_level = logical;").contains("restart PostgreSQL");
            assertThat(Finding.worst(findings)).isEqualTo(Severity.ERROR);
        }
    }

    @Test
    void role_without_replication_is_an_error_with_alter_role_fix() throws SQLException {
        String url = TestPostgres.newDatabase();
        String role = "check user ✓" + ProcessHandle.current().pid();
        String quoted = Identifiers.quote(role);
        TestPostgres.execute(url, "CREATE ROLE " + quoted + " LOGIN");
        try {
            List<Finding> findings;
            try (Connection c = DriverManager.getConnection(url.replace("user=postgres", "user=" + encode(role)))) {
                findings = DatabaseCheck.run(c, "tidings", "tidings");
            }
            Finding roleFinding = find(findings, "role " + quoted);
            assertThat(roleFinding.severity()).isEqualTo(Severity.ERROR);
            assertThat(roleFinding.fix()).isEqualTo("ALTER ROLE \"" + role + "\" WITH REPLICATION;");

            Finding pub = find(findings, "publication tidings");
            assertThat(pub.severity()).as("no publication and no CREATE on the database").isEqualTo(Severity.ERROR);
            assertThat(pub.fix()).contains("CREATE PUBLICATION tidings FOR ALL TABLES;", "GRANT CREATE ON DATABASE");

            TestPostgres.execute(url, "ALTER ROLE " + quoted + " WITH REPLICATION");
            try (Connection c = DriverManager.getConnection(url.replace("user=postgres", "user=" + encode(role)))) {
                assertThat(find(DatabaseCheck.run(c, "tidings", "tidings"), "role " + quoted).severity())
                        .isEqualTo(Severity.OK);
            }
        } finally {
            TestPostgres.execute(url, "DROP ROLE " + quoted);
        }
    }

    @Test
    void published_table_without_primary_key_is_warned_and_the_printed_fix_works() throws SQLException {
        String url = TestPostgres.newDatabase();
        TestPostgres.execute(url,
                "CREATE TABLE " + ODD_TABLE_SQL + " (\"Id\" int, note text)",
                "INSERT INTO " + ODD_TABLE_SQL + " VALUES (1, 'a')",
                "CREATE PUBLICATION tidings FOR ALL TABLES");

        // The behaviour the warning describes: inserts work, updates are refused.
        TestPostgres.execute(url, "INSERT INTO " + ODD_TABLE_SQL + " VALUES (2, 'b')");
        assertThatThrownBy(() -> TestPostgres.execute(url, "UPDATE " + ODD_TABLE_SQL + " SET note = 'c'"))
                .hasMessageContaining("does not have a replica identity");

        Finding table = find(check(url, "tidings", "tidings"), "table " + ODD_TABLE_SQL);
        assertThat(table.severity()).isEqualTo(Severity.WARN);
        assertThat(table.message()).contains("no primary key", "UPDATE and DELETE");
        assertThat(table.fix()).contains("ALTER TABLE " + ODD_TABLE_SQL + " ADD PRIMARY KEY (",
                "ALTER TABLE " + ODD_TABLE_SQL + " REPLICA IDENTITY FULL;");

        String lastLine = table.fix().substring(table.fix().lastIndexOf('\n') + 1);
        TestPostgres.execute(url, lastLine, "UPDATE " + ODD_TABLE_SQL + " SET note = 'c'");
        assertThat(check(url, "tidings", "tidings")).noneMatch(f -> f.subject().equals("table " + ODD_TABLE_SQL));
    }

    @Test
    void replica_identity_nothing_is_warned_and_a_unique_index_is_offered_as_the_key() throws SQLException {
        String url = TestPostgres.newDatabase();
        TestPostgres.execute(url,
                "CREATE TABLE things (code text NOT NULL, n int)",
                "CREATE UNIQUE INDEX \"Things Code\" ON things (code)",
                "ALTER TABLE things REPLICA IDENTITY NOTHING",
                "CREATE PUBLICATION tidings FOR TABLE things",
                "INSERT INTO things VALUES ('a', 1)");
        // NOTHING is refused like a missing key, not only "no old values".
        assertThatThrownBy(() -> TestPostgres.execute(url, "DELETE FROM things"))
                .hasMessageContaining("does not have a replica identity");

        Finding table = find(check(url, "tidings", "tidings"), "table public.things");
        assertThat(table.severity()).isEqualTo(Severity.WARN);
        assertThat(table.message()).contains("REPLICA IDENTITY NOTHING");
        assertThat(table.fix()).contains("ALTER TABLE public.things REPLICA IDENTITY USING INDEX \"Things Code\";");
    }

    @Test
    void insert_only_publication_does_not_warn_about_keys() throws SQLException {
        String url = TestPostgres.newDatabase();
        TestPostgres.execute(url,
                "CREATE TABLE events (at timestamptz, body text)",
                "CREATE PUBLICATION tidings FOR TABLE events WITH (publish = 'insert')");
        List<Finding> findings = check(url, "tidings", "tidings");
        assertThat(findings).noneMatch(f -> f.subject().equals("table public.events"));
        assertThat(find(findings, "publication tidings").message()).contains("publishes insert:");
    }

    @Test
    void publication_of_no_tables_is_warned_but_an_empty_all_tables_one_is_fine() throws SQLException {
        String url = TestPostgres.newDatabase();
        TestPostgres.execute(url, "CREATE PUBLICATION \"Empty\"", "CREATE PUBLICATION everything FOR ALL TABLES");

        Finding empty = find(check(url, "Empty", null), "publication \"Empty\"");
        assertThat(empty.severity()).isEqualTo(Severity.WARN);
        assertThat(empty.fix()).startsWith("ALTER PUBLICATION \"Empty\" ADD TABLE");

        Finding all = find(check(url, "everything", null), "publication everything");
        assertThat(all.severity()).isEqualTo(Severity.OK);
        assertThat(all.message()).startsWith("all tables (0 now)");
    }

    @Test
    void table_the_role_cannot_select_is_warned_with_a_grant() throws SQLException {
        String url = TestPostgres.newDatabase();
        String role = "reader_" + ProcessHandle.current().pid();
        TestPostgres.execute(url,
                "CREATE TABLE \"Secret\" (id int PRIMARY KEY)",
                "CREATE PUBLICATION tidings FOR TABLE \"Secret\"",
                "CREATE ROLE " + role + " LOGIN REPLICATION");
        try (Connection c = DriverManager.getConnection(url.replace("user=postgres", "user=" + role))) {
            Finding table = find(DatabaseCheck.run(c, "tidings", "tidings"), "table public.\"Secret\"");
            assertThat(table.severity()).isEqualTo(Severity.WARN);
            assertThat(table.fix()).isEqualTo("GRANT SELECT ON public.\"Secret\" TO " + role + ";");
        } finally {
            TestPostgres.execute(url, "DROP ROLE " + role);
        }
    }

    @Test
    void inactive_slot_retaining_wal_is_warned_with_a_drop_fix() throws SQLException {
        String url = TestPostgres.newDatabase();
        String slot = "forgotten_" + ProcessHandle.current().pid();
        TestPostgres.execute(url,
                "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')",
                "CREATE TABLE filler AS SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 10000) g");
        try {
            Finding finding = find(check(url, "tidings", "tidings"), "slot '" + slot + "'");
            assertThat(finding.severity()).isEqualTo(Severity.WARN);
            assertThat(finding.message()).contains("inactive", "holding").containsPattern("\\d+(\\.\\d)? (kB|MB)");
            assertThat(finding.fix()).contains("SELECT pg_drop_replication_slot('" + slot + "');");
        } finally {
            TestPostgres.execute(url, "SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }

    @Test
    void named_slot_with_test_decoding_is_an_error() throws SQLException {
        String url = TestPostgres.newDatabase();
        String slot = "decoding_" + ProcessHandle.current().pid();
        TestPostgres.execute(url, "SELECT pg_create_logical_replication_slot('" + slot + "', 'test_decoding')");
        try {
            List<Finding> findings = check(url, "tidings", slot);
            Finding finding = find(findings, "slot '" + slot + "'");
            assertThat(finding.severity()).isEqualTo(Severity.ERROR);
            assertThat(finding.message()).contains("'test_decoding'", "pgoutput");
            assertThat(finding.fix()).contains("--slot", "pg_drop_replication_slot('" + slot + "')");
            assertThat(Finding.worst(findings)).isEqualTo(Severity.ERROR);
        } finally {
            TestPostgres.execute(url, "SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }

    @Test
    void named_slot_of_another_database_is_an_error() throws SQLException {
        String other = TestPostgres.newDatabase();
        String url = TestPostgres.newDatabase();
        String slot = "elsewhere_" + ProcessHandle.current().pid();
        TestPostgres.execute(other, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        try {
            Finding finding = find(check(url, "tidings", slot), "slot '" + slot + "'");
            assertThat(finding.severity()).isEqualTo(Severity.ERROR);
            assertThat(finding.message()).contains("belongs to database");
        } finally {
            TestPostgres.execute(other, "SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }

    @Test
    void own_inactive_pgoutput_slot_is_fine_while_its_backlog_is_small() throws SQLException {
        String url = TestPostgres.newDatabase();
        String slot = "mine_" + ProcessHandle.current().pid();
        TestPostgres.execute(url,
                "CREATE PUBLICATION tidings FOR ALL TABLES",
                "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        try {
            Finding finding = find(check(url, "tidings", slot), "slot '" + slot + "'");
            assertThat(finding.severity()).isEqualTo(Severity.OK);
            assertThat(finding.message()).contains("pgoutput, inactive");
        } finally {
            TestPostgres.execute(url, "SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }

    @Test
    void lost_named_slot_is_an_error_that_asks_for_a_new_snapshot() throws Exception {
        assumeTrue(TestPostgres.majorVersion() >= 13, "max_slot_wal_keep_size and wal_status came in PostgreSQL 13");
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .setServerConfig("wal_level", "logical")
                .setServerConfig("max_slot_wal_keep_size", "1MB")
                .setServerConfig("min_wal_size", "32MB")
                .setServerConfig("max_wal_size", "32MB")
                .start();
             Connection c = pg.getPostgresDatabase().getConnection();
             Statement s = c.createStatement()) {
            s.execute("SELECT pg_create_logical_replication_slot('lost_one', 'pgoutput')");
            s.execute("CREATE TABLE filler (pad text)");
            for (int i = 0; i < 4; i++) {
                s.execute("INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 20000)");
                s.execute("SELECT pg_switch_wal()");
                s.execute("CHECKPOINT");
            }
            Finding finding = find(DatabaseCheck.run(c, null, "lost_one"), "slot 'lost_one'");
            assertThat(finding.severity()).isEqualTo(Severity.ERROR);
            assertThat(finding.message()).contains("invalidated", "never recreates");
            assertThat(finding.fix()).contains("pg_drop_replication_slot('lost_one')", "snapshot");
        }
    }

    private static List<Finding> check(String url, String publication, String slot) throws SQLException {
        try (Connection c = TestPostgres.connect(url)) {
            return DatabaseCheck.run(c, publication, slot);
        }
    }

    private static Finding find(List<Finding> findings, String subject) {
        return findings.stream().filter(f -> f.subject().equals(subject)).findFirst()
                .orElseThrow(() -> new AssertionError("no finding about " + subject + " in " + findings));
    }

    private static String encode(String s) {
        return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }
}
