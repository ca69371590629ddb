package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.testing.Streams;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Consumer groups on Kafka edge nodes, end to end: a leader streams PostgreSQL into a one-partition
 * topic of the in-process Kafka broker through its Kafka sink, and two edges
 * ({@code serve --from kafka://…/TOPIC}, each in a JVM of its own) serve {@code /api/consumers}
 * from it. A group is a Kafka share group, so both edges serve the same group: workers on both
 * receive, nack and acknowledge 12,000 changes, one worker dies holding a batch, and one edge is
 * killed with SIGKILL; its workers move to the other edge, which refuses their acks of what the
 * dead edge handed out (the records' locks were the dead edge's), and those events come back there
 * after the visibility timeout.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EdgeKafkaConsumerGroupsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHANGES = 12_000;
    private static final String TOPIC = "edges";

    private Path dir;
    private Streams db;
    private KafkaClusterTestKit kafka;
    private EdgeGroupsClient api;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("edge-kafka-groups");
        kafka = KafkaTestBroker.startWithShareGroups();
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get();
        }
        db = Streams.newDatabase();
        String sink = "{\"name\": \"edges\", \"type\": \"kafka\", \"bootstrap_servers\": \"%s\", \"topic\": \"%s\"}";
        api = EdgeGroupsClient.start(dir, db, sink.formatted(kafka.bootstrapServers(), TOPIC),
                "kafka://" + kafka.bootstrapServers() + "/" + TOPIC);
    }

    @AfterAll
    void stop() throws Exception {
        if (api != null) {
            api.close();
        }
        if (kafka != null) {
            kafka.close();
        }
        if (db != null) {
            db.close();
        }
    }

    @Test
    @Order(1)
    void a_group_made_on_one_edge_is_served_by_the_other_and_bad_requests_say_how_to_fix_them() throws Exception {
        api.createGroupApiOnEdge0("oldest"); // "latest" would count from the first receive
        api.refused(0, "/api/consumers", "{\"name\":\"slow\",\"visibility_timeout\":\"5m\"}", 400,
                "group.share.max.record.lock.duration.ms");
        api.refused(0, "/api/consumers/api/ack", "{\"ids\":[\"0/16B3F28:0@1.1.517\"]}", 400, "is not an ack id of a Kafka edge node");
        JsonNode shown = JSON.readTree(api.send(1, "GET", "/api/consumers/api", "").body());
        assertThat(shown.path("tables").get(0).asText()).isEqualTo("public.other");
        assertThat(shown.path("visibility_timeout").asText()).isEqualTo("30000ms");

        db.sql("INSERT INTO other VALUES (-1), (-2)");
        JsonNode got = api.collect(1, "api", 2);
        assertThat(got.get(0).path("event").path("record").path("id").asInt()).isEqualTo(-1);
        assertThat(got.get(0).path("ack_id").asText()).matches("[0-9A-F]+/[0-9A-F]+:\\d+@1\\.[0-9a-f]+-\\d+\\.\\d+");
        String ids = JSON.writeValueAsString(Map.of("ids", List.of(got.get(0).path("ack_id").asText(),
                got.get(1).path("ack_id").asText())));
        JsonNode elsewhere = JSON.readTree(api.post(0, "/api/consumers/api/ack", ids).body());
        assertThat(elsewhere.path("acked").asInt()).as("the records' locks are edge 1's: " + elsewhere).isZero();
        assertThat(elsewhere.path("refused")).hasSize(2);
        assertThat(api.post(1, "/api/consumers/api/ack", ids).body()).contains("\"acked\":2");
        assertThat(api.receive(0, "api", 10, "1s")).as("acknowledged stays acknowledged, on every edge").isEmpty();
        assertThat(api.receive(1, "api", 10, "1s")).isEmpty();
        JsonNode state = JSON.readTree(api.send(0, "GET", "/api/consumers/api", "").body());
        assertThat(state.path("pending").asInt()).as("as Kafka persisted it (it trails the last ack): " + state).isBetween(0, 2);
        assertThat(state.path("lag_seconds").asDouble()).isGreaterThanOrEqualTo(0);

        assertThat(api.send(1, "DELETE", "/api/consumers/api", "").statusCode()).isEqualTo(200);
        assertThat(api.send(0, "GET", "/api/consumers/api", "").statusCode()).isEqualTo(404);
        assertThat(api.post(0, "/api/consumers/api/receive", "").statusCode()).isEqualTo(404);
    }

    @Test
    @Order(2) // kills edge 0
    void workers_on_two_edges_ack_every_change_once_through_nacks_a_dead_worker_and_a_killed_edge() throws Exception {
        assertThat(api.post(0, "/api/consumers", "{\"name\":\"work\",\"tables\":[\"public.items\"],\"start\":\"oldest\",\"visibility_timeout\":\"5s\","
                + "\"max_ack_pending\":2000}").statusCode()).isEqualTo(201);
        EdgeGroupWorkload w = EdgeGroupWorkload.run(db, api, api.edge(0), "work", CHANGES);

        w.assertEveryChangeAcknowledged(CHANGES);
        assertThat(w.acked.values()).as("each once: Kafka accepts an ack only from the delivery's holder").containsOnly(1);
        assertThat(w.sentAgain).as("the workers of the killed edge sent acks to the other").isNotEmpty();
        assertThat(w.refused).as("which refused them: the records' locks were the dead edge's").containsAll(w.sentAgain);
        w.refused.forEach(row -> assertThat(w.received.get(row)).as("row %d came back after the timeout", row)
                .isGreaterThanOrEqualTo(2));
        JsonNode state = JSON.readTree(api.send(1, "GET", "/api/consumers/work", "").body());
        assertThat(state.path("in_flight").asInt()).as(state.toString()).isZero();
        LockSupport.parkNanos(Duration.ofSeconds(6).toNanos()); // past the visibility timeout: nothing comes back
        assertThat(api.receive(1, "work", 100, "2s")).as("Kafka holds nothing unacknowledged").isEmpty();
        System.out.printf("kafka edge consumer group: %d changes, 4 workers on 2 edges (one worker died with %d events, one "
                        + "edge SIGKILLed, %d acks refused on the other and redelivered), %d nacks, %d redeliveries: every "
                        + "change acked once, in %.1f s%n",
                CHANGES, w.abandoned.size(), w.refused.size(), w.nacked.size(), w.redeliveries.get(), w.seconds);
    }
}
