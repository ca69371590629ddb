package dev.tidings.bench.e2e;

import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.server.http.TidingsServer;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code bin/bench rls}: RLS-mode delivery against the YAML row policy that makes the same
 * decision in process. {@code tidings serve} runs in this JVM on an embedded PostgreSQL; a table
 * with a Supabase-style policy ({@code user_id = auth.uid()}); {@code subscribers} WebSocket clients
 * (JDK client, Phoenix vsn 1.0.0, one {@code postgres_changes} binding) spread over {@code users}
 * users, so each change is for the subscribers of one user; {@code rate} single-row inserts a
 * second for {@code seconds}. Reported per mode: deliveries, commit → client p50/p99/max (receive
 * time − {@code commit_timestamp}, which is truncated to ms: up to 1 ms overstated), the CPU the
 * JVM used (serve and the clients: they share it) and, of it, the row security threads', and in RLS
 * mode the visibility queries per change ({@code tidings_rls_queries_total} / changes).
 *
 * <p>{@code --subscribers} and {@code --users} take lists: every pair is run (the grid), each mode
 * {@code reps} times, one after the other; a summary line per pair and mode gives the medians.
 *
 * <p>{@code --filter own} gives each subscriber the filter {@code user_id=eq.<its user>}, as Supabase
 * apps usually subscribe; by default ({@code none}) subscribers have no filter and the row security
 * alone decides.
 *
 * <p>Before the counted runs, {@code --warmup} runs (1 by default) of each mode are made and
 * printed but left out of the medians: the first run in a fresh JVM pays for compiling the code.
 *
 * <p>Usage: {@code RlsBenchmark [--subscribers 100,1000] [--users 10,100,1000] [--rate 1000] [--seconds 10]
 * [--reps 3] [--warmup 1] [--modes rls,yaml] [--filter none|own]}
 */
