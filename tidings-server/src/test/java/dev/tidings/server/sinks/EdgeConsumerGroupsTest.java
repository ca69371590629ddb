package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.testing.Await;
import dev.tidings.testing.Streams;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
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

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    private static final int CHANGES = 12_000;
    private static final int PER_TRANSACTION = 200;

    private final String stream = "edgegroups_" + UUID.randomUUID().toString().replace("-", "");
    private Path dir;
    private Streams db;
    private Connection nats;
    private final List<ServeProcess> processes = new ArrayList<>();
    private ServeProcess[] edges;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("edge-groups");
        nats = Nats.connect("nats://127.0.0.1:4222");
        nats.jetStreamManagement().addStream(StreamConfiguration.builder().name(stream).subjects(stream + ".>")
                .storageType(StorageType.Memory).build());
        db = Streams.newDatabase();
        db.sql("CREATE TABLE items (id int PRIMARY KEY)", "CREATE TABLE other (id int PRIMARY KEY)",
                "CREATE PUBLICATION tidings FOR ALL TABLES");
        Path leaderYaml = dir.resolve("leader.yaml");
        Files.writeString(leaderYaml, """
                {"db": {"url": "%s"},
                 "replication": {"slot": "%s", "publication": "tidings"},
                 "sinks": [{"name": "edges", "type": "nats", "url": "nats://127.0.0.1:4222", "subject": "%s.${schema}.${table}"}]}"""
                .formatted(db.jdbcUrl, db.slot, stream));
        Path edgeYaml = dir.resolve("edge.yaml");
        Files.writeString(edgeYaml, "{}");
        ServeProcess leader = new ServeProcess(leaderYaml, ServeProcess.freePort(), dir.resolve("leader.log"), Map.of());
        processes.add(leader);
        edges = new ServeProcess[2];
        for (int i = 0; i < 2; i++) {
            edges[i] = new ServeProcess(edgeYaml, ServeProcess.freePort(), dir.resolve("edge-" + i + ".log"), Map.of(),
                    "--from", "nats://127.0.0.1:4222/" + stream);
            processes.add(edges[i]);
        }
        leader.awaitReady(Duration.ofSeconds(90));
        for (ServeProcess edge : edges) {
            edge.awaitReady(Duration.ofSeconds(90));
        }
    }

    @AfterAll
    void stop() throws Exception {
        processes.forEach(ServeProcess::close);
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
        assertThat(post(0, "/api/consumers", "{\"name\":\"api\",\"tables\":[\"public.other\"]}").statusCode()).isEqualTo(201);
        assertThat(post(1, "/api/consumers", "{\"name\":\"api\",\"tables\":[\"public.other\"]}").statusCode())
                .as("the same definition on the other edge: it exists there too").isEqualTo(200);
        assertThat(post(1, "/api/consumers", "{\"name\":\"api\"}")).satisfies(r -> {
            assertThat(r.statusCode()).isEqualTo(409);
            assertThat(r.body()).contains("exists with another definition");
        });
        assertThat(post(0, "/api/consumers", "{\"name\":\"d\",\"durable\":true}")).satisfies(r -> {
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.body()).contains("create durable groups on the leader");
        });
        assertThat(post(0, "/api/consumers/api/ack", "{\"ids\":[\"0/16B3F28:0@1\"]}").body())
                .contains("is not an ack id of this edge node");
        JsonNode shown = JSON.readTree(send(1, "GET", "/api/consumers/api", "").body());
        assertThat(shown.path("tables").get(0).asText()).isEqualTo("public.other");
        assertThat(shown.path("visibility_timeout").asText()).isEqualTo("30000ms");

        db.sql("INSERT INTO other VALUES (-1), (-2)");
        JsonNode got = collect(1, "api", 2);
        assertThat(got.get(0).path("event").path("record").path("id").asInt()).isEqualTo(-1);
        assertThat(got.get(0).path("ack_id").asText()).matches("[0-9A-F]+/[0-9A-F]+:\\d+@1\\.\\d+\\.\\d+");
        assertThat(post(0, "/api/consumers/api/ack", JSON.writeValueAsString(Map.of("ids", List.of(
                got.get(0).path("ack_id").asText(), got.get(1).path("ack_id").asText())))).body())
                .as("acknowledged on the other edge").contains("\"acked\":2");
        assertThat(receive(1, "api", 10, "1s")).as("acknowledged stays acknowledged").isEmpty();

        String metrics = send(0, "GET", "/metrics", "").body();
        assertThat(metrics).contains("tidings_edge_connected 1").containsPattern("tidings_edge_events_total [1-9]")
                .contains("tidings_broadcast_members");
        assertThat(send(1, "DELETE", "/api/consumers/api", "").statusCode()).isEqualTo(200);
        assertThat(send(0, "GET", "/api/consumers/api", "").statusCode()).isEqualTo(404);
    }

    @Test
    @Order(2) // kills edge 0
    void workers_on_two_edges_ack_every_change_once_through_nacks_a_dead_worker_and_a_killed_edge() throws Exception {
        assertThat(post(0, "/api/consumers", "{\"name\":\"work\",\"tables\":[\"public.items\"],\"visibility_timeout\":\"5s\","
                + "\"max_ack_pending\":2000}").statusCode()).isEqualTo(201);
        Thread load = Thread.ofPlatform().start(() -> {
            for (int from = 1; from <= CHANGES; from += PER_TRANSACTION) {
                db.sql("INSERT INTO items SELECT g FROM generate_series(" + from + ", " + (from + PER_TRANSACTION - 1) + ") g",
                        "INSERT INTO other VALUES (" + from + ")");
                java.util.concurrent.locks.LockSupport.parkNanos(50_000_000);
            }
        });

        Map<Integer, Integer> acked = new ConcurrentHashMap<>();
        Map<Integer, Integer> received = new ConcurrentHashMap<>();
        Set<Integer> nacked = ConcurrentHashMap.newKeySet();
        Set<Integer> abandoned = ConcurrentHashMap.newKeySet();
        Set<Integer> moved = ConcurrentHashMap.newKeySet(); // acked on the other edge after the kill
        Set<String> wrongTable = ConcurrentHashMap.newKeySet();
        AtomicInteger redeliveries = new AtomicInteger();
        // at the kill, edge 0's workers hold a received batch: they must acknowledge it on edge 1
        java.util.concurrent.atomic.AtomicBoolean hold = new java.util.concurrent.atomic.AtomicBoolean();
        AtomicInteger holding = new AtomicInteger();
        java.util.concurrent.CountDownLatch killed = new java.util.concurrent.CountDownLatch(1);
        ExecutorService workers = Executors.newFixedThreadPool(4);
        List<Future<?>> running = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(400).toNanos();
        for (int w = 0; w < 4; w++) {
            int worker = w;
            running.add(workers.submit(() -> {
                Random random = new Random(worker);
                int node = worker % 2;
                int batches = 0;
                while (acked.size() < CHANGES && System.nanoTime() < deadline) {
                    JsonNode events;
                    try {
                        events = receive(node, "work", 100, "1s");
                    } catch (IOException e) {
                        node = 1; // the edge is gone: go to the other
                        continue;
                    }
                    if (worker == 3 && ++batches >= 10 && !events.isEmpty()) {
                        events.forEach(e -> abandoned.add(e.path("event").path("record").path("id").asInt()));
                        return null; // dies holding a batch: its events come back after the visibility timeout
                    }
                    if (node == 0 && hold.get() && !events.isEmpty() && killed.getCount() > 0) {
                        holding.incrementAndGet();
                        killed.await();
                    }
                    List<String> ack = new ArrayList<>();
                    List<Integer> ackRows = new ArrayList<>();
                    List<String> nack = new ArrayList<>();
                    for (JsonNode e : events) {
                        if (!e.path("event").path("table").asText().equals("items")) {
                            wrongTable.add(e.toString());
                            continue;
                        }
                        int row = e.path("event").path("record").path("id").asInt();
                        received.merge(row, 1, Integer::sum);
                        if (e.path("delivery").asInt() > 1) {
                            redeliveries.incrementAndGet();
                        }
                        if (random.nextInt(50) == 0) {
                            nacked.add(row);
                            nack.add(e.path("ack_id").asText());
                        } else {
                            ack.add(e.path("ack_id").asText());
                            ackRows.add(row);
                        }
                    }
                    boolean fromDeadEdge = false; // received from the edge that was killed since
                    if (!nack.isEmpty()) {
                        String body = JSON.writeValueAsString(Map.of("ids", nack, "delay", "50ms"));
                        try {
                            post(node, "/api/consumers/work/nack", body);
                        } catch (IOException e) {
                            node = 1;
                            fromDeadEdge = true;
                            post(node, "/api/consumers/work/nack", body); // any edge nacks
                        }
                    }
                    if (!ack.isEmpty()) {
                        String body = JSON.writeValueAsString(Map.of("ids", ack));
                        HttpResponse<String> answer;
                        try {
                            answer = post(node, "/api/consumers/work/ack", body);
                        } catch (IOException e) {
                            node = 1;
                            fromDeadEdge = true;
                            answer = post(node, "/api/consumers/work/ack", body); // any edge acknowledges
                        }
                        if (fromDeadEdge) {
                            moved.addAll(ackRows);
                        }
                        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
                        assertThat(JSON.readTree(answer.body()).path("acked").asInt()).isEqualTo(ack.size());
                        ackRows.forEach(r -> acked.merge(r, 1, Integer::sum));
                    }
                }
                return null;
            }));
        }
        Await.until(Duration.ofSeconds(120), "a third of the changes acknowledged", () -> acked.size() >= CHANGES / 3);
        hold.set(true);
        Await.until(Duration.ofSeconds(60), "a worker of edge 0 to hold a batch", () -> holding.get() > 0);
        edges[0].kill();
        killed.countDown();
        long start = System.nanoTime();
        for (Future<?> f : running) {
            f.get(420, TimeUnit.SECONDS);
        }
        workers.shutdown();
        load.join();
        double seconds = (System.nanoTime() - start) / 1e9;

        assertThat(wrongTable).as("only the group's table").isEmpty();
        assertThat(acked).as("every change acknowledged").hasSize(CHANGES);
        Set<Integer> twice = new HashSet<>();
        acked.forEach((row, n) -> {
            if (n > 1) {
                twice.add(row);
            }
        });
        assertThat(moved).as("the workers of the killed edge acknowledged on the other").isNotEmpty();
        assertThat(moved).as("acknowledged twice: only an ack sent again after the edge died under it").containsAll(twice);
        assertThat(abandoned).as("the dead worker had a batch").isNotEmpty();
        assertThat(received.keySet()).as("its events came back after the visibility timeout").containsAll(abandoned);
        assertThat(nacked).as("some were nacked").isNotEmpty();
        assertThat(received.keySet()).containsAll(nacked);
        assertThat(redeliveries.get()).as("redeliveries counted by \"delivery\"").isGreaterThanOrEqualTo(nacked.size());
        JsonNode state = JSON.readTree(send(1, "GET", "/api/consumers/work", "").body());
        assertThat(state.path("pending").asInt()).as("JetStream holds nothing unacknowledged: " + state).isZero();
        assertThat(state.path("in_flight").asInt()).isZero();
        System.out.printf("edge consumer group: %d changes, 4 workers on 2 edges (one worker died with %d events, one edge "
                        + "SIGKILLed, %d acks sent again on the other), %d nacks, %d redeliveries: every change acked, in %.1f s%n",
                CHANGES, abandoned.size(), moved.size(), nacked.size(), redeliveries.get(), seconds);
    }

    /** Receives until {@code count} events came. */
    private JsonNode collect(int node, String group, int count) throws Exception {
        var all = JSON.createArrayNode();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (all.size() < count && System.nanoTime() < deadline) {
            receive(node, group, count - all.size(), "2s").forEach(all::add);
        }
        assertThat(all).as("events received").hasSize(count);
        return all;
    }

    private JsonNode receive(int node, String group, int max, String wait) throws IOException, InterruptedException {
        HttpResponse<String> r = post(node, "/api/consumers/" + group + "/receive?max=" + max + "&wait=" + wait, "");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).path("events");
    }

    private HttpResponse<String> post(int node, String path, String body) throws IOException, InterruptedException {
        return send(node, "POST", path, body);
    }

    private HttpResponse<String> send(int node, String method, String path, String body) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(edges[node].url(path))).timeout(Duration.ofSeconds(70))
                .method(method, HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
