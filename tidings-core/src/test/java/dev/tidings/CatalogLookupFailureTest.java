package dev.tidings;

import dev.tidings.event.ChangeEvent;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import dev.tidings.testing.EventCollector;
import dev.tidings.testing.Json;
import dev.tidings.testing.TestPostgres;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A type or primary-key lookup that fails because the database is out of connections ("too many
 * clients") is not an answer about the type: Tidings must wait and try again, never send the
 * value as a string or take every column for the key because of it.
 */
@Tag("postgres")
class CatalogLookupFailureTest {

    @Test
    void lookups_refused_for_too_many_clients_stall_the_stream_instead_of_changing_the_json() throws Exception {
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder().setServerConfig("wal_level", "logical")
                .setServerConfig("max_connections", "8").setServerConfig("superuser_reserved_connections", "0")
                .setServerConfig("fsync", "off").start()) {
            String url = "jdbc:postgresql://localhost:" + pg.getPort() + "/postgres?user=postgres";
            TestPostgres.execute(url, "CREATE DOMAIN score AS int",
                    "CREATE TABLE t (id int PRIMARY KEY, s score, note text)", "ALTER TABLE t REPLICA IDENTITY FULL");
            SourceConfig config = SourceConfig.of(DatabaseUrl.parse(url)).withSlot("lookups", false)
                    .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(1));
            EventCollector collector = new EventCollector();
            List<Connection> held = new ArrayList<>();
            try (Tidings tidings = Tidings.start(config, collector)) {
                DeliveryGuaranteesTest.awaitStreaming(tidings);
                holdEveryConnection(url, held);
                try (Statement st = held.get(0).createStatement()) {
                    st.execute("INSERT INTO t VALUES (1, 5, 'a')");
                }
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (tidings.reconnects() == 0 && collector.events.isEmpty()) {
                    assertThat(System.nanoTime()).as("the lookup was never tried").isLessThan(deadline);
                    EventCollector.sleep(20);
                }
                closeAll(held);

                ChangeEvent first = collector.await(1, Duration.ofSeconds(60)).get(0);
                assertThat(Json.row(first.record())).isEqualTo(Json.parse("{\"id\":1,\"s\":5,\"note\":\"a\"}"));
                assertThat(Json.row(first.key())).as("the primary key, not every column").isEqualTo(Json.parse("{\"id\":1}"));
                assertThat(first.columns().get(1).type()).isEqualTo("score");
                assertThat(tidings.failure()).isNull();
            } finally {
                closeAll(held);
            }
        }
    }

    private static void holdEveryConnection(String url, List<Connection> held) {
        while (true) {
            try {
                held.add(TestPostgres.connect(url));
            } catch (SQLException e) {
                assertThat(e.getSQLState()).as(e.getMessage()).isEqualTo("53300"); // too many clients
                assertThat(held).isNotEmpty();
                return;
            }
        }
    }

    private static void closeAll(List<Connection> held) throws SQLException {
        for (Connection c : held) {
            c.close();
        }
        held.clear();
    }
}
