package dev.tidings;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.event.Op;
import dev.tidings.event.TruncateOptions;
import dev.tidings.testing.Json;
import dev.tidings.testing.Streams;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What pgoutput says about a transaction beyond its rows: the options of a TRUNCATE, and the
 * replication origin a transaction was replayed from — which a consumer replicating both ways
 * needs to skip its own changes coming back.
 */
@Tag("postgres")
class TruncateAndOriginTest {

    @Test
    void truncate_events_say_whether_cascade_and_restart_identity_were_given() {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE parent (id serial PRIMARY KEY)",
                    "CREATE TABLE child (id int PRIMARY KEY, parent int REFERENCES parent)");
            s.start();
            s.sql("TRUNCATE child", "TRUNCATE parent RESTART IDENTITY CASCADE");
            List<ChangeEvent> events = s.collector.await(3);
            assertThat(events).extracting(ChangeEvent::op).containsOnly(Op.TRUNCATE);
            assertThat(events.get(0).truncate()).isEqualTo(new TruncateOptions(false, false));
            assertThat(events.get(1).truncate()).isEqualTo(new TruncateOptions(true, true));
            assertThat(events.get(2).truncate()).isEqualTo(new TruncateOptions(true, true));
            JsonNode json = Json.event(events.get(1), EventFormat.named("tidings"));
            assertThat(json.get("truncate")).isEqualTo(Json.parse("{\"cascade\":true,\"restart_identity\":true}"));
            JsonNode cloud = Json.event(events.get(1), EventFormat.named("cloudevents"));
            assertThat(cloud.at("/data/truncate/cascade").asBoolean()).isTrue();
        }
    }

    @Test
    void a_transaction_replayed_from_a_replication_origin_carries_its_name() throws SQLException {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)", "SELECT pg_replication_origin_create('" + origin(s) + "')");
            s.start();
            insertAsOrigin(s, origin(s), 1);
            s.sql("INSERT INTO t VALUES (2)");
            List<ChangeEvent> events = s.collector.await(2);
            assertThat(events.get(0).tx().origin()).isEqualTo(origin(s));
            assertThat(events.get(1).tx().origin()).isNull();
            assertThat(Json.event(events.get(0), EventFormat.named("tidings")).at("/tx/origin").asText())
                    .isEqualTo(origin(s));
            assertThat(Json.event(events.get(1), EventFormat.named("tidings")).at("/tx/origin").isNull()).isTrue();
            assertThat(Json.event(events.get(0), EventFormat.named("cloudevents")).at("/data/tx/origin").asText())
                    .isEqualTo(origin(s));
        }
    }

    @Test
    void changes_from_a_skipped_origin_are_not_delivered_and_the_others_are() throws SQLException {
        try (Streams s = Streams.newDatabase()) {
            String other = origin(s) + "_other";
            s.sql("CREATE TABLE t (id int PRIMARY KEY)", "SELECT pg_replication_origin_create('" + origin(s) + "')",
                    "SELECT pg_replication_origin_create('" + other + "')");
            s.start(s.config().withSkipOrigins(Set.of(origin(s))));
            insertAsOrigin(s, origin(s), 1);
            insertAsOrigin(s, other, 2);
            s.sql("INSERT INTO t VALUES (3)");
            List<ChangeEvent> events = s.collector.await(2);
            assertThat(events).extracting(e -> Json.row(e.record()).get("id").asInt()).containsExactly(2, 3);
            assertThat(s.collector.transactions).as("the skipped transaction is still acknowledged").hasSize(3);
        }
    }

    @Test
    void skipping_any_origin_delivers_only_what_ordinary_sessions_wrote() throws SQLException {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)", "SELECT pg_replication_origin_create('" + origin(s) + "')");
            s.start(s.config().withSkipOrigins(Set.of("*")));
            insertAsOrigin(s, origin(s), 1);
            s.sql("INSERT INTO t VALUES (2)");
            List<ChangeEvent> events = s.collector.await(1);
            assertThat(Json.row(events.get(0).record()).get("id").asInt()).isEqualTo(2);
        }
    }

    /** Origins are cluster-wide: one per test database. */
    private static String origin(Streams s) {
        return "node_" + s.slot;
    }

    private static void insertAsOrigin(Streams s, String origin, int id) throws SQLException {
        try (Connection c = TestPostgres.connect(s.jdbcUrl); Statement st = c.createStatement()) {
            st.execute("SELECT pg_replication_origin_session_setup('" + origin + "')");
            st.execute("INSERT INTO t VALUES (" + id + ")");
            st.execute("SELECT pg_replication_origin_session_reset()");
        }
    }
}
