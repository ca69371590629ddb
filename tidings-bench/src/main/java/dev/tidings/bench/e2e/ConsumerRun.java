package dev.tidings.bench.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs one consumer as a child process through one load and measures it.
 *
 * <p>How each consumer's end is seen (the consumer must know when it has everything):
 * <ul>
 *   <li>pg_recvlogical: {@code --endpos} = the end LSN of the load (see {@link BenchPostgres#endLsn()});
 *       it exits when the server's stream reaches it. Its last event is its exit. It cannot count
 *       events, so it is left out of the live case (it has no latency to report).
 *   <li>tidings tail: its stdout is a pipe to this process, which counts lines and, live, parses
 *       {@code tx.commit_time} of each line as it arrives: latency is commit → line read at the
 *       receiving end of the pipe.
 *   <li>Debezium and the embedded API: a child JVM that counts events and reports over
 *       {@link ChildProtocol}.
 * </ul>
 * Peak RSS and CPU come from /proc of the child ({@link ProcStats}), read just before it is killed.
 * Every child is killed in a finally block, with its descendants.
 */
final class ConsumerRun {

    /** How to start the consumers. */
    record Settings(String java, String classpath, List<String> jvmOpts, List<String> tailCommand,
                    String pgRecvlogical, Path logDir) {}

    private final Settings settings;
    private final BenchPostgres pg;

    ConsumerRun(Settings settings, BenchPostgres pg) {
        this.settings = settings;
        this.pg = pg;
    }

    /** Catch-up: the load is already in WAL up to {@code endLsn}. */
    Measurement catchUp(Peer peer, Load load, int rep, String endLsn) {
        return run(peer, load, rep, endLsn, null);
    }

    /** Live: starts the consumer, waits until it streams, then runs the paced load. */
    Measurement live(Peer peer, Load load, int rep, Connection loader) {
        return run(peer, load, rep, null, loader);
    }

    private Measurement run(Peer peer, Load load, int rep, String endLsn, Connection loader) {
        boolean live = loader != null;
        long timeoutMs = TimeUnit.SECONDS.toMillis(90 + load.events() / 2_000);
        List<String> command = command(peer, load, live, endLsn);
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectError(settings.logDir().resolve(load.name() + "-" + rep + "-" + peer.slot() + ".log").toFile());
        if (peer == Peer.PG_RECVLOGICAL) {
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        }
        Process process = null;
        ProcStats.Sampler sampler = null;
        try {
            long start = ChildProtocol.nowMicros();
            process = pb.start();
            sampler = new ProcStats.Sampler(process.pid());
            Progress progress = new Progress(load.events(), live);
            if (peer == Peer.TAIL) {
                readLines(process.getInputStream(), progress);
            } else if (peer != Peer.PG_RECVLOGICAL) {
                readProtocol(process.getInputStream(), progress);
            }
            double liveRate = 0;
            if (live) {
                long deadline = System.currentTimeMillis() + 60_000;
                while (!pg.slotActive(peer.slot())) {
                    if (System.currentTimeMillis() > deadline || !process.isAlive()) {
                        return Measurement.failed(peer, load, rep, "did not start streaming within 60 s", sampler.now());
                    }
                    BenchPostgres.sleep(20);
                }
                BenchPostgres.sleep(500);
                liveRate = load.runLive(loader);
            }
            if (peer == Peer.PG_RECVLOGICAL) {
                if (!process.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
                    return Measurement.failed(peer, load, rep, "timed out after " + timeoutMs + " ms", sampler.now());
                }
                long last = ChildProtocol.nowMicros();
                ProcStats stats = sampler.now();
                if (process.exitValue() != 0) {
                    return Measurement.failed(peer, load, rep, "exited with " + process.exitValue(), stats);
                }
                return new Measurement(peer, load, rep, load.events(), start, 0, last, stats, null, 0, null);
            }
            if (!progress.await(timeoutMs)) {
                String why = progress.failure != null ? progress.failure
                        : "timed out after " + timeoutMs + " ms with " + progress.count + " of " + load.events() + " events";
                return Measurement.failed(peer, load, rep, why, sampler.now());
            }
            ProcStats stats = sampler.now();
            return new Measurement(peer, load, rep, progress.count, start, progress.first, progress.last, stats,
                    progress.latencies, liveRate, null);
        } catch (Exception e) {
            return Measurement.failed(peer, load, rep, e.toString(), sampler == null ? ProcStats.NONE : sampler.now());
        } finally {
            if (sampler != null) {
                sampler.close();
            }
            if (process != null) {
                // figures are read already: a polite stop first lets a JVM write a JFR recording (-XX:StartFlightRecording)
                process.destroy();
                try {
                    process.waitFor(3, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                try {
                    process.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private List<String> command(Peer peer, Load load, boolean live, String endLsn) {
        List<String> c = new ArrayList<>();
        String expected = Long.toString(load.events());
        switch (peer) {
            case PG_RECVLOGICAL -> {
                c.addAll(List.of(settings.pgRecvlogical(), "-d", pg.libpqConninfo(), "--slot=" + peer.slot(), "--start",
                        "--no-loop", "-o", "proto_version=" + protoVersion(), "-o", "publication_names=" + BenchPostgres.PUBLICATION,
                        "-f", "/dev/null"));
                if (endLsn != null) {
                    c.add("--endpos=" + endLsn);
                }
            }
            case TAIL -> {
                c.addAll(settings.tailCommand());
                c.addAll(List.of("tail", "--db", pg.jdbcUrl(), "--slot", peer.slot(), "--publication",
                        BenchPostgres.PUBLICATION, "--format", "tidings"));
            }
            case EMBEDDED -> {
                javaCommand(c, EmbeddedConsumer.class);
                c.addAll(List.of(pg.jdbcUrl(), peer.slot(), BenchPostgres.PUBLICATION, expected, Boolean.toString(live)));
            }
            case DEBEZIUM, DEBEZIUM_POLL10 -> {
                javaCommand(c, DebeziumConsumer.class);
                c.addAll(List.of("localhost", Integer.toString(pg.port()), BenchPostgres.DATABASE, peer.slot(),
                        BenchPostgres.PUBLICATION, expected, Boolean.toString(live)));
                if (peer == Peer.DEBEZIUM_POLL10) {
                    c.add("10");
                }
            }
        }
        return c;
    }

    private int protoVersion() {
        try {
            int major = Integer.parseInt(pg.version().split("[.\\s]")[0]);
            return major >= 16 ? 4 : major >= 15 ? 3 : major >= 14 ? 2 : 1; // what Tidings asks for
        } catch (Exception e) {
            return 1;
        }
    }

    private void javaCommand(List<String> c, Class<?> main) {
        c.add(settings.java());
        c.addAll(settings.jvmOpts());
        c.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        c.addAll(List.of("-cp", settings.classpath(), main.getName()));
    }

    /** Counts tail's JSON lines from the pipe; live, parses each line's commit_time. */
    private static void readLines(InputStream in, Progress progress) {
        Thread.ofPlatform().daemon().name("tail-reader").start(() -> {
            byte[] buf = new byte[1 << 16];
            byte[] line = new byte[1 << 16];
            int lineLen = 0;
            try (in) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    for (int i = 0; i < n; i++) {
                        byte b = buf[i];
                        if (b != '\n') {
                            if (progress.live && lineLen < line.length) {
                                line[lineLen++] = b;
                            }
                            continue;
                        }
                        progress.event(progress.live ? commitMicros(line, lineLen) : 0);
                        lineLen = 0;
                    }
                }
            } catch (IOException e) {
                // the child was killed
            }
        });
    }

    private static final byte[] COMMIT_TIME = "\"commit_time\":\"".getBytes(StandardCharsets.US_ASCII);

    static long commitMicros(byte[] line, int len) {
        outer:
        for (int i = 0; i + COMMIT_TIME.length < len; i++) {
            for (int j = 0; j < COMMIT_TIME.length; j++) {
                if (line[i + j] != COMMIT_TIME[j]) {
                    continue outer;
                }
            }
            int from = i + COMMIT_TIME.length;
            int to = from;
            while (to < len && line[to] != '"') {
                to++;
            }
            Instant t = Instant.parse(new String(line, from, to - from, StandardCharsets.US_ASCII));
            return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
        }
        throw new IllegalArgumentException("no commit_time in line: " + new String(line, 0, len, StandardCharsets.UTF_8));
    }

    private static void readProtocol(InputStream in, Progress progress) {
        Thread.ofPlatform().daemon().name("child-reader").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (!line.startsWith(ChildProtocol.PREFIX)) {
                        continue;
                    }
                    String[] f = line.substring(ChildProtocol.PREFIX.length()).split(" ", 2);
                    switch (f[0]) {
                        case "DONE" -> {
                            String[] v = f[1].split(" ");
                            progress.reported(Long.parseLong(v[0]), Long.parseLong(v[1]), Long.parseLong(v[2]));
                            if (!progress.live) {
                                progress.finish();
                            }
                        }
                        case "LATENCY" -> {
                            String[] v = f[1].split(" ");
                            progress.latencies = new long[] {Long.parseLong(v[1]), Long.parseLong(v[2]), Long.parseLong(v[3])};
                            progress.finish();
                        }
                        case "FAIL" -> progress.fail(f.length > 1 ? f[1] : "failed");
                        default -> { }
                    }
                }
                progress.fail("exited before reporting");
            } catch (IOException e) {
                progress.fail(e.toString());
            }
        });
    }

    /** What the coordinator knows of a consumer's progress; written by one reader thread. */
    private static final class Progress {
        final long expected;
        final boolean live;
        final CompletableFuture<Void> done = new CompletableFuture<>();
        volatile long count;
        volatile long first;
        volatile long last;
        volatile long[] latencies;
        volatile String failure;
        private Latencies samples;

        Progress(long expected, boolean live) {
            this.expected = expected;
            this.live = live;
        }

        /** An event seen here (tail's lines). */
        void event(long commitMicros) {
            long now = ChildProtocol.nowMicros();
            if (count == 0) {
                first = now;
                samples = new Latencies((int) expected);
            }
            if (live && count < expected) {
                samples.add(now - commitMicros);
            }
            count++;
            if (count == expected) {
                last = now;
                if (live) {
                    String[] s = samples.summary().split(" ");
                    latencies = new long[] {Long.parseLong(s[1]), Long.parseLong(s[2]), Long.parseLong(s[3])};
                }
                finish();
            }
        }

        void reported(long count, long first, long last) {
            this.count = count;
            this.first = first;
            this.last = last;
        }

        void finish() {
            done.complete(null);
        }

        void fail(String why) {
            if (!done.isDone()) {
                failure = why;
                done.complete(null);
            }
        }

        boolean await(long timeoutMs) throws InterruptedException {
            try {
                done.get(timeoutMs, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                return false;
            } catch (java.util.concurrent.ExecutionException e) {
                failure = e.getCause().toString();
                return false;
            }
            return failure == null;
        }
    }
}
