package dev.tidings.bench.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.postgresql.PGConnection;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code bin/bench backfill}: what a snapshot costs, measured on {@code tidings tail --snapshot} as
 * users run it ({@code bin/tidings}, with its JVM defaults: 128 MB heap, serial collector; add JVM
 * options such as a flight recording through {@code TIDINGS_JAVA_OPTS}) against an embedded PostgreSQL:
 *
 * <ol>
 *   <li>rows/s of a snapshot of {@code --rows} rows of about 200 bytes, against
 *       {@code COPY (SELECT * FROM t) TO STDOUT} of the same table into nowhere (the reference:
 *       reading the table as fast as the server sends it), median of {@code --reps} runs;
 *   <li>the p99 latency (commit → line on tail's stdout) of live inserts written at
 *       {@code --tx-rate} transactions/s while that snapshot runs;
 *   <li>tail's peak RSS while it snapshots {@code --rss-rows} rows of about 1 KB.
 * </ol>
 *
 * Options: {@code --rows N} (1000000), {@code --rss-rows N} (1000000), {@code --reps N} (3),
 * {@code --tx-rate N} (500), {@code --chunk N} (4096).
 */
public final class BackfillBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BackfillBenchmark() {}

    public static void main(String[] args) throws Exception {
        long rows = option(args, "--rows", 1_000_000);
        long rssRows = option(args, "--rss-rows", 1_000_000);
        int reps = (int) option(args, "--reps", 3);
        int txRate = (int) option(args, "--tx-rate", 500);
        int chunk = (int) option(args, "--chunk", 4096);
        try (BenchPostgres pg = new BenchPostgres()) {
            System.out.printf(Locale.ROOT, "PostgreSQL %s; %d CPUs; load average %s%n", pg.version(),
                    Runtime.getRuntime().availableProcessors(), loadAverage());
            try (Connection c = pg.connect(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE bf_small (id bigint PRIMARY KEY, n int, t text, at timestamptz)");
                s.execute("INSERT INTO bf_small SELECT g, g % 1000, repeat(md5(g::text), 5), now() FROM generate_series(1, "
                        + rows + ") g");
                s.execute("CREATE TABLE bf_big (id bigint PRIMARY KEY, t text)");
                s.execute("INSERT INTO bf_big SELECT g, repeat(md5(g::text), 31) FROM generate_series(1, " + rssRows + ") g");
                s.execute("CREATE TABLE bf_live (id bigserial PRIMARY KEY, note text)");
                s.execute("CREATE PUBLICATION bf_pub FOR TABLE bf_small, bf_big, bf_live");
                s.execute("VACUUM ANALYZE");
            }
            List<Double> copySeconds = new ArrayList<>();
            List<Double> snapshotSeconds = new ArrayList<>();
            List<Double> p99s = new ArrayList<>();
            for (int rep = 0; rep < reps; rep++) {
                copySeconds.add(copy(pg, "bf_small"));
                Run run = snapshot(pg, "bf_small", rows, chunk, txRate, "bf_" + rep);
                snapshotSeconds.add(run.seconds);
                p99s.add(run.p99Millis);
                System.out.printf(Locale.ROOT, "rep %d: COPY %.2f s, snapshot %.2f s (%.2fx), live p99 %.1f ms over %d "
                                + "inserts, tail peak RSS %d MB%n", rep + 1, copySeconds.get(rep), run.seconds,
                        copySeconds.get(rep) / run.seconds, run.p99Millis, run.liveEvents, run.peakRssKb / 1024);
            }
            Run big = snapshot(pg, "bf_big", rssRows, chunk, 0, "bf_rss");
            double copy = Report.median(copySeconds);
            double snap = Report.median(snapshotSeconds);
            System.out.printf(Locale.ROOT, "%nbackfill of %d rows (~200 B): %.0f rows/s vs COPY %.0f rows/s = %.2fx "
                            + "(medians of %d)%nlive p99 at %d tx/s during the backfill: %.1f ms (median of %d)%n"
                            + "peak RSS of tail --snapshot over %d rows of ~1 KB: %d MB (%.1f s)%n",
                    rows, rows / snap, rows / copy, copy / snap, reps, txRate, Report.median(p99s), reps, rssRows,
                    big.peakRssKb / 1024, big.seconds);
        }
    }

    /** Seconds to COPY the table to nowhere. */
    private static double copy(BenchPostgres pg, String table) throws Exception {
        try (Connection c = pg.connect()) {
            long start = System.nanoTime();
            c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (SELECT * FROM " + table + ") TO STDOUT",
                    OutputStream.nullOutputStream());
            return (System.nanoTime() - start) / 1e9;
        }
    }

    private record Run(double seconds, double p99Millis, long liveEvents, long peakRssKb) {}

    /**
     * Runs {@code tail --snapshot} of {@code table} on a temporary slot until it printed {@code rows}
     * reads; meanwhile writes {@code txRate} one-row transactions/s to {@code bf_live}. Seconds are
     * from the first read line to the last (the snapshot, without the JVM's start).
     */
    private static Run snapshot(BenchPostgres pg, String table, long rows, int chunk, int txRate, String slot)
            throws Exception {
        List<String> cmd = List.of(Path.of("bin", "tidings").toAbsolutePath().toString(), "tail", "--db", pg.jdbcUrl(),
                "--slot", slot, "--temporary", "--publication", "bf_pub", "--tables", "public." + table + ",public.bf_live",
                "--snapshot", "--snapshot-chunk", String.valueOf(chunk));
        Process tail = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        AtomicBoolean writing = new AtomicBoolean(true);
        Thread writer = Thread.ofPlatform().name("bf-writer").start(() -> write(pg, txRate, writing));
        List<Long> latencies = new ArrayList<>();
        long first = 0;
        long last = 0;
        long reads = 0;
        ProcStats peak = ProcStats.NONE;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(tail.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while (reads < rows && (line = out.readLine()) != null) {
                if (line.contains("\"op\":\"read\"")) {
                    reads++;
                    last = System.nanoTime();
                    if (first == 0) {
                        first = last;
                    }
                    if ((reads & 0xFFFF) == 0) {
                        peak = peak.max(ProcStats.read(tail.pid()));
                    }
                } else if (first != 0 && line.contains("\"table\":\"bf_live\"")) {
                    JsonNode e = JSON.readTree(line);
                    Instant commit = Instant.parse(e.at("/tx/commit_time").asText());
                    latencies.add(java.time.Duration.between(commit, Instant.now()).toNanos());
                }
            }
            peak = peak.max(ProcStats.read(tail.pid()));
        } finally {
            writing.set(false);
            writer.join();
            tail.destroy();
            if (!tail.waitFor(30, TimeUnit.SECONDS)) {
                tail.destroyForcibly();
            }
        }
        if (reads < rows) {
            throw new IllegalStateException("tail --snapshot ended after " + reads + " of " + rows + " rows");
        }
        long[] sorted = latencies.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(sorted);
        double p99 = sorted.length == 0 ? Double.NaN : Latencies.rank(sorted, 0.99) / 1e6;
        return new Run((last - first) / 1e9, p99, sorted.length, peak.peakRssKb());
    }

    /** One-row transactions into bf_live at {@code txRate}/s (none when 0) until told to stop. */
    private static void write(BenchPostgres pg, int txRate, AtomicBoolean writing) {
        if (txRate <= 0) {
            return;
        }
        long interval = TimeUnit.SECONDS.toNanos(1) / txRate;
        AtomicLong next = new AtomicLong(System.nanoTime());
        try (Connection c = pg.connect(); PreparedStatement ps = c.prepareStatement("INSERT INTO bf_live (note) VALUES ('x')")) {
            while (writing.get()) {
                ps.executeUpdate();
                long due = next.addAndGet(interval);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
            }
        } catch (Exception e) {
            System.err.println("bench writer stopped: " + e.getMessage());
        }
    }

    private static long option(String[] args, String name, long otherwise) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return Long.parseLong(args[i + 1]);
            }
        }
        return otherwise;
    }

    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (Exception e) {
            return "unknown";
        }
    }
}
