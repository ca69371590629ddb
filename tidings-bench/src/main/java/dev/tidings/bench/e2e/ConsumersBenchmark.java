package dev.tidings.bench.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.server.http.TidingsServer;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code bin/bench consumers}: receive/ack throughput of one consumer group over HTTP. An
 * in-process {@code tidings serve} with a change log streams {@code --events} inserts (distinct
 * rows, one transaction) into a group created before them; once the log holds them all,
 * {@code --workers} workers, each its own HTTP client, receive batches of {@code --batch} and
 * acknowledge each batch (an acknowledgement is answered after the log's group commit, as
 * always). Reported: events acknowledged per second, from the first receive to the last ack,
 * median of {@code --reps} runs (a new group each).
 *
 * <p>Options: {@code --events N} (200000), {@code --workers N} (4), {@code --batch N} (500),
 * {@code --reps N} (3).
 */
public final class ConsumersBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private ConsumersBenchmark() {}

    public static void main(String[] args) throws Exception {
        int events = option(args, "--events", 200_000);
        int workers = option(args, "--workers", 4);
        int batch = option(args, "--batch", 500);
        int reps = option(args, "--reps", 3);
        Path dir = Files.createTempDirectory("tidings-consumers-bench");
        try (BenchPostgres pg = new BenchPostgres()) {
            System.out.printf(Locale.ROOT, "PostgreSQL %s; %d CPUs; load average %s%n", pg.version(),
                    Runtime.getRuntime().availableProcessors(), Files.readString(Path.of("/proc/loadavg")).strip());
            try (Connection c = pg.connect(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE cg (id bigint PRIMARY KEY, n int, t text)");
                s.execute("CREATE PUBLICATION cg_pub FOR TABLE cg");
            }
            Path yaml = dir.resolve("serve.yaml");
            Files.writeString(yaml, """
                    db: {url: "%s"}
                    replication: {slot: cg_slot, publication: cg_pub}
                    server: {port: 0, bind: 127.0.0.1}
                    log: {dir: "%s"}
                    """.formatted(pg.jdbcUrl(), dir.resolve("log")));
            try (TidingsServer serve = TidingsServer.start(ServeConfigLoader.load(Map.of(), Map.of(), yaml))) {
                String base = "http://127.0.0.1:" + serve.port();
                while (!serve.streaming()) {
                    Thread.sleep(100);
                }
                List<Double> rates = new ArrayList<>();
                for (int rep = 1; rep <= reps; rep++) {
                    String group = "bench" + rep;
                    post(base + "/api/consumers", "{\"name\":\"" + group + "\",\"max_ack_pending\":10000}");
                    long from = (long) (rep - 1) * events;
                    try (Connection c = pg.connect(); Statement s = c.createStatement()) {
                        s.execute("INSERT INTO cg SELECT g, g % 1000, md5(g::text) FROM generate_series(" + (from + 1) + ", "
                                + (from + events) + ") g");
                    }
                    awaitLogged(base, (long) rep * events);
                    double rate = run(base, group, events, workers, batch);
                    rates.add(rate);
                    System.out.printf(Locale.ROOT, "run %d: %,d events, %d workers, batches of %d: %,.0f events/s acknowledged%n",
                            rep, events, workers, batch, rate);
                    send("DELETE", base + "/api/consumers/" + group, "");
                }
                rates.sort(Double::compare);
                System.out.printf(Locale.ROOT, "consumer group receive/ack over HTTP: median %,.0f events/s (target >= 20,000); "
                        + "load average after: %s%n", rates.get(rates.size() / 2), Files.readString(Path.of("/proc/loadavg")).strip());
            }
        }
    }

    private static double run(String base, String group, int events, int workers, int batch) throws Exception {
        AtomicLong acked = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        long start = System.nanoTime();
        List<Future<?>> all = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            all.add(pool.submit(() -> {
                while (acked.get() < events) {
                    JsonNode got = JSON.readTree(post(base + "/api/consumers/" + group + "/receive?max=" + batch + "&wait=1s", ""))
                            .path("events");
                    if (got.isEmpty()) {
                        continue;
                    }
                    StringBuilder ids = new StringBuilder("{\"ids\":[");
                    for (JsonNode e : got) {
                        ids.append(ids.length() > 8 ? ",\"" : "\"").append(e.path("ack_id").asText()).append('"');
                    }
                    JsonNode answer = JSON.readTree(post(base + "/api/consumers/" + group + "/ack", ids.append("]}").toString()));
                    acked.addAndGet(answer.path("acked").asLong());
                }
                return null;
            }));
        }
        for (Future<?> f : all) {
            f.get();
        }
        pool.shutdown();
        return acked.get() / ((System.nanoTime() - start) / 1e9);
    }

    /** Waits until the change log holds {@code count} events (from /metrics). */
    private static void awaitLogged(String base, long count) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (System.nanoTime() < deadline) {
            for (String line : send("GET", base + "/metrics", "").split("\n")) {
                if (line.startsWith("tidings_log_events ") && Double.parseDouble(line.split(" ")[1]) >= count) {
                    return;
                }
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the change log did not get " + count + " events in 5 minutes");
    }

    private static String post(String url, String body) throws Exception {
        return send("POST", url, body);
    }

    private static String send(String method, String url, String body) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                .method(method, HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() >= 300) {
            throw new IllegalStateException(method + " " + url + ": " + r.statusCode() + " " + r.body());
        }
        return r.body();
    }

    private static int option(String[] args, String name, int fallback) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return Integer.parseInt(args[i + 1]);
            }
        }
        return fallback;
    }
}
