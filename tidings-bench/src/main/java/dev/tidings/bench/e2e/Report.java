package dev.tidings.bench.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Medians over repetitions, ratios to pg_recvlogical and Debezium within the same repetition, the
 * targets (docs/benchmarks.md, "Against the targets"), and the machine it ran on — as Markdown. {@link #document()} replaces the
 * part of docs/benchmarks.md between the results markers and keeps the prose around it.
 */
final class Report {
    static final String BEGIN = "<!-- results:begin (written by bin/bench) -->";
    static final String END = "<!-- results:end -->";

    private final List<Measurement> results;
    private final Benchmark.Options options;

    Report(List<Measurement> results, Benchmark.Options options) {
        this.results = results;
        this.options = options;
    }

    String markdownTables() {
        StringBuilder sb = new StringBuilder();
        Set<String> loads = new LinkedHashSet<>();
        results.forEach(m -> loads.add(m.load().name()));
        for (String name : loads) {
            List<Measurement> ms = results.stream().filter(m -> m.load().name().equals(name)).toList();
            Load load = ms.get(0).load();
            if (load.kind() == Load.Kind.IDLE) {
                sb.append(String.format(Locale.ROOT, "### (%s) %s%n%n", name, load.description()));
            } else {
                sb.append(String.format(Locale.ROOT, "### (%s) %,d events: %s%n%n", name, load.events(), load.description()));
            }
            if (load.kind() == Load.Kind.IDLE) {
                idleTable(sb, ms);
            } else if (load.servedToClients()) {
                fanOutTable(sb, ms);
            } else if (load.kind() == Load.Kind.LIVE) {
                liveTable(sb, ms);
            } else {
                catchUpTable(sb, ms);
            }
            long failed = ms.stream().filter(m -> !m.ok()).count();
            if (failed > 0) {
                sb.append("\nFailed runs: ");
                ms.stream().filter(m -> !m.ok()).forEach(m -> sb.append(m.peer().label).append(" rep ").append(m.rep())
                        .append(": ").append(m.error()).append("; "));
                sb.append('\n');
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private void catchUpTable(StringBuilder sb, List<Measurement> ms) {
        sb.append("| consumer | events/s (from start) | × pg_recvlogical | × Debezium | start-up s | events/s after first event | peak RSS MB | CPU s | CPU µs/event |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Peer peer : Peer.values()) {
            List<Measurement> own = ok(ms, peer);
            if (own.isEmpty()) {
                continue;
            }
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", peer.label,
                    num(median(own, Measurement::throughput)),
                    ratio(ms, peer, Peer.PG_RECVLOGICAL), ratio(ms, peer, Peer.DEBEZIUM),
                    dec(median(own, Measurement::startupSeconds), 2),
                    num(median(own, Measurement::streamingThroughput)),
                    num(median(own, m -> m.stats().peakRssKb() / 1024.0)),
                    dec(median(own, m -> m.stats().cpuMillis() / 1e3), 1),
                    dec(median(own, m -> m.stats().cpuMillis() * 1e3 / m.events()), 1)));
        }
    }

    private void liveTable(StringBuilder sb, List<Measurement> ms) {
        sb.append("| consumer | p50 ms | p99 ms | max ms | peak RSS MB | CPU s | load achieved tx/s |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (Peer peer : Peer.values()) {
            List<Measurement> own = ok(ms, peer);
            if (own.isEmpty()) {
                continue;
            }
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s |%n", peer.label,
                    dec(median(own, m -> m.latencyMicros()[0] / 1e3), 1),
                    dec(median(own, m -> m.latencyMicros()[1] / 1e3), 1),
                    dec(median(own, m -> m.latencyMicros()[2] / 1e3), 1),
                    num(median(own, m -> m.stats().peakRssKb() / 1024.0)),
                    dec(median(own, m -> m.stats().cpuMillis() / 1e3), 1),
                    num(median(own, Measurement::liveRate))));
        }
    }

    /**
     * One row per kind of client (a realtime-js load has its raw NIO reference beside it): the
     * deliveries and latencies the clients measured, the server's RSS and CPU, and the CPU per
     * change of the server and of the clients' process while the load ran.
     */
    private void fanOutTable(StringBuilder sb, List<Measurement> ms) {
        sb.append("| consumer | clients | deliveries (of expected) | deliveries/s | disconnected | p50 ms | p95 ms | p99 ms"
                + " | max ms | server peak RSS MB | server CPU s | server CPU µs/change during the load"
                + " | clients' CPU µs/change during the load | connect + join s | load achieved tx/s (messages/s) |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Load.Via via : Load.Via.values()) {
            List<Measurement> own = ok(ms, Peer.SERVE).stream().filter(m -> m.load().via() == via).toList();
            if (own.isEmpty()) {
                continue;
            }
            Load load = own.get(0).load();
            sb.append(String.format(Locale.ROOT, "| %s | %d | %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                    "tidings serve → " + via.label,
                    load.clients(), num(median(own, m -> m.latencyMicros()[4])), num((double) load.expectedDeliveries()),
                    num(median(own, Measurement::streamingThroughput)),
                    num(median(own, m -> m.latencyMicros()[5])),
                    dec(median(own, m -> m.latencyMicros()[0] / 1e3), 1),
                    dec(median(own, m -> m.latencyMicros()[3] / 1e3), 1),
                    dec(median(own, m -> m.latencyMicros()[1] / 1e3), 1),
                    dec(median(own, m -> m.latencyMicros()[2] / 1e3), 1),
                    num(median(own, m -> m.stats().peakRssKb() / 1024.0)),
                    dec(median(own, m -> m.stats().cpuMillis() / 1e3), 1),
                    dec(median(own, m -> perChange(m, m.served() == null ? -1 : m.served().serverLoadCpuMillis())), 1),
                    dec(median(own, m -> perChange(m, m.served() == null ? -1 : m.served().clientLoadCpuMillis())), 1),
                    dec(median(own, m -> m.served() == null ? Double.NaN : m.served().joinMillis() / 1e3), 1),
                    num(median(own, Measurement::liveRate))));
        }
    }

    /** µs of CPU per change of the load; NaN when not measured (broadcast loads). */
    private static double perChange(Measurement m, long cpuMillis) {
        return cpuMillis < 0 ? Double.NaN : cpuMillis * 1e3 / m.load().events();
    }

    /** The idle load: what the heartbeats cost the server and the clients, as % of one core. */
    private void idleTable(StringBuilder sb, List<Measurement> ms) {
        sb.append("| consumer | clients | connect + join s | heartbeats answered | heartbeat round trip p50 ms | p99 ms"
                + " | server CPU % of a core | clients' CPU % of a core | server peak RSS MB |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        List<Measurement> own = ok(ms, Peer.SERVE);
        if (own.isEmpty()) {
            return;
        }
        Load load = own.get(0).load();
        sb.append(String.format(Locale.ROOT, "| %s | %,d | %s | %s | %s | %s | %s | %s | %s |%n",
                "tidings serve → " + load.via().label, load.clients(),
                dec(median(own, m -> m.served().joinMillis() / 1e3), 1),
                num(median(own, m -> m.latencyMicros()[4])),
                dec(median(own, m -> m.latencyMicros()[0] / 1e3), 1),
                dec(median(own, m -> m.latencyMicros()[1] / 1e3), 1),
                dec(median(own, m -> m.served().serverLoadCpuMillis() / 10.0 / load.events()), 2),
                dec(median(own, m -> m.served().clientLoadCpuMillis() / 10.0 / load.events()), 2),
                num(median(own, m -> m.stats().peakRssKb() / 1024.0))));
    }

    /** The median over repetitions of peer's throughput divided by base's in the same repetition. */
    private String ratio(List<Measurement> ms, Peer peer, Peer base) {
        List<Double> ratios = new ArrayList<>();
        for (Measurement m : ok(ms, peer)) {
            ok(ms, base).stream().filter(b -> b.rep() == m.rep()).findFirst()
                    .ifPresent(b -> ratios.add(m.throughput() / b.throughput()));
        }
        return ratios.isEmpty() ? "—" : dec(median(ratios), 2) + "×";
    }

    private static List<Measurement> ok(List<Measurement> ms, Peer peer) {
        return ms.stream().filter(m -> m.peer() == peer && m.ok()).toList();
    }

    static double median(List<Measurement> ms, ToDoubleFunction<Measurement> f) {
        return median(ms.stream().map(f::applyAsDouble).toList());
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).filter(d -> !Double.isNaN(d)).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static String num(double d) {
        return Double.isNaN(d) ? "—" : String.format(Locale.ROOT, "%,.0f", d);
    }

    private static String dec(double d, int digits) {
        return Double.isNaN(d) ? "—" : String.format(Locale.ROOT, "%." + digits + "f", d);
    }

    /** The machine and versions, for the record. */
    String machine() {
        String cpu = "unknown";
        String mem = "unknown";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse(cpu);
            mem = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal"))
                    .map(l -> String.format(Locale.ROOT, "%.1f GiB",
                            Long.parseLong(l.replaceAll("\\D", "")) / 1024.0 / 1024.0)).findFirst().orElse(mem);
        } catch (IOException ignored) {
            // not Linux: leave unknown
        }
        return String.format(Locale.ROOT, """
                - machine: %d cores (nproc), %s memory, %s
                - JDK: %s %s; tidings tail runs as %s; Debezium and the embedded API with %s
                - PostgreSQL: embedded binaries %s (fsync, synchronous_commit, full_page_writes and autovacuum off; \
                the live load commits with synchronous_commit on)
                - pg_recvlogical: %s; Debezium %s (embedded engine, PostgreSQL connector, pgoutput)
                - load average (1/5/15 min) at start: %s, at end: %s — anything else running skews every figure
                - repetitions: %d per load, medians reported
                - command: `%s`
                """, Runtime.getRuntime().availableProcessors(), mem, cpu, System.getProperty("java.vm.name"),
                System.getProperty("java.version"), options.tailLaunch(), options.jvmOpts().isEmpty() ? "JVM defaults" : String.join(" ", options.jvmOpts()),
                pgVersion(), pgRecvlogicalVersion(), debeziumVersion(), BenchVersions.loadAtStart, BenchVersions.loadAverage(),
                options.reps(), options.command());
    }

    private String pgVersion() {
        return results.isEmpty() ? "?" : BenchVersions.postgres;
    }

    private static String pgRecvlogicalVersion() {
        String p = Benchmark.findPgRecvlogical();
        if (p == null) {
            return "not installed";
        }
        try {
            Process pr = new ProcessBuilder(p, "--version").redirectErrorStream(true).start();
            return new String(pr.getInputStream().readAllBytes()).trim();
        } catch (IOException e) {
            return p;
        }
    }

    private static String debeziumVersion() {
        Package pkg = io.debezium.connector.postgresql.PostgresConnector.class.getPackage();
        String v = pkg == null ? null : pkg.getImplementationVersion();
        return v != null ? v : new io.debezium.connector.postgresql.PostgresConnector().version();
    }

    String document() throws IOException {
        String results = BEGIN + "\n\n" + machine() + "\n" + markdownTables() + END;
        Path out = options.out();
        if (out != null && Files.exists(out)) {
            String doc = Files.readString(out);
            int b = doc.indexOf(BEGIN);
            int e = doc.indexOf(END);
            if (b >= 0 && e > b) {
                return doc.substring(0, b) + results + doc.substring(e + END.length());
            }
        }
        return "# Benchmarks\n\n" + results + "\n";
    }

    static String join(long[] v) {
        return Arrays.toString(v);
    }
}
