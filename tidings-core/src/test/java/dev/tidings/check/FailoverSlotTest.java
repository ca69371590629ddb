package dev.tidings.check;

import dev.tidings.Tidings;
import dev.tidings.check.Finding.Severity;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Failover slots: {@code replication.failover} creates the slot with {@code failover} on PostgreSQL
 * 17+ and refuses on older servers; {@code tidings check} says whether the slot is protected, and
 * its printed fix works. Run on 17+ with {@code -Dpg.binaries.version=18.1.0}.
 */
@Tag("postgres")
class FailoverSlotTest {

    @Test
    void a_failover_slot_is_created_on_request_and_check_reports_what_protects_it() throws Exception {
        String url = TestPostgres.newDatabase();
        DatabaseUrl db = DatabaseUrl.parse(url);
        TestPostgres.execute(url, "CREATE TABLE orders (id int PRIMARY KEY)");
        SourceConfig config = SourceConfig.of(db).withSlot("orders_ha", false).withPublication("orders_ha", List.of())
                .withFailoverSlot(true);
        try (Tidings tidings = Tidings.start(config, e -> {})) {
            if (TestPostgres.majorVersion() < 17) {
                assertThat(tidings.await(30_000)).isTrue();
                assertThat(tidings.failure()).hasMessageContaining("replication.failover needs PostgreSQL 17 or later");
                assertThat(finding(url, "orders_ha").message()).contains("has no failover slots")
                        .contains("consumers must re-snapshot");
                return;
            }
            Await.until(Duration.ofSeconds(30), "streaming", tidings::streaming);
        }
        assertThat(single(url, "SELECT failover::text FROM pg_replication_slots WHERE slot_name = 'orders_ha'")).isEqualTo("true");
        Finding failover = finding(url, "orders_ha");
        assertThat(failover.severity()).isEqualTo(Severity.WARN);
        assertThat(failover.message()).contains("synchronized_standby_slots is empty");

        TestPostgres.execute(url, "SELECT pg_create_logical_replication_slot('orders_plain', 'pgoutput')",
                "SELECT pg_create_physical_replication_slot('orders_standby')");
        try {
            Finding plain = finding(url, "orders_plain");
            assertThat(plain.severity()).isEqualTo(Severity.WARN);
            assertThat(plain.message()).contains("not a failover slot");
            String command = plain.fix().substring(plain.fix().indexOf("-c \"") + 4, plain.fix().indexOf("\"\n"));
            try (Connection rc = java.sql.DriverManager.getConnection(db.jdbcUrl(), db.replicationProperties()); Statement s = rc.createStatement()) {
                s.execute(command); // the printed fix, as printed
            }
            assertThat(single(url, "SELECT failover::text FROM pg_replication_slots WHERE slot_name = 'orders_plain'"))
                    .isEqualTo("true");
        } finally {
            TestPostgres.execute(url, "SELECT pg_drop_replication_slot('orders_plain')",
                    "SELECT pg_drop_replication_slot('orders_standby')", "SELECT pg_drop_replication_slot('orders_ha')");
        }
    }

    private static Finding finding(String url, String slot) throws SQLException {
        try (Connection c = TestPostgres.connect(url)) {
            return DatabaseCheck.run(c, null, slot).stream().filter(f -> f.subject().startsWith("failover of slot"))
                    .findFirst().orElseThrow();
        }
    }

    private static String single(String url, String sql) throws SQLException {
        try (Connection c = TestPostgres.connect(url); Statement s = c.createStatement(); var rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}
