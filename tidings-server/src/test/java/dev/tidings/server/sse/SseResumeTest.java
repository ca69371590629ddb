package dev.tidings.server.sse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.server.http.TidingsServer;
import dev.tidings.server.realtime.NodeClient;
import dev.tidings.testing.TcpProxy;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
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
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SSE resume from the change log, with a plain HTTP client (what curl or any SSE library does)
 * and with headless Chromium's own {@code EventSource}: the connection is cut 5 times (a TCP
 * proxy closes it) while 20,000 changes are committed, the client reconnects with
 * {@code Last-Event-ID}, and what it received is every row, once, in commit order. An id the log
 * never held gets a {@code reset}, and with {@code snapshot=true} the rows again.
 */
@Timeout(120)
@Tag("postgres")
class SseResumeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final int CHANGES = 20_000;

    @TempDir
    static Path dir;
    private static String db;
    private static TidingsServer server;

    @BeforeAll
    static void start() throws Exception {
        db = TestPostgres.newDatabase();
        TestPostgres.execute(db, "CREATE TABLE items (id int PRIMARY KEY, note text)",
                "CREATE TABLE browser_items (id int PRIMARY KEY, note text)", "CREATE TABLE small (id int PRIMARY KEY)",
                "CREATE TABLE metered (id int PRIMARY KEY)",
                "CREATE TABLE bulk (id int PRIMARY KEY)");
        server = TidingsServer.start(ServeConfigLoader.load(Map.of("db.url", db, "server.port", "0", "server.bind", "127.0.0.1",
                "replication.publication", "resume_pub", "log.dir", dir.resolve("log").toString()), Map.of(), null));
        Await.until(Duration.ofSeconds(30), "the stream to start", server::streaming);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** An SSE client that reconnects with the last id it saw, as EventSource does. */
    static final class ResumingClient implements AutoCloseable {
        final List<Integer> ids = new CopyOnWriteArrayList<>();
        /** record.id → System.nanoTime() when its insert event arrived. */
        final Map<Integer, Long> arrivals = new java.util.concurrent.ConcurrentHashMap<>();
        final List<String> resets = new CopyOnWriteArrayList<>();
        final List<String> reads = new CopyOnWriteArrayList<>();
        final AtomicInteger connections = new AtomicInteger();
        private final String url;
        private final Thread thread;
        volatile String lastId;
        private volatile boolean closed;
        private volatile InputStream body;

        ResumingClient(String url, String lastId) {
            this.url = url;
            this.lastId = lastId;
            this.thread = Thread.ofPlatform().daemon(true).name("sse-resuming-client").start(this::run);
        }

        private void run() {
            while (!closed) {
                HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(url));
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
                    // cut: reconnect
                }
                if (!closed) {
                    java.util.concurrent.locks.LockSupport.parkNanos(50_000_000); // EventSource waits `retry` ms; a short pause here
                }
            }
        }

        private void read(BufferedReader lines) throws IOException {
            String id = null;
            String event = null;
            String data = null;
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("event: ")) {
                    event = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    data = line.substring(6);
                } else if (line.isEmpty() && event != null) {
                    JsonNode json = JSON.readTree(data);
                    switch (event) {
                        case "insert" -> {
                            int row = json.get("record").get("id").asInt();
                            arrivals.put(row, System.nanoTime());
                            ids.add(row);
                        }
                        case "read" -> reads.add(json.get("record").toString());
                        case "reset" -> resets.add(data);
                        default -> { }
                    }
                    if (id != null) {
                        lastId = id;
                    }
                    id = null;
                    event = null;
                    data = null;
                }
            }
        }

        @Override
        public void close() throws IOException {
            closed = true;
            InputStream b = body;
            if (b != null) {
                b.close();
            }
            thread.interrupt();
        }
    }

    @Test
    void a_client_cut_off_five_times_during_20000_changes_gets_every_change_once_in_order() throws Exception {
        Random random = new Random(14);
        try (TcpProxy proxy = new TcpProxy(server.port());
             ResumingClient client = new ResumingClient("http://127.0.0.1:" + proxy.port() + "/events?tables=public.items", null)) {
            Await.until(Duration.ofSeconds(10), "the client to subscribe", () -> client.connections.get() == 1);
            Thread writer = Thread.ofPlatform().name("writer").start(() -> write("items", CHANGES, 15, 10));
            for (int cut = 1; cut <= 5; cut++) {
                int target = cut * CHANGES / 6;
                Await.until(Duration.ofSeconds(60), () -> target + " events before cut; have " + client.ids.size(),
                        () -> client.ids.size() >= target);
                assertThat(writer.isAlive()).as("cut %d comes while the changes are being committed", cut).isTrue();
                proxy.cut();
                java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L + random.nextInt(400_000_000)); // writes go on meanwhile
                proxy.restore();
            }
            writer.join();
            Await.until(Duration.ofSeconds(60), () -> CHANGES + " events; have " + client.ids.size(),
                    () -> client.ids.size() >= CHANGES);
            List<Integer> expected = new ArrayList<>();
            for (int i = 1; i <= CHANGES; i++) {
                expected.add(i);
            }
            assertThat(client.ids).as("every row once, in commit order").isEqualTo(expected);
            assertThat(client.resets).isEmpty();
            assertThat(client.connections.get()).as("connections: the first and one after each cut").isEqualTo(6);
        }
    }

    @Test
    @Tag("process")
    void chromiums_eventsource_cut_off_five_times_during_20000_changes_ends_with_the_table() throws Exception {
        Path chromium = Path.of(System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium"));
        assertThat(java.nio.file.Files.isExecutable(chromium)).as("headless Chromium is needed for this test: apt-get install "
                + "chromium (bin/test installs it)").isTrue();
        Random random = new Random(15);
        try (TcpProxy proxy = new TcpProxy(server.port());
             NodeClient page = NodeClient.run(Map.of(), "eventsource-resume.js", "http://127.0.0.1:" + proxy.port(),
                     "tables=public.browser_items")) {
            page.await(l -> l.equals("READY"), Duration.ofSeconds(60));
            Thread writer = Thread.ofPlatform().name("writer").start(() -> write("browser_items", CHANGES, 15, 25));
            for (int cut = 1; cut <= 5; cut++) {
                int target = cut * CHANGES / 6;
                int opens = cut;
                // cut a connection that is open: EventSource waits `retry` ms before it reconnects
                page.await(l -> l.startsWith("COUNT ") && Integer.parseInt(l.split(" ")[1]) >= target
                        && Integer.parseInt(l.split(" ")[3]) >= opens, Duration.ofSeconds(60));
                assertThat(writer.isAlive()).as("cut %d comes while the changes are being committed", cut).isTrue();
                proxy.cut();
                java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L + random.nextInt(400_000_000)); // writes go on meanwhile
                proxy.restore();
            }
            writer.join();
            String last = page.await(l -> l.startsWith("COUNT ") && Integer.parseInt(l.split(" ")[1]) >= CHANGES
                    && Integer.parseInt(l.split(" ")[3]) >= 6, Duration.ofSeconds(60));
            page.tell("DUMP");
            String dump = page.await(l -> l.startsWith("IDS "), Duration.ofSeconds(30));
            List<Integer> ids = JSON.readValue(dump.substring(4), new com.fasterxml.jackson.core.type.TypeReference<List<Integer>>() {});
            List<Integer> table = new ArrayList<>();
            try (Connection c = TestPostgres.connect(db); java.sql.ResultSet rs = c.createStatement()
                    .executeQuery("SELECT id FROM browser_items ORDER BY id")) {
                while (rs.next()) {
                    table.add(rs.getInt(1));
                }
            }
            assertThat(ids).as("the page's list is the table, in commit order, once each").isEqualTo(table);
            assertThat(last).as("one open and one per cut, no reset").endsWith("OPENS 6 RESETS 0");
        }
    }

    @Test
    void an_id_the_log_never_held_gets_a_reset_and_with_snapshot_the_rows_again() throws Exception {
        TestPostgres.execute(db, "INSERT INTO small VALUES (1), (2), (3)");
        try (ResumingClient client = new ResumingClient("http://127.0.0.1:" + server.port()
                + "/events?tables=public.small&snapshot=true", "0/10:0")) {
            Await.until(Duration.ofSeconds(30), () -> "3 snapshot rows after a reset; resets " + client.resets + ", reads "
                    + client.reads, () -> client.reads.size() >= 3 && !client.resets.isEmpty());
            assertThat(client.resets).hasSize(1);
            assertThat(JSON.readTree(client.resets.get(0)).get("message").asText())
                    .contains("events after 0/10:0 are no longer in the change log");
            assertThat(client.reads).containsExactlyInAnyOrder("{\"id\":1}", "{\"id\":2}", "{\"id\":3}");
        }
    }

    @Test
    @Tag("slow")
    void a_client_that_missed_100000_events_gets_them_all_in_order() throws Exception {
        String url = "http://127.0.0.1:" + server.port() + "/events?tables=public.bulk";
        String before;
        try (ResumingClient marker = new ResumingClient(url, null)) {
            Await.until(Duration.ofSeconds(10), "the marker client to subscribe", () -> marker.connections.get() == 1);
            TestPostgres.execute(db, "INSERT INTO bulk VALUES (0)");
            Await.until(Duration.ofSeconds(30), "the marker row", () -> marker.ids.size() == 1);
            before = marker.lastId;
        }
        try (ResumingClient live = new ResumingClient(url, null)) {
            Await.until(Duration.ofSeconds(10), "the live client to subscribe", () -> live.connections.get() == 1);
            TestPostgres.execute(db, "INSERT INTO bulk SELECT generate_series(1, 100000)");
            Await.until(Duration.ofSeconds(60), () -> "100000 live events, have " + live.ids.size(), () -> live.ids.size() == 100_000);
        }
        long start = System.nanoTime();
        try (ResumingClient resumed = new ResumingClient(url, before)) {
            Await.until(Duration.ofSeconds(60), () -> "100000 resumed events, have " + resumed.ids.size(),
                    () -> resumed.ids.size() >= 100_000);
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("resume of 100000 missed events over SSE: %.2f s%n", seconds);
            assertThat(resumed.ids).isEqualTo(java.util.stream.IntStream.rangeClosed(1, 100_000).boxed().toList());
        }
    }

    @Test
    void metrics_show_what_the_log_holds_and_its_group_commits() throws Exception {
        TestPostgres.execute(db, "INSERT INTO metered VALUES (1)");
        Await.until(Duration.ofSeconds(30), "the log to sync an event", () -> metric("tidings_log_syncs_total") > 0
                && metric("tidings_log_events") > 0 && metric("tidings_log_durable_lsn") > 0);
        assertThat(metric("tidings_log_bytes")).isPositive();
        assertThat(metric("tidings_log_sync_seconds_total")).isPositive();
    }

    private static double metric(String name) throws Exception {
        String text = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        return text.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(l.substring(name.length() + 1)))
                .findFirst().orElse(-1);
    }

    /** Inserts rows 1..n into {@code table} in transactions of 1..maxRows rows, over about {@code seconds}. */
    private static void write(String table, int n, int maxRows, int seconds) {
        Random random = new Random(1);
        try (Connection c = TestPostgres.connect(db)) {
            c.setAutoCommit(false);
            PreparedStatement insert = c.prepareStatement("INSERT INTO " + table + " VALUES (?, 'row ' || ?)");
            long begin = System.nanoTime();
            int written = 0;
            while (written < n) {
                int rows = Math.min(n - written, 1 + random.nextInt(maxRows));
                for (int i = 0; i < rows; i++) {
                    written++;
                    insert.setInt(1, written);
                    insert.setInt(2, written);
                    insert.addBatch();
                }
                insert.executeBatch();
                c.commit();
                long ahead = seconds * 1000L * written / n - (System.nanoTime() - begin) / 1_000_000;
                if (ahead > 0) {
                    Thread.sleep(ahead);
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
