package dev.tidings.server.sinks;

import dev.tidings.testing.Await;
import dev.tidings.testing.Streams;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Edge nodes, end to end: a leader ({@code serve} reading PostgreSQL, a NATS sink into a JetStream
 * stream or a Kafka sink into a topic) and two edges ({@code serve --from nats://…/STREAM} or
 * {@code --from kafka://…/TOPIC}, no database), each in a JVM of its own. SSE clients are split over the edges while a load commits; one edge is killed with SIGKILL;
 * its clients reconnect to the other edge with {@code Last-Event-ID} and must end up with every
 * row of every table exactly once, in commit order — as must the clients that never moved.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
class EdgeNodesTest {
    private static final int CLIENTS = 500;
    private static final int TABLES = 2;
    private static final int CHANGES = 3_000;

    @TempDir
    Path dir;

    @Test
    void clients_of_a_killed_edge_resume_on_the_other_edge_and_miss_nothing_over_the_local_jetstream() throws Exception {
        String stream = "edge_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection nats = Nats.connect("nats://127.0.0.1:4222")) {
            JetStreamManagement jsm = nats.jetStreamManagement();
            jsm.addStream(StreamConfiguration.builder().name(stream).subjects(stream + ".>").storageType(StorageType.Memory).build());
            try {
                killAnEdgeUnderLoad(natsSink("nats://127.0.0.1:4222", stream), "nats://127.0.0.1:4222/" + stream, stream, CLIENTS, 0);
            } finally {
                jsm.deleteStream(stream);
            }
        }
    }

    @Test
    void clients_of_a_killed_edge_resume_on_the_other_edge_over_a_three_server_jetstream_cluster() throws Exception {
        try (NatsCluster cluster = new NatsCluster(dir.resolve("nats"))) {
            String stream = "edge_cluster";
            Options options = new Options.Builder().servers(cluster.urls().toArray(String[]::new)).build();
            try (Connection nats = Nats.connect(options)) {
                JetStreamManagement jsm = cluster.awaitJetStream(nats);
                jsm.addStream(StreamConfiguration.builder().name(stream).subjects(stream + ".>").replicas(3)
                        .storageType(StorageType.File).build());
            }
            String hosts = String.join(",", cluster.urls().stream().map(u -> u.replace("nats://", "")).toList());
            killAnEdgeUnderLoad(natsSink(String.join(",", cluster.urls()), stream), "nats://" + hosts + "/" + stream, stream, CLIENTS, 0);
        }
    }

    /**
     * Over the in-process KRaft broker: the leader's Kafka sink writes every table to one topic of
     * one partition; the edges keep a window of 50 events only, so the moved clients resume from
     * the topic by offset, not from memory.
     */
    @Test
    void clients_of_a_killed_edge_resume_on_the_other_edge_from_a_kafka_topic_by_offset() throws Exception {
        try (KafkaClusterTestKit kafka = KafkaTestBroker.start();
             Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            String topic = "edges";
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
            String sink = "{\"name\": \"edges\", \"type\": \"kafka\", \"bootstrap_servers\": \"%s\", \"topic\": \"%s\"}"
                    .formatted(kafka.bootstrapServers(), topic);
            killAnEdgeUnderLoad(sink, "kafka://" + kafka.bootstrapServers() + "/" + topic, topic, CLIENTS, 50);
        }
    }

    private static String natsSink(String url, String stream) {
        return "{\"name\": \"edges\", \"type\": \"nats\", \"url\": \"%s\", \"subject\": \"%s.${schema}.${table}\"}".formatted(url, stream);
    }

    /** {@code sink}: the leader's sink as JSON; {@code window}: the edges' {@code edge.window}, 0 for the default. */
    /** The reply to a join of a private channel on the node at {@code port}. */
    private static String privateJoinReply(int port) throws Exception {
        java.util.concurrent.CompletableFuture<String> reply = new java.util.concurrent.CompletableFuture<>();
        java.net.http.WebSocket ws = java.net.http.HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(java.net.URI.create("ws://127.0.0.1:" + port + "/socket/websocket?vsn=1.0.0"),
                        new java.net.http.WebSocket.Listener() {
                            @Override
                            public java.util.concurrent.CompletionStage<?> onText(java.net.http.WebSocket w, CharSequence data,
                                                                                  boolean last) {
                                if (data.toString().contains("phx_reply")) {
                                    reply.complete(data.toString());
                                }
                                w.request(1);
                                return null;
                            }
                        }).get(10, java.util.concurrent.TimeUnit.SECONDS);
        try {
            ws.sendText("{\"topic\":\"realtime:secret\",\"event\":\"phx_join\",\"payload\":{\"config\":{\"private\":true}},"
                    + "\"ref\":\"1\",\"join_ref\":\"1\"}", true).get(10, java.util.concurrent.TimeUnit.SECONDS);
            return reply.get(10, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            ws.abort();
        }
    }

    private void killAnEdgeUnderLoad(String sink, String from, String stream, int clientCount, int window) throws Exception {
        try (Streams s = Streams.newDatabase(); ChangeLoad load = new ChangeLoad(s.jdbcUrl, TABLES)) {
            s.sql("CREATE PUBLICATION tidings FOR ALL TABLES");
            Path leaderYaml = dir.resolve("leader.yaml");
            Files.writeString(leaderYaml, """
                    {"db": {"url": "%s"},
                     "replication": {"slot": "%s", "publication": "tidings"},
                     "sinks": [%s]}"""
                    .formatted(s.jdbcUrl, s.slot, sink));
            Path edgeYaml = dir.resolve("edge.yaml");
            Files.writeString(edgeYaml, "{\"limits\": {\"send_queue_messages\": 100000}"
                    + (window > 0 ? ", \"edge\": {\"window\": " + window + "}}" : "}"));
            List<ServeProcess> processes = new ArrayList<>();
            List<EdgeClient> clients = new ArrayList<>();
            try {
                ServeProcess leader = new ServeProcess(leaderYaml, ServeProcess.freePort(), dir.resolve("leader.log"), Map.of());
                processes.add(leader);
                ServeProcess[] edges = new ServeProcess[2];
                for (int i = 0; i < 2; i++) {
                    edges[i] = new ServeProcess(edgeYaml, ServeProcess.freePort(), dir.resolve("edge-" + i + ".log"), Map.of(),
                            "--from", from);
                    processes.add(edges[i]);
                }
                leader.awaitReady(Duration.ofSeconds(60));
                for (ServeProcess edge : edges) {
                    edge.awaitReady(Duration.ofSeconds(60));
                    assertThat(edge.get("/api/status").body()).contains("\"role\":\"edge\"").contains(stream);
                }
                assertThat(privateJoinReply(edges[1].port)).as("an edge reads no database to authorize a private channel")
                        .contains("\"status\":\"error\"").contains("this node reads no database (serve --from)");
                var groups = edges[0].get("/api/consumers");
                assertThat(groups.statusCode()).as("an edge serves consumer groups (JetStream consumers, Kafka share groups)")
                        .isEqualTo(200);
                assertThat(groups.body()).isEqualTo("[]");
                for (int i = 0; i < clientCount; i++) {
                    clients.add(new EdgeClient(edges, i % 2));
                }
                Await.until(Duration.ofSeconds(60), "every client connected", () -> clients.stream().allMatch(c -> c.connections.get() == 1));

                load.start(CHANGES, 20, 12);
                Await.until(Duration.ofSeconds(60), "a third of the load", () -> load.committed.get() >= CHANGES / 3);
                edges[0].kill();
                load.await();
                int[] counts = load.counts();
                int total = java.util.Arrays.stream(counts).sum();
                Await.until(Duration.ofSeconds(120), () -> "every client to get all " + total + " rows; behind: "
                                + clients.stream().filter(c -> c.received.get() < total).count() + ", such as "
                                + clients.stream().filter(c -> c.received.get() < total).limit(5).map(EdgeClient::describe).toList()
                                + "; edge log:\n" + edges[1].tail(),
                        () -> clients.stream().allMatch(c -> c.received.get() >= total));
                for (EdgeClient c : clients) {
                    assertThat(c.errors).as("rows out of order or repeated").isEmpty();
                    for (int t = 0; t < TABLES; t++) {
                        assertThat(c.last[t]).as("rows of load_%d", t).isEqualTo(counts[t]);
                    }
                }
                assertThat(clients.stream().filter(c -> c.firstNode == 0))
                        .as("the killed edge's clients moved to the other and resumed").allMatch(c -> c.connections.get() >= 2);
            } finally {
                for (EdgeClient c : clients) {
                    c.close();
                }
                for (ServeProcess p : processes) {
                    p.close();
                }
            }
        }
    }

    /**
     * An SSE client of {@code /events} that, when its connection ends, reconnects to the other edge
     * with the last id it got (what an application does behind a load balancer). It checks each
     * table's rows arrive as 1, 2, 3, … without reading more of the event than it needs.
     */
    static final class EdgeClient implements AutoCloseable {
        private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
        final int firstNode;
        final int[] last = new int[TABLES];
        final AtomicInteger received = new AtomicInteger();
        final AtomicInteger connections = new AtomicInteger();
        final List<String> errors = new CopyOnWriteArrayList<>();
        private final ServeProcess[] nodes;
        private final Thread thread;
        private volatile int node;
        private volatile String lastId;
        private volatile boolean closed;
        private volatile InputStream body;

        EdgeClient(ServeProcess[] nodes, int node) {
            this.nodes = nodes;
            this.node = node;
            this.firstNode = node;
            this.thread = Thread.ofVirtual().start(this::run);
        }

        private void run() {
            while (!closed) {
                HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(nodes[node].url("/events")));
                if (lastId != null) {
                    r.header("Last-Event-ID", lastId);
                }
                try {
                    HttpResponse<InputStream> response = HTTP.send(r.build(), HttpResponse.BodyHandlers.ofInputStream());
                    if (response.statusCode() == 200) {
                        connections.incrementAndGet();
                        body = response.body();
                        read(new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8)));
                    }
                } catch (IOException | InterruptedException e) {
                    // cut: reconnect elsewhere
                }
                if (!closed) {
                    node = 1 - node;
                    java.util.concurrent.locks.LockSupport.parkNanos(100_000_000);
                }
            }
        }

        private void read(BufferedReader lines) throws IOException {
            String id = null;
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("event: reset")) {
                    errors.add("reset: " + line);
                } else if (line.startsWith("data: ") && id != null) {
                    int table = line.charAt(line.indexOf("\"table\":\"load_") + 14) - '0';
                    int at = line.indexOf("\"record\":{\"n\":") + 14;
                    int n = Integer.parseInt(line, at, line.indexOf(',', at), 10);
                    if (n != last[table] + 1) {
                        errors.add("load_" + table + ": " + n + " after " + last[table] + " (id " + id + ")");
                    }
                    last[table] = n;
                    received.incrementAndGet();
                    lastId = id;
                    id = null;
                }
            }
        }

        /** What a client got, for a failure message. */
        String describe() {
            return "{first node " + firstNode + ", now " + node + ", connections " + connections.get() + ", received "
                    + received.get() + ", last " + java.util.Arrays.toString(last) + ", last id " + lastId + ", errors "
                    + errors.stream().limit(3).toList() + "}";
        }

        @Override
        public void close() {
            closed = true;
            InputStream b = body;
            if (b != null) {
                try {
                    b.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
            thread.interrupt();
        }
    }
}
