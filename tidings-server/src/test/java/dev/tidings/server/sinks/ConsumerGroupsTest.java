package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.base.Lsn;
import dev.tidings.server.log.EventId;
import dev.tidings.testing.Await;
import dev.tidings.testing.Streams;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Consumer groups over HTTP against {@code tidings serve} in a JVM of its own (so it can be killed
 * with SIGKILL) on a real PostgreSQL: the API's refusals; four workers sharing a group on 50,000
 * changes with random nacks and a worker that dies mid-batch; then a kill -9 of the server while
 * a durable group has events out.
 *
 * <p>The load updates 500 rows over and over ({@code version} counts up per row), so per-row order
 * is visible in the events: a worker that receives version v of a row checks that version v-1
 * was acknowledged before (a worker marks an event acknowledged before it sends the ack).
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsumerGroupsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final int ROWS = 500;
    private static final int CHANGES = 50_000;

    private Path dir;
    private Streams db;
    private ServeProcess serve;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("consumer-groups");
        db = Streams.newDatabase();
        db.sql("CREATE TABLE items (id int PRIMARY KEY, version int NOT NULL)", "CREATE PUBLICATION tidings FOR ALL TABLES");
        serve = start(0);
    }

    @AfterAll
    void stop() {
        if (serve != null) {
            serve.close();
        }
        db.close();
    }

    @Test
    void the_api_refuses_bad_requests_with_how_to_fix_them() throws Exception {
        assertThat(post("/api/consumers", "{\"tables\":[\"public.items\"]}")).satisfies(r -> {
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.body()).contains("give \\\"name\\\"");
        });
        assertThat(post("/api/consumers", "{\"name\":\"a\",\"max_ack_pending\":20000}").body())
                .contains("max_ack_pending must be a whole number from 1 to 10000");
        assertThat(post("/api/consumers", "{\"name\":\"a\",\"visibility_timeout\":\"soon\"}").body())
                .contains("visibility_timeout must be a duration");
        assertThat(post("/api/consumers", "{\"name\":\"a\",\"filter\":\"version=zz.1\"}").statusCode()).isEqualTo(400);
        assertThat(post("/api/consumers", "{\"name\":\"a\",\"durable\":\"yes\"}").body()).contains("\\\"durable\\\" must be true or false");
        assertThat(post("/api/consumers", "{\"name\":\"a\",\"tabels\":[]}").body()).contains("unknown field \\\"tabels\\\"");
        assertThat(post("/api/consumers", "not json").statusCode()).isEqualTo(400);

        assertThat(post("/api/consumers", "{\"name\":\"v\"}").statusCode()).isEqualTo(201);
        assertThat(post("/api/consumers", "{\"name\":\"v\"}").statusCode()).as("the same again: left as it is").isEqualTo(200);
        assertThat(post("/api/consumers", "{\"name\":\"v\",\"durable\":true}").statusCode()).isEqualTo(409);
        assertThat(post("/api/consumers/v/receive?max=0", "").body()).contains("max must be a whole number from 1 to 1000");
        assertThat(post("/api/consumers/v/receive?wait=2m", "").body()).contains("wait must be at most 60s");
        assertThat(post("/api/consumers/v/ack", "{\"ids\":[\"nonsense\"]}").body()).contains("is not an ack id");
        assertThat(post("/api/consumers/v/ack", "{}").body()).contains("give \\\"ids\\\"");
        assertThat(post("/api/consumers/v/ack", "{\"ids\":[\"0/16B3F28:0@1\"]}").body())
                .as("an ack of nothing handed out is refused, not an error").contains("\"refused\":[\"0/16B3F28:0@1\"]");
        assertThat(post("/api/consumers/v/rewind", "{}").body()).contains("unknown action rewind");
        assertThat(post("/api/consumers/nope/receive", "").statusCode()).isEqualTo(404);
        assertThat(send("DELETE", "/api/consumers/v", "").statusCode()).isEqualTo(200);
        assertThat(send("GET", "/api/consumers/v", "").statusCode()).isEqualTo(404);
    }

    @Test
    void a_refusal_sent_before_the_body_arrives_keeps_the_connection_usable() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", serve.port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                    StandardCharsets.UTF_8));
            String head = "POST /api/consumers/v/rewind HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 2\r\n\r\n";
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Thread.sleep(300); // the body comes later, as from a client that writes headers and body apart
            out.write("{}".getBytes(StandardCharsets.US_ASCII));
            out.write("GET /api/consumers HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            List<String> statusLines = new ArrayList<>();
            for (String line; statusLines.size() < 2 && (line = in.readLine()) != null; ) {
                int at = line.indexOf("HTTP/1.1 "); // a body without a final newline runs into the next status line
                if (at >= 0) {
                    statusLines.add(line.substring(at));
                }
            }
            assertThat(statusLines).as("both requests on one connection answered").hasSize(2);
            assertThat(statusLines.get(0)).startsWith("HTTP/1.1 4");
            assertThat(statusLines.get(1)).startsWith("HTTP/1.1 200");
        }
    }

    @Test
    void four_workers_ack_every_event_once_in_row_order_and_acks_survive_kill_9() throws Exception {
        assertThat(post("/api/consumers", "{\"name\":\"work\",\"tables\":[\"public.items\"],\"durable\":true,"
                + "\"visibility_timeout\":\"3s\",\"max_ack_pending\":2000}").statusCode()).isEqualTo(201);
        Thread load = Thread.ofPlatform().start(() -> load(CHANGES));

        Map<EventId, Integer> acked = new ConcurrentHashMap<>();
        Set<EventId> nacked = ConcurrentHashMap.newKeySet();
        Set<EventId> abandoned = ConcurrentHashMap.newKeySet();
        Map<EventId, Integer> received = new ConcurrentHashMap<>();
        Set<String> ackSent = ConcurrentHashMap.newKeySet(); // "row/version"
        List<String> orderBroken = new ArrayList<>();
        AtomicInteger done = new AtomicInteger();
        ExecutorService workers = Executors.newFixedThreadPool(4);
        List<Future<?>> running = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            int worker = w;
            running.add(workers.submit(() -> {
                Random random = new Random(worker);
                int batches = 0;
                while (done.get() < CHANGES) {
                    JsonNode events = receive("work", 100, "1s");
                    batches++;
                    if (worker == 3 && batches >= 20 && !events.isEmpty()) {
                        events.forEach(e -> abandoned.add(EventId.parse(e.path("event").path("id").asText())));
                        return null; // dies mid-batch: its leases expire
                    }
                    List<String> ack = new ArrayList<>();
                    List<String> nack = new ArrayList<>();
                    for (JsonNode e : events) {
                        EventId id = EventId.parse(e.path("event").path("id").asText());
                        received.merge(id, 1, Integer::sum);
                        int row = e.path("event").path("record").path("id").asInt();
                        int version = e.path("event").path("record").path("version").asInt();
                        if (version > 1 && !ackSent.contains(row + "/" + (version - 1))) {
                            synchronized (orderBroken) {
                                orderBroken.add("row " + row + " version " + version + " out before " + (version - 1) + " was acked");
                            }
                        }
                        if (random.nextInt(50) == 0) {
                            nacked.add(id);
                            nack.add(e.path("ack_id").asText());
                        } else {
                            ackSent.add(row + "/" + version);
                            ack.add(e.path("ack_id").asText());
                        }
                    }
                    if (!nack.isEmpty()) {
                        post("/api/consumers/work/nack", JSON.writeValueAsString(Map.of("ids", nack, "delay", "50ms")));
                    }
                    if (!ack.isEmpty()) {
                        JsonNode answer = JSON.readTree(post("/api/consumers/work/ack", JSON.writeValueAsString(Map.of("ids", ack))).body());
                        Set<String> refused = new HashSet<>();
                        answer.path("refused").forEach(r -> refused.add(r.asText()));
                        for (String a : ack) {
                            if (!refused.contains(a)) {
                                acked.merge(EventId.parse(a.substring(0, a.lastIndexOf('@'))), 1, Integer::sum);
                                done.incrementAndGet();
                            }
                        }
                    }
                }
                return null;
            }));
        }
        long start = System.nanoTime();
        for (Future<?> f : running) {
            f.get(300, java.util.concurrent.TimeUnit.SECONDS);
        }
        workers.shutdown();
        load.join();
        double seconds = (System.nanoTime() - start) / 1e9;

        assertThat(orderBroken).as("per-row order").isEmpty();
        assertThat(acked).as("every event acknowledged").hasSize(CHANGES);
        assertThat(acked.values()).as("each once").allMatch(n -> n == 1);
        assertThat(abandoned).as("the dead worker had a batch").isNotEmpty();
        Set<EventId> duplicates = new HashSet<>();
        received.forEach((id, n) -> {
            if (n > 1) {
                duplicates.add(id);
            }
        });
        Set<EventId> excused = new HashSet<>(nacked);
        excused.addAll(abandoned);
        assertThat(excused).as("only nacked or abandoned events come again").containsAll(duplicates);
        assertThat(received.keySet()).as("abandoned events came back after their visibility timeout").containsAll(abandoned);
        System.out.printf("consumer group: %d changes, 4 workers (one died with %d events), %d nacks: all acked once in %.1f s; "
                + "%d redelivered%n", CHANGES, abandoned.size(), nacked.size(), seconds, duplicates.size());

        // kill -9 while the durable group has 1,000 acked and 500 out
        insert(ROWS + 1, 1_500); // rows of their own: none waits for another's acknowledgement
        List<String> first = ackIds(collect("work", 1_000));
        assertThat(post("/api/consumers/work/ack", JSON.writeValueAsString(Map.of("ids", first))).body()).contains("\"acked\":1000");
        List<String> out = ackIds(collect("work", 500));
        EventId oldestOut = EventId.parse(out.get(0).substring(0, out.get(0).indexOf('@')));
        assertThat(db.confirmedFlush().value()).as("the slot is not confirmed past what the durable group has out")
                .isLessThanOrEqualTo(oldestOut.lsn());
        serve.kill();
        serve = start(1);

        JsonNode back = collect("work", 500);
        Set<String> firstIds = new HashSet<>();
        first.forEach(a -> firstIds.add(a.substring(0, a.indexOf('@'))));
        Set<String> outIds = new HashSet<>();
        out.forEach(a -> outIds.add(a.substring(0, a.indexOf('@'))));
        Set<String> backIds = new HashSet<>();
        for (JsonNode e : back) {
            backIds.add(e.path("event").path("id").asText());
            assertThat(e.path("delivery").asInt()).as("delivered before the kill").isEqualTo(2);
        }
        assertThat(backIds).as("the events out at the kill come back, the acked ones do not").isEqualTo(outIds);
        assertThat(receive("work", 100, "1s")).as("nothing else: acked stays acked").isEmpty();
    }

    /** Receives until {@code count} events came (long polls of up to 100). */
    private JsonNode collect(String group, int count) throws Exception {
        var all = JSON.createArrayNode();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (all.size() < count && System.nanoTime() < deadline) {
            receive(group, Math.min(100, count - all.size()), "2s").forEach(all::add);
        }
        assertThat(all).as("events received").hasSize(count);
        return all;
    }

    private static List<String> ackIds(JsonNode events) {
        List<String> ids = new ArrayList<>();
        events.forEach(e -> ids.add(e.path("ack_id").asText()));
        return ids;
    }

    private JsonNode receive(String group, int max, String wait) throws Exception {
        HttpResponse<String> r = post("/api/consumers/" + group + "/receive?max=" + max + "&wait=" + wait, "");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).path("events");
    }

    private void insert(int from, int count) {
        db.sql("INSERT INTO items SELECT g, 1 FROM generate_series(" + from + ", " + (from + count - 1) + ") g");
    }

    /** Inserts the rows (first call) or updates random rows, 50 changes a transaction, each row's version counting up. */
    private void load(int changes) {
        try (Connection c = TestPostgres.connect(db.jdbcUrl)) {
            c.setAutoCommit(false);
            Random random = new Random(changes);
            int made = 0;
            if (Integer.parseInt(db.queryValue("SELECT count(*) FROM items")) == 0) {
                try (PreparedStatement insert = c.prepareStatement("INSERT INTO items VALUES (?, 1)")) {
                    for (int row = 1; row <= ROWS; row++) {
                        insert.setInt(1, row);
                        insert.addBatch();
                    }
                    insert.executeBatch();
                    c.commit();
                    made = ROWS;
                }
            }
            try (PreparedStatement update = c.prepareStatement("UPDATE items SET version = version + 1 WHERE id = ?")) {
                while (made < changes) {
                    for (int i = 0; i < 50 && made < changes; i++, made++) {
                        update.setInt(1, 1 + random.nextInt(ROWS));
                        update.addBatch();
                    }
                    update.executeBatch();
                    c.commit();
                }
            }
        } catch (Exception e) {
            throw new AssertionError("load failed", e);
        }
    }

    private ServeProcess start(int run) throws Exception {
        Path config = dir.resolve("serve-" + run + ".yaml");
        Files.writeString(config, """
                db: {url: "%s"}
                replication: {slot: %s, publication: tidings, temporary: false}
                log: {dir: "%s"}
                """.formatted(db.jdbcUrl, db.slot, dir.resolve("log")));
        ServeProcess p = new ServeProcess(config, ServeProcess.freePort(), dir.resolve("serve-" + run + ".log"), Map.of());
        p.awaitReady(Duration.ofSeconds(60));
        return p;
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return send("POST", path, body);
    }

    private HttpResponse<String> send(String method, String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(serve.url(path))).timeout(Duration.ofSeconds(70))
                .method(method, HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
