package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.testing.Streams;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Consumer groups on edge nodes, end to end: a leader streams PostgreSQL into a JetStream stream of
 * the local NATS server (a stream of its own per run) through its NATS sink, and two edges
 * ({@code serve --from nats://…/STREAM}, each in a JVM of its own) serve {@code /api/consumers}
 * from it. A group is a JetStream durable consumer, so both edges serve the same group: workers on
 * both receive, nack and acknowledge 12,000 changes, one worker dies holding a batch, and one edge
 * is killed with SIGKILL; its workers move to the other edge and acknowledge there what they got
 * from the dead one.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EdgeConsumerGroupsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHANGES = 12_000;

    private final String stream = "edgegroups_" + UUID.randomUUID().toString().replace("-", "");
    private Path dir;
    private Streams db;
    private Connection nats;
    private EdgeGroupsClient api;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("edge-groups");
        nats = Nats.connect("nats://127.0.0.1:4222");
        nats.jetStreamManagement().addStream(StreamConfiguration.builder().name(stream).subjects(stream + ".>")
                .storageType(StorageType.Memory).build());
        db = Streams.newDatabase();
        String sink = "{\"name\": \"edges\", \"type\": \"nats\", \"url\": \"nats://127.0.0.1:4222\", \"subject\": \"%s.${schema}.${table}\"}";
        api = EdgeGroupsClient.start(dir, db, sink.formatted(stream), "nats://127.0.0.1:4222/" + stream);
    }

    @AfterAll
    void stop() throws Exception {
        if (api != null) {
            api.close();
        }
        if (nats != null) {
            try {
                nats.jetStreamManagement().deleteStream(stream);
            } finally {
                nats.close();
            }
        }
        if (db != null) {
            db.close();
        }
    }

    @Test
    @Order(1)
    void a_group_made_on_one_edge_is_served_by_the_other_and_bad_requests_say_how_to_fix_them() throws Exception {
        api.createGroupApiOnEdge0("latest");
        assertThat(api.post(0, "/api/consumers/api/ack", "{\"ids\":[\"0/16B3F28:0@1\"]}").body())
                .contains("is not an ack id of this edge node");
        JsonNode shown = JSON.readTree(api.send(1, "GET", "/api/consumers/api", "").body());
        assertThat(shown.path("tables").get(0).asText()).isEqualTo("public.other");
        assertThat(shown.path("visibility_timeout").asText()).isEqualTo("30000ms");

        db.sql("INSERT INTO other VALUES (-1), (-2)");
        JsonNode got = api.collect(1, "api", 2);
        assertThat(got.get(0).path("event").path("record").path("id").asInt()).isEqualTo(-1);
        assertThat(got.get(0).path("ack_id").asText()).matches("[0-9A-F]+/[0-9A-F]+:\\d+@1\\.\\d+\\.\\d+");
        assertThat(api.post(0, "/api/consumers/api/ack", JSON.writeValueAsString(Map.of("ids", List.of(
                got.get(0).path("ack_id").asText(), got.get(1).path("ack_id").asText())))).body())
                .as("acknowledged on the other edge").contains("\"acked\":2");
        assertThat(api.receive(1, "api", 10, "1s")).as("acknowledged stays acknowledged").isEmpty();

        String metrics = api.send(0, "GET", "/metrics", "").body();
        assertThat(metrics).contains("tidings_edge_connected 1").containsPattern("tidings_edge_events_total [1-9]")
                .contains("tidings_broadcast_members");
        assertThat(api.send(1, "DELETE", "/api/consumers/api", "").statusCode()).isEqualTo(200);
        assertThat(api.send(0, "GET", "/api/consumers/api", "").statusCode()).isEqualTo(404);
    }

    @Test
    @Order(2) // kills edge 0
    void workers_on_two_edges_ack_every_change_once_through_nacks_a_dead_worker_and_a_killed_edge() throws Exception {
        assertThat(api.post(0, "/api/consumers", "{\"name\":\"work\",\"tables\":[\"public.items\"],\"visibility_timeout\":\"5s\","
                + "\"max_ack_pending\":2000}").statusCode()).isEqualTo(201);
        EdgeGroupWorkload w = EdgeGroupWorkload.run(db, api, api.edge(0), "work", CHANGES);

        w.assertEveryChangeAcknowledged(CHANGES);
        Set<Integer> twice = new HashSet<>();
        w.acked.forEach((row, n) -> {
            if (n > 1) {
                twice.add(row);
            }
        });
        assertThat(w.refused).as("JetStream takes an ack on any edge").isEmpty();
        assertThat(w.sentAgain).as("the workers of the killed edge acknowledged on the other").isNotEmpty();
        assertThat(w.sentAgain).as("acknowledged twice: only an ack sent again after the edge died under it").containsAll(twice);
        JsonNode state = JSON.readTree(api.send(1, "GET", "/api/consumers/work", "").body());
        assertThat(state.path("pending").asInt()).as("JetStream holds nothing unacknowledged: " + state).isZero();
        assertThat(state.path("in_flight").asInt()).isZero();
        System.out.printf("edge consumer group: %d changes, 4 workers on 2 edges (one worker died with %d events, one edge "
                        + "SIGKILLed, %d acks sent again on the other), %d nacks, %d redeliveries: every change acked, in %.1f s%n",
                CHANGES, w.abandoned.size(), w.sentAgain.size(), w.nacked.size(), w.redeliveries.get(), w.seconds);
    }
}
