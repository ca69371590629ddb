package dev.tidings.bench.e2e;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The end-to-end benchmark: Tidings against pg_recvlogical and Debezium on the same
 * PostgreSQL, the same loads and the same WAL. See docs/benchmarks.md for what it measures and how.
 *
 * <p>Catch-up loads (a, b, c, e, o, p): for each repetition the table is reset, one slot per consumer is
 * created, the load is written, and the end LSN is fixed; then each consumer in turn (in an order
 * rotated per repetition, so none always goes first) starts and reads the whole load from its own
 * slot, alone on the machine. Live load (d): each consumer in turn starts on a fresh slot, and once
 * it streams the paced load runs; commit → delivery is measured per event.
 *
 * <p>Usage: {@code Benchmark [--reps N] [--loads a,b,c,d,e,o,p,…] [--peers P,…] [--scale K] [--jvm-opts "…"]
 * [--tail-java-opts "…" | --tail-jar PATH | --tail-classpath] [--out FILE] [--command "…"]}
 *
 * <p>{@code tidings tail} is launched as a user launches it, through {@code bin/tidings} with the
 * JVM options that script chooses (so its memory is the product's, not the benchmark's);
 * {@code --tail-java-opts} sets {@code TIDINGS_JAVA_OPTS} for it. {@code --jvm-opts} (default
 * {@code -Xmx1g}) is for the JVMs the benchmark itself starts: Debezium and the embedded API, which
 * run inside an application whose heap the application chooses. {@code --tail-jar} and
 * {@code --tail-classpath} run tail with {@code java --jvm-opts} instead, for experiments.
 */
public final class Benchmark {
    private Benchmark() {}

    /** What to run. */
    record Options(int reps, List<String> loads, List<Peer> peers, int scale, List<String> jvmOpts,
                   List<String> tailCommand, String tailLaunch, Path out, String command, Path logDir) {}

    public static void main(String[] args) throws Exception {
        Options options = parse(args);
        List<Measurement> results = run(options);
        Report report = new Report(results, options);
        System.out.println(report.markdownTables());
        if (options.out() != null) {
            Files.writeString(options.out(), report.document());
            System.out.println("wrote " + options.out());
        }
        System.exit(results.stream().allMatch(Measurement::ok) ? 0 : 1);
    }

    static List<Measurement> run(Options options) throws Exception {
        Files.createDirectories(options.logDir());
        String java = ProcessHandle.current().info().command().orElse("java");
        String recvlogical = findPgRecvlogical();
        List<Peer> peers = new ArrayList<>(options.peers());
        if (recvlogical == null && peers.remove(Peer.PG_RECVLOGICAL)) {
            System.err.println("pg_recvlogical not found: measuring without it (install it with: apt-get install postgresql-client)");
        }
        ConsumerRun.Settings settings = new ConsumerRun.Settings(java, System.getProperty("java.class.path"),
                options.jvmOpts(), options.tailCommand(), recvlogical, options.logDir());
        List<Measurement> results = new ArrayList<>();
        try (BenchPostgres pg = new BenchPostgres()) {
            BenchVersions.postgres = pg.version();
            BenchVersions.loadAtStart = BenchVersions.loadAverage();
            ConsumerRun runner = new ConsumerRun(settings, pg);
            FanOutRun fanOut = new FanOutRun(settings, pg);
            for (String name : options.loads()) {
                Load load = load(name, options.scale());
                for (int rep = 0; rep < options.reps(); rep++) {
                    List<Peer> order = rotated(peers, rep);
                    order.remove(Peer.SERVE); // the fan-out loads only
                    if (load.servedToClients()) {
                        // a realtime-js load runs beside the raw NIO clients at the same count, in turn
                        List<Load> variants = load.via() == Load.Via.REALTIME_JS
                                ? rotated(List.of(load.via(Load.Via.WEBSOCKET), load), rep) : List.of(load);
                        for (Load variant : variants) {
                            pg.dropSlots();
                            pg.resetTable(variant.table());
                            try (Connection c = pg.connect()) {
                                variant.prepare(c);
                            }
                            pg.createSlots(List.of(Peer.SERVE.slot()));
                            try (Connection loader = pg.connect()) {
                                results.add(report(fanOut.run(variant, rep, loader)));
                            }
                        }
                    } else if (load.kind() == Load.Kind.LIVE) {
                        order.remove(Peer.PG_RECVLOGICAL);
                        for (Peer peer : order) {
                            pg.dropSlots();
                            pg.resetTable(load.table());
                            pg.createSlots(List.of(peer.slot()));
                            try (Connection loader = pg.connect()) {
                                results.add(report(runner.live(peer, load, rep, loader)));
                            }
                        }
                    } else {
                        order.remove(Peer.DEBEZIUM_POLL10); // the poll interval matters when idle: live only
                        pg.dropSlots();
                        pg.resetTable(load.table());
                        try (Connection c = pg.connect()) {
                            load.prepare(c);
                        }
                        pg.createSlots(order.stream().map(Peer::slot).toList());
                        long t = System.nanoTime();
                        try (Connection c = pg.connect()) {
                            load.run(c);
                        }
                        String end = pg.endLsn();
                        System.err.printf("load %s rep %d: %d events written in %.1f s, end LSN %s%n", load.name(), rep,
                                load.events(), (System.nanoTime() - t) / 1e9, end);
                        for (Peer peer : order) {
                            results.add(report(runner.catchUp(peer, load, rep, end)));
                        }
                    }
                }
            }
            pg.dropSlots();
        }
        return results;
    }