public final class RlsBenchmark {
    private static final String SECRET = "the-rls-benchmark-secret-that-is-long-enough-for-hs256";
    private static final int BUCKETS = 600_000; // 0.1 ms each

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new LinkedHashMap<>(Map.of("subscribers", "100,1000", "users", "10,100,1000",
                "rate", "1000", "seconds", "10", "reps", "3", "modes", "rls,yaml", "filter", "none", "warmup", "1"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--") || !opts.containsKey(args[i].substring(2))) {
                throw new IllegalArgumentException("unknown option " + args[i] + "; known: " + opts.keySet());
            }
            opts.put(args[i].substring(2), args[i + 1]);
        }
        int rate = Integer.parseInt(opts.get("rate"));
        int seconds = Integer.parseInt(opts.get("seconds"));
        int reps = Integer.parseInt(opts.get("reps"));
        int warmup = Integer.parseInt(opts.get("warmup"));
        boolean filtered = switch (opts.get("filter")) {
            case "none" -> false;
            case "own" -> true;
            default -> throw new IllegalArgumentException("unknown --filter " + opts.get("filter") + "; use none or own");
        };
        try (BenchPostgres pg = new BenchPostgres()) {
            pg.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN"
                            + " CREATE ROLE authenticated NOLOGIN; END IF; END $$",
                    "CREATE SCHEMA auth",
                    "CREATE FUNCTION auth.uid() RETURNS text LANGUAGE sql STABLE"
                            + " AS $$ SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),"
                            + " nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub') $$", // as Supabase's
                    "GRANT USAGE ON SCHEMA auth TO authenticated",
                    "CREATE TABLE bench_rls (id bigint PRIMARY KEY, user_id text NOT NULL, label text NOT NULL)",
                    "CREATE INDEX ON bench_rls (user_id)",
                    "ALTER TABLE bench_rls ENABLE ROW LEVEL SECURITY",
                    "CREATE POLICY own ON bench_rls FOR SELECT TO authenticated USING (user_id = auth.uid())",
                    "GRANT SELECT ON bench_rls TO authenticated",
                    "CREATE PUBLICATION supabase_realtime FOR TABLE bench_rls");
            long nextId = 1;
            List<String> summary = new ArrayList<>();
            for (String subs : opts.get("subscribers").split(",")) {
                for (String us : opts.get("users").split(",")) {
                    int subscribers = Integer.parseInt(subs.strip());
                    int users = Integer.parseInt(us.strip());
                    System.out.printf("rls benchmark: %d subscribers over %d users, %d changes/s for %d s, filter %s;"
                            + " load before: %s%n", subscribers, users, rate, seconds, opts.get("filter"), uptime());
                    Map<String, List<Result>> results = new LinkedHashMap<>();
                    for (int rep = -warmup; rep < reps; rep++) {
                        for (String mode : opts.get("modes").split(",")) {
                            if (rep < 0) {
                                System.out.print("warm-up, not counted: ");
                            }
                            Result r = run(pg, mode.strip(), subscribers, users, rate, seconds, nextId, filtered);
                            nextId = r.nextId;
                            if (rep >= 0) {
                                results.computeIfAbsent(mode.strip(), k -> new ArrayList<>()).add(r);
                            }
                        }
                    }
                    for (var e : results.entrySet()) {
                        List<Result> rs = e.getValue();
                        summary.add(String.format("%-4s %5d subs %5d users: p50 %.1f ms, p99 %.1f ms (median of %d: %s),"
                                        + " deliveries %s, %s queries/change, JVM CPU %.2f s/s (row security %.2f); load %s",
                                e.getKey(), subscribers, users, median(rs, Result::p50), median(rs, Result::p99), rs.size(),
                                rs.stream().map(r -> String.format("%.1f", r.p99)).toList(), rs.stream()
                                        .map(r -> r.delivered + "/" + r.expected).toList(),
                                e.getKey().equals("rls") ? String.format("%.2f", median(rs, Result::queriesPerChange)) : "—",
                                median(rs, Result::cpu), median(rs, Result::rlsCpu), uptime()));
                    }
                }
            }
            System.out.println("summary (" + rate + " changes/s for " + seconds + " s per run):");
            summary.forEach(System.out::println);
            System.out.println("load after: " + uptime());
        }
    }

    /** One run of one mode. */
    private record Result(long nextId, double p50, double p99, long delivered, long expected, double queriesPerChange,
                          double cpu, double rlsCpu) {}

    private static double median(List<Result> rs, java.util.function.ToDoubleFunction<Result> f) {
        double[] v = rs.stream().mapToDouble(f).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** CPU seconds of the JVM, and of its row security threads. */
    private static double[] cpu() {
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long rls = 0;
        for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null && info.getThreadName().startsWith("tidings-row-security")) {
                rls += Math.max(0, threads.getThreadCpuTime(info.getThreadId()));
            }
        }
        return new double[] {os.getProcessCpuTime() / 1e9, rls / 1e9};
    }

    private static Result run(BenchPostgres pg, String mode, int subscribers, int users, int rate, int seconds, long firstId,
            boolean filtered) throws Exception {
        Map<String, String> flags = new LinkedHashMap<>();
        flags.put("db.url", pg.jdbcUrl());
        flags.put("server.port", "0");
        flags.put("server.bind", "127.0.0.1");
        flags.put("replication.slot", "rls_bench_" + mode);
        flags.put("replication.temporary", "true");
        flags.put("auth.secure_channels", "true");
        flags.put("auth.jwt_secret", SECRET);
        Path yaml = null;
        switch (mode) {
            case "rls" -> flags.put("auth.rls", "true");
            case "yaml" -> {
                yaml = Files.createTempFile("rls-bench", ".yaml");
                Files.writeString(yaml, "auth:\n  rows:\n    public.bench_rls: \"user_id=eq.{sub}\"\n");
            }
            default -> throw new IllegalArgumentException("unknown mode " + mode + "; use rls or yaml");
        }
        TidingsServer server = TidingsServer.start(ServeConfigLoader.load(flags, Map.of(), yaml));
        try {
            long deadline = System.currentTimeMillis() + 60_000;
            while (!server.streaming() && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            Clients clients = new Clients(subscribers);
            HttpClient http = HttpClient.newHttpClient();
            // one token per user, shared by that user's subscribers (one session in several tabs): the
            // checks group subscribers by role and full claims, so tokens of one user that differ in
            // exp or iat would be checked apart
            String[] tokens = new String[users];
            for (int u = 0; u < users; u++) {
                tokens[u] = token("u" + u);
            }
            for (int i = 0; i < subscribers; i++) {
                clients.connect(http, server.port(), tokens[i % users], filtered ? "u" + (i % users) : null);
            }
            if (!clients.joined.await(120, TimeUnit.SECONDS)) {
                throw new IllegalStateException(clients.joined.getCount() + " joins not answered within 120 s");
            }
            Thread.sleep(1000);
            long changes = (long) rate * seconds;
            double[] cpuBefore = cpu();
            long start = System.nanoTime();
            try (Connection c = pg.connect();
                 PreparedStatement insert = c.prepareStatement("INSERT INTO bench_rls VALUES (?, ?, 'x')")) {
                // the bench database commits without waiting for the WAL flush, and logical decoding
                // sends only flushed WAL: these commits wait, or every change would wait for the WAL writer
                try (java.sql.Statement s = c.createStatement()) {
                    s.execute("SET synchronous_commit = on");
                }
                long interval = TimeUnit.SECONDS.toNanos(1) / rate;
                for (long k = 0; k < changes; k++) {
                    long wait = start + k * interval - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    insert.setLong(1, firstId + k);
                    insert.setString(2, "u" + (k % users));
                    insert.executeUpdate();
                }
            }
            double achieved = changes / ((System.nanoTime() - start) / 1e9);
            long expected = changes / users * subscribers;
            long until = System.currentTimeMillis() + 60_000;
            while (clients.deliveries.get() < expected && System.currentTimeMillis() < until) {
                Thread.sleep(100);
            }
            double[] cpuAfter = cpu();
            double elapsed = (System.nanoTime() - start) / 1e9;
            double perChange = mode.equals("rls") ? metric(http, server.port(), "tidings_rls_queries_total") / changes : 0;
            String queries = mode.equals("rls") ? String.format(", %.2f queries/change", perChange) : "";
            System.out.printf("%-4s: %d changes at %.0f/s, deliveries %d of %d, commit→client p50 %.1f ms, p99 %.1f ms,"
                            + " max %.1f ms%s, JVM CPU %.2f s/s (row security %.2f); load %s%n", mode, changes, achieved,
                    clients.deliveries.get(), expected, clients.rank(0.50) / 1000.0, clients.rank(0.99) / 1000.0,
                    clients.rank(1.0) / 1000.0, queries, (cpuAfter[0] - cpuBefore[0]) / elapsed,
                    (cpuAfter[1] - cpuBefore[1]) / elapsed, uptime());
            clients.close();
            return new Result(firstId + changes, clients.rank(0.50) / 1000.0, clients.rank(0.99) / 1000.0,
                    clients.deliveries.get(), expected, perChange, (cpuAfter[0] - cpuBefore[0]) / elapsed,
                    (cpuAfter[1] - cpuBefore[1]) / elapsed);
        } finally {
            server.close();
            if (yaml != null) {
                Files.deleteIfExists(yaml);
            }
        }
    }

    /** The subscribers: their sockets and one latency histogram. */
    private static final class Clients implements WebSocket.Listener {
        final CountDownLatch joined;
        final AtomicLong deliveries = new AtomicLong();
        final AtomicLongArray histogram = new AtomicLongArray(BUCKETS + 1);
        final List<WebSocket> sockets = new ArrayList<>();
        private final Map<WebSocket, StringBuilder> partial = new java.util.concurrent.ConcurrentHashMap<>();

        Clients(int subscribers) {
            this.joined = new CountDownLatch(subscribers);
        }

        /** Connects and joins with {@code token}; {@code user} non-null: only that user's rows ({@code user_id=eq.}). */
        void connect(HttpClient http, int port, String token, String user) {
            WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + port
                    + "/socket/websocket?vsn=1.0.0&apikey=" + token), this).join();
            sockets.add(ws);
            ws.sendText("{\"topic\":\"realtime:bench\",\"event\":\"phx_join\",\"payload\":{\"config\":{\"postgres_changes\":"
                    + "[{\"event\":\"*\",\"schema\":\"public\",\"table\":\"bench_rls\""
                    + (user == null ? "" : ",\"filter\":\"user_id=eq." + user + "\"") + "}]},\"access_token\":\"" + token
                    + "\"},\"ref\":\"1\",\"join_ref\":\"1\"}", true).join();
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            long now = ChildProtocol.nowMicros();
            StringBuilder sb = partial.computeIfAbsent(ws, k -> new StringBuilder());
            sb.append(data);
            if (last) {
                String text = sb.toString();
                sb.setLength(0);
                int at = text.indexOf("\"commit_timestamp\":\"");
                if (at >= 0) {
                    Instant commit = Instant.parse(text.substring(at + 20, text.indexOf('"', at + 20)));
                    long micros = commit.getEpochSecond() * 1_000_000 + commit.getNano() / 1000;
                    histogram.incrementAndGet((int) Math.min(BUCKETS, Math.max(0, (now - micros) / 100)));
                    deliveries.incrementAndGet();
                } else if (text.contains("\"phx_reply\"") && text.contains("\"ref\":\"1\"")) {
                    if (!text.contains("\"status\":\"ok\"")) {
                        System.err.println("join refused: " + text);
                    }
                    joined.countDown();
                }
            }
            ws.request(1);
            return null;
        }

        /** The nearest-rank quantile in µs (bucket upper bound). */
        long rank(double q) {
            long n = 0;
            for (int i = 0; i <= BUCKETS; i++) {
                n += histogram.get(i);
            }
            long target = Math.max(1, (long) Math.ceil(q * n));
            long seen = 0;
            for (int i = 0; i <= BUCKETS; i++) {
                seen += histogram.get(i);
                if (seen >= target) {
                    return (i + 1) * 100L;
                }
            }
            return 0;
        }

        void close() {
            for (WebSocket ws : sockets) {
                ws.abort();
            }
        }
    }

    /** An HS256 token for user {@code sub} of role authenticated, valid for an hour. */
    static String token(String sub) throws Exception {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String head = b64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
        String body = b64.encodeToString(("{\"sub\":\"" + sub + "\",\"role\":\"authenticated\",\"exp\":"
                + (System.currentTimeMillis() / 1000 + 3600) + "}").getBytes(StandardCharsets.UTF_8));
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return head + "." + body + "." + b64.encodeToString(mac.doFinal((head + "." + body).getBytes(StandardCharsets.US_ASCII)));
    }

    /** A counter of the server's /metrics. */
    private static double metric(HttpClient http, int port, String name) throws Exception {
        String text = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .header("Authorization", "Bearer " + token("metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        for (String line : text.lines().toList()) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new IllegalStateException(name + " is not in /metrics");
    }

    private static String uptime() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
