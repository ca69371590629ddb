package dev.tidings.source;

import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The leadership of a slot among processes that share it: lock, lease, takeover and fence, on a real server. */
@Tag("postgres")
class LeadershipTest {
    private static final Duration LEASE = Duration.ofSeconds(3);

    @Test
    void a_standby_leads_as_soon_as_the_leaders_session_ends() throws Exception {
        DatabaseUrl db = DatabaseUrl.parse(TestPostgres.newDatabase());
        AtomicBoolean running = new AtomicBoolean(true);
        try (Leadership first = new Leadership(db, "orders", LEASE); Leadership second = new Leadership(db, "orders", LEASE)) {
            assertThat(first.acquire(running::get)).isTrue();
            assertThat(first.held()).isTrue();
            Thread standby = Thread.ofPlatform().start(() -> second.acquire(running::get));
            Await.until(Duration.ofSeconds(10), "the standby to see the leader", () -> second.leader() != null);
            assertThat(second.role()).isEqualTo(Leadership.Role.STANDBY);
            assertThat(second.held()).isFalse();
            Thread.sleep(LEASE.toMillis() + 1_000); // a leader that renews is never replaced
            assertThat(second.role()).isEqualTo(Leadership.Role.STANDBY);
            assertThat(first.held()).isTrue();

            long closed = System.nanoTime();
            first.close();
            standby.join(5_000);
            assertThat(second.held()).isTrue();
            assertThat((System.nanoTime() - closed) / 1e9).isLessThan(LEASE.toSeconds());
            assertThat(first.held()).isFalse();
        }
    }

    @Test
    void a_silent_leader_is_replaced_after_the_lease_and_its_session_ended() throws Exception {
        String url = TestPostgres.newDatabase();
        DatabaseUrl db = DatabaseUrl.parse(url);
        AtomicBoolean running = new AtomicBoolean(true);
        try (Connection paused = TestPostgres.connect(url); Leadership standby = new Leadership(db, "orders", LEASE)) {
            // a leader that took the lock and then stopped answering, as under SIGSTOP
            query(paused, "SELECT pg_advisory_lock(" + Leadership.lockKey("orders") + ")");
            long start = System.nanoTime();
            assertThat(standby.acquire(running::get)).isTrue();
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(seconds).isBetween((double) LEASE.toSeconds() - 1, LEASE.toSeconds() + 3.0);
            assertThatThrownBy(() -> query(paused, "SELECT 1")).isInstanceOf(SQLException.class);
        }
    }

    @Test
    void a_leader_whose_lock_session_ends_drops_its_fence_for_good() throws Exception {
        String url = TestPostgres.newDatabase();
        DatabaseUrl db = DatabaseUrl.parse(url);
        try (Leadership leader = new Leadership(db, "orders", LEASE)) {
            assertThat(leader.acquire(() -> true)).isTrue();
            TestPostgres.execute(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    + "WHERE application_name = 'tidings leader' AND datname = current_database()");
            Await.until(Duration.ofSeconds(5), "the fence to fall", () -> !leader.held());
            assertThat(leader.role()).isEqualTo(Leadership.Role.LOST);
            Await.until(Duration.ofSeconds(5), "the reason", () -> leader.lostReason() != null);
            assertThat(leader.lostReason()).contains("lost the leadership of slot orders").contains("Restart");
            Thread.sleep(1_500);
            assertThat(leader.held()).isFalse();
        }
    }

    @Test
    void a_new_leader_ends_the_walsender_a_replaced_leader_left_on_the_slot() throws Exception {
        String url = TestPostgres.newDatabase();
        DatabaseUrl db = DatabaseUrl.parse(url);
        TestPostgres.execute(url, "SELECT pg_create_logical_replication_slot('orders', 'pgoutput')",
                "CREATE PUBLICATION orders FOR ALL TABLES");
        Connection rc = java.sql.DriverManager.getConnection(db.jdbcUrl(), db.replicationProperties());
        try {
            var stream = rc.unwrap(org.postgresql.PGConnection.class).getReplicationAPI().replicationStream().logical()
                    .withSlotName("orders").withSlotOption("proto_version", 1)
                    .withSlotOption("publication_names", "orders").start();
            assertThat(activePid(url)).isNotNull();
            try (Leadership leader = new Leadership(db, "orders", LEASE)) {
                assertThat(leader.acquire(() -> true)).isTrue();
                Await.until(Duration.ofSeconds(5), "the old walsender to end", () -> activePid(url) == null);
            }
            assertThatThrownBy(() -> {
                for (int i = 0; i < 50; i++) {
                    stream.readPending();
                    stream.forceUpdateStatus();
                    Thread.sleep(50);
                }
            }).isInstanceOf(SQLException.class);
        } finally {
            try {
                rc.close();
            } catch (SQLException expected) {
                // its walsender was ended: closing cannot say goodbye
            }
        }
    }

    private static Integer activePid(String url) throws SQLException {
        try (Connection c = TestPostgres.connect(url); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'orders'")) {
            rs.next();
            int pid = rs.getInt(1);
            return rs.wasNull() ? null : pid;
        }
    }

    private static void query(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