    private static Measurement report(Measurement m) {
        if (!m.ok()) {
            System.err.printf("  %-40s load %s rep %d FAILED: %s%n", m.peer().label, m.load().name(), m.rep(), m.error());
        } else if (m.load().servedToClients()) {
            long[] l = m.latencyMicros();
            System.err.printf("  %-40s load %s rep %d: %d %s, %d deliveries, %d disconnected, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms, RSS %d MB, CPU %.1f s (load %.0f tx/s)%n",
                    m.peer().label, m.load().name(), m.rep(), l[6], m.load().via().label, l[4], l[5], l[0] / 1e3, l[3] / 1e3, l[1] / 1e3, l[2] / 1e3,
                    m.stats().peakRssKb() / 1024, m.stats().cpuMillis() / 1e3, m.liveRate());
        } else if (m.latencyMicros() != null) {
            System.err.printf("  %-40s load %s rep %d: p50 %.1f ms, p99 %.1f ms, max %.1f ms, RSS %d MB, CPU %.1f s (load %.0f tx/s)%n",
                    m.peer().label, m.load().name(), m.rep(), m.latencyMicros()[0] / 1e3, m.latencyMicros()[1] / 1e3,
                    m.latencyMicros()[2] / 1e3, m.stats().peakRssKb() / 1024, m.stats().cpuMillis() / 1e3, m.liveRate());
        } else {
            System.err.printf("  %-40s load %s rep %d: %.0f events/s, RSS %d MB, CPU %.1f s%n", m.peer().label,
                    m.load().name(), m.rep(), m.throughput(), m.stats().peakRssKb() / 1024, m.stats().cpuMillis() / 1e3);
        }
        return m;
    }

    static Load load(String name, int scale) {
        return switch (name) {
            case "a" -> Load.a(scale);
            case "b" -> Load.b(scale);
            case "c" -> Load.c(scale);
            case "d" -> Load.d(scale);
            case "e" -> Load.e(scale);
            case "f" -> Load.f(scale);
            case "g" -> Load.g(scale);
            case "h" -> Load.h(scale);
            case "i" -> Load.i(scale);
            case "j" -> Load.j(scale);
            case "k" -> Load.k(scale);
            case "l" -> Load.l(scale);
            case "m" -> Load.m(scale);
            case "n" -> Load.n(scale);
            case "o" -> Load.o(scale);
            case "p" -> Load.p(scale);
            case "q" -> Load.q(scale);
            case "r" -> Load.r(scale);
            case "s" -> Load.s(scale);
            case "t" -> Load.t(scale);
            case "u" -> Load.u(scale);
            case "v" -> Load.v(scale);
            default -> throw new IllegalArgumentException("unknown load " + name
                    + "; use a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v");
        };
    }

    private static <T> List<T> rotated(List<T> peers, int by) {
        List<T> r = new ArrayList<>(peers);
        if (!r.isEmpty()) {
            java.util.Collections.rotate(r, -by % r.size());
        }
        return r;
    }

    static String findPgRecvlogical() {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/bin:/usr/lib/postgresql/15/bin").split(":")) {
            File f = new File(dir, "pg_recvlogical");
            if (f.canExecute()) {
                return f.getPath();
            }
        }
        return null;
    }

    static Options parse(String[] args) {
        int reps = 3;
        int scale = 1;
        List<String> loads = List.of("a", "b", "c", "d", "e", "o", "p", "f", "g", "h", "i", "j", "k", "m", "n", "q", "r", "s", "t");
        // l, u and v (10,000 clients each) on demand
        List<Peer> peers = Arrays.asList(Peer.values());
        List<String> jvmOpts = List.of("-Xmx1g");
        List<String> tail = null;
        String tailJavaOpts = null;
        Path out = null;
        String command = "bin/bench";
        String java = ProcessHandle.current().info().command().orElse("java");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--scale" -> scale = Integer.parseInt(args[++i]);
                case "--loads" -> loads = List.of(args[++i].split(","));
                case "--peers" -> peers = Arrays.stream(args[++i].split(",")).map(p -> Peer.valueOf(p.toUpperCase())).toList();
                case "--jvm-opts" -> jvmOpts = args[++i].isBlank() ? List.of() : List.of(args[i].trim().split("\\s+"));
                case "--tail-java-opts" -> tailJavaOpts = args[++i];
                case "--tail-jar" -> tail = List.of("-jar", args[++i]);
                case "--tail-classpath" -> tail = List.of("-cp", System.getProperty("java.class.path"), "dev.tidings.server.cli.Main");
                case "--out" -> out = Path.of(args[++i]);
                case "--command" -> command = args[++i];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<String> tailCommand = new ArrayList<>();
        String tailLaunch;
        if (tail == null) {
            if (tailJavaOpts != null) {
                tailCommand.addAll(List.of("env", "TIDINGS_JAVA_OPTS=" + tailJavaOpts));
            }
            tailCommand.add(Path.of("bin/tidings").toAbsolutePath().toString());
            tailLaunch = tailJavaOpts == null ? "bin/tidings with its default JVM options"
                    : "bin/tidings with TIDINGS_JAVA_OPTS=\"" + tailJavaOpts + "\"";
        } else {
            tailCommand.add(java);
            tailCommand.addAll(jvmOpts);
            tailCommand.addAll(tail);
            tailLaunch = "java " + String.join(" ", jvmOpts);
        }
        return new Options(reps, loads, peers, scale, jvmOpts, tailCommand, tailLaunch, out, command,
                Path.of("tidings-bench/target/bench-logs"));
    }
}
