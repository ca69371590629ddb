package dev.tidings.bench.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The fan-out cases (loads f, g, j to l with filters, m and n through an edge node) and the broadcast cases (h and i): {@code tidings serve}
 * launched as a user launches it (the same launcher as tail, so {@code bin/tidings} with its
 * defaults), and {@link WebSocketClients} in a JVM of its own. Once every client has joined, the
 * paced load runs — database changes, whose commit → receive the clients measure, or the clients'
 * own broadcasts, whose send → receive they measure. Peak RSS and CPU are those of the server.
 * For an EDGE load the clients connect to an edge node that reads the leader's NATS sink through
 * a JetStream stream on the local NATS server ({@link EdgeStream}); RSS and CPU are the edge's.
 * The clients are {@link WebSocketClients} (WebSocket or SSE) or, for the realtime-js loads (q, r),
 * {@link RealtimeJsClients} in Node; the CPU of their process is measured beside the server's. For
 * an IDLE load (v) nothing is written: the joined clients only send heartbeats for the load's
 * seconds, and the server's and the clients' CPU over that time is the figure.
 */
final class FanOutRun {
    private final ConsumerRun.Settings settings;
    private final BenchPostgres pg;

    FanOutRun(ConsumerRun.Settings settings, BenchPostgres pg) {
        this.settings = settings;
        this.pg = pg;
    }

    Measurement run(Load load, int rep, Connection loader) {
        Peer peer = Peer.SERVE;
        String log = load.name() + "-" + rep + "-" + peer.slot();
        Process server = null;
        Process edge = null;
        Process clients = null;
        ProcStats.Sampler sampler = null;
        ProcStats.Sampler clientSampler = null;
        EdgeStream stream = null;
        try {
            int port = freePort();
            List<String> serve = new ArrayList<>(settings.tailCommand());
            serve.addAll(List.of("serve", "--db", pg.jdbcUrl(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
                    "--slot", peer.slot(), "--publication", BenchPostgres.PUBLICATION));
            if (load.kind() == Load.Kind.EDGE) {
                stream = new EdgeStream("bench_" + log.replaceAll("[^A-Za-z0-9]", "_"));
                serve.addAll(List.of("--config", stream.leaderConfig(settings.logDir().resolve(log + "-leader.yaml")).toString()));
            }
            long start = ChildProtocol.nowMicros();
            server = new ProcessBuilder(serve).redirectErrorStream(true)
                    .redirectOutput(settings.logDir().resolve(log + ".log").toFile()).start();
            sampler = new ProcStats.Sampler(server.pid());
            long deadline = System.currentTimeMillis() + 60_000;
            // streaming starts before the HTTP port is bound: wait for both
            while (!pg.slotActive(peer.slot()) || !listening(port)) {
                if (System.currentTimeMillis() > deadline || !server.isAlive()) {
                    return Measurement.failed(peer, load, rep, "serve did not start streaming within 60 s", sampler.now());
                }
                BenchPostgres.sleep(20);
            }
            if (stream != null) {
                // the clients connect to the edge, whose RSS and CPU are the ones measured
                port = freePort();
                List<String> serveEdge = new ArrayList<>(settings.tailCommand());
                serveEdge.addAll(List.of("serve", "--from", stream.url(), "--port", Integer.toString(port), "--bind", "127.0.0.1"));
                edge = new ProcessBuilder(serveEdge).redirectErrorStream(true)
                        .redirectOutput(settings.logDir().resolve(log + "-edge.log").toFile()).start();
                sampler.close();
                sampler = new ProcStats.Sampler(edge.pid());
                while (!listening(port)) {
                    if (System.currentTimeMillis() > deadline || !edge.isAlive()) {
                        return Measurement.failed(peer, load, rep, "the edge node did not start within 60 s", sampler.now());
                    }
                    BenchPostgres.sleep(20);
                }
            }
            boolean filtered = load.kind() == Load.Kind.FILTERED;
            boolean idle = load.kind() == Load.Kind.IDLE;
            long heapBefore = filtered || idle ? liveHeap(server.pid()) : 0;
            boolean broadcast = load.kind() == Load.Kind.BROADCAST;
            String clientsLog = log + "-" + load.via().name().toLowerCase(java.util.Locale.ROOT) + "-clients.log";
            long launched = System.nanoTime();
            clients = clients(load, port).redirectError(settings.logDir().resolve(clientsLog).toFile()).start();
            clientSampler = new ProcStats.Sampler(clients.pid());
            CompletableFuture<Void> ready = new CompletableFuture<>();
            CompletableFuture<long[]> result = new CompletableFuture<>();
            CompletableFuture<Double> sent = new CompletableFuture<>();
            read(clients, ready, result, sent);
            try {
                ready.get(120, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                return Measurement.failed(peer, load, rep, "the clients did not all join within 120 s (see " + clientsLog
                        + ")", sampler.now());
            }
            long joinMillis = (System.nanoTime() - launched) / 1_000_000;
            System.err.printf("load %s rep %d: %,d %s started, connected and joined in %.2f s%n", load.name(), rep,
                    load.clients(), load.via().label, joinMillis / 1e3);
            BenchPostgres.sleep(500);
            if (filtered || idle) {
                long heap = liveHeap(server.pid()) - heapBefore;
                System.err.printf("load %s rep %d: live heap of serve after %,d clients joined: +%,d KB, %,d bytes per"
                        + " connection%n", load.name(), rep, load.clients(), heap / 1024, heap / load.clients());
            }
            double rate;
            long serverCpu = -1;
            long clientCpu = -1;
            if (broadcast) {
                clients.getOutputStream().write("send\n".getBytes(StandardCharsets.US_ASCII));
                clients.getOutputStream().flush();
                rate = sent.get((long) load.events() / load.txPerSecond() + 60, TimeUnit.SECONDS);
            } else {
                long serverBefore = sampler.now().cpuMillis();
                long clientBefore = clientSampler.now().cpuMillis();
                if (idle) {
                    BenchPostgres.sleep(load.events() * 1_000L);
                    rate = 0;
                } else {
                    rate = load.runLive(loader);
                    BenchPostgres.sleep(1_000); // the last changes reach the clients
                }
                serverCpu = sampler.now().cpuMillis() - serverBefore;
                clientCpu = clientSampler.now().cpuMillis() - clientBefore;
                if (idle) {
                    System.err.printf("load %s rep %d: over %d s idle, serve used %.2f s of CPU (%.1f %% of a core), the"
                            + " clients %.2f s (%.1f %%)%n", load.name(), rep, load.events(), serverCpu / 1e3,
                            serverCpu / 10.0 / load.events(), clientCpu / 1e3, clientCpu / 10.0 / load.events());
                    clients.getOutputStream().write("report\n".getBytes(StandardCharsets.US_ASCII));
                    clients.getOutputStream().flush();
                } else {
                    System.err.printf("load %s rep %d: serve used %.2f s of CPU during the load, %.1f µs per change; the"
                            + " clients %.2f s%n", load.name(), rep, serverCpu / 1e3, serverCpu * 1e3 / load.events(),
                            clientCpu / 1e3);
                }
            }
            long[] r;
            try {
                r = result.get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                // not every client got every change in time: take the figures as they are
                clients.getOutputStream().write("report\n".getBytes(StandardCharsets.US_ASCII));
                clients.getOutputStream().flush();
                r = result.get(30, TimeUnit.SECONDS);
            }
            ProcStats stats = sampler.now();
            ProcStats clientStats = clientSampler.now();
            // r: deliveries first last clients deliveries disconnected p50 p95 p99 max
            long[] lat = {r[6], r[8], r[9], r[7], r[4], r[5], r[3]};
            return new Measurement(peer, load, rep, r[0], start, r[1], r[2], stats, lat, rate, null,
                    new Measurement.Served(joinMillis, serverCpu, clientCpu, clientStats.peakRssKb()));
        } catch (java.util.concurrent.ExecutionException e) {
            return Measurement.failed(peer, load, rep, e.getCause().getMessage(), sampler == null ? ProcStats.NONE : sampler.now());
        } catch (java.util.concurrent.TimeoutException e) {
            return Measurement.failed(peer, load, rep, "timed out (see the clients' log in " + settings.logDir() + ")",
                    sampler == null ? ProcStats.NONE : sampler.now());
        } catch (Exception e) {
            return Measurement.failed(peer, load, rep, e.toString(), sampler == null ? ProcStats.NONE : sampler.now());
        } finally {
            if (sampler != null) {
                sampler.close();
            }
            if (clientSampler != null) {
                clientSampler.close();
            }
            stop(clients);
            stop(edge);
            stop(server);
            if (stream != null) {
                stream.close();
            }
        }
    }

    /** The clients' process for {@code load}, against the server on {@code port}. */
    private ProcessBuilder clients(Load load, int port) throws IOException, InterruptedException {
        boolean broadcast = load.kind() == Load.Kind.BROADCAST;
        boolean oneRowEach = load.kind() == Load.Kind.FILTERED || load.kind() == Load.Kind.IDLE;
        if (load.via() == Load.Via.REALTIME_JS) {
            if (broadcast || load.kind() == Load.Kind.IDLE) {
                throw new IllegalArgumentException("load " + load.name() + ": realtime-js clients run FANOUT and FILTERED loads only");
            }
            return RealtimeJsClients.command("ws://127.0.0.1:" + port + "/socket", load.clients(), load.events(), oneRowEach);
        }
        String url = load.via() == Load.Via.SSE ? "http://127.0.0.1:" + port + "/events?tables=public.bench&format=supabase"
                : "ws://127.0.0.1:" + port + "/socket/websocket?vsn=1.0.0";
        List<String> c = new ArrayList<>(List.of(settings.java(), "-Xmx1g", "-cp", settings.classpath(),
                WebSocketClients.class.getName(), url, Integer.toString(load.clients()),
                Long.toString(broadcast ? load.expectedDeliveries() / load.clients() : load.events())));
        if (load.via() == Load.Via.SSE) {
            c.add("sse");
        } else if (load.kind() == Load.Kind.IDLE) {
            c.add("idle");
        } else if (oneRowEach) {
            c.add("filtered");
        }
        if (broadcast) {
            c.addAll(List.of(Integer.toString(load.txSize()), Integer.toString(load.events()),
                    Integer.toString(load.txPerSecond())));
        }
        return new ProcessBuilder(c);
    }

    private static void read(Process clients, CompletableFuture<Void> ready, CompletableFuture<long[]> result,
                             CompletableFuture<Double> sent) {
        Thread.ofPlatform().daemon().name("clients-reader").start(() -> {
            long[] done = null;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(clients.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (!line.startsWith(ChildProtocol.PREFIX)) {
                        continue;
                    }
                    String[] f = line.substring(ChildProtocol.PREFIX.length()).split(" ");
                    switch (f[0]) {
                        case "READY" -> ready.complete(null);
                        case "SENT" -> sent.complete(Double.parseDouble(f[1]));
                        case "DONE" -> done = new long[] {Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3])};
                        case "FANOUT" -> {
                            long[] all = new long[10];
                            System.arraycopy(done, 0, all, 0, 3);
                            for (int i = 1; i <= 7; i++) {
                                all[2 + i] = Long.parseLong(f[i]);
                            }
                            result.complete(all);
                        }
                        case "FAIL" -> {
                            IllegalStateException e = new IllegalStateException(line.substring(8));
                            ready.completeExceptionally(e);
                            result.completeExceptionally(e);
                            sent.completeExceptionally(e);
                        }
                        default -> { }
                    }
                }
            } catch (IOException e) {
                // killed
            }
            IllegalStateException gone = new IllegalStateException("the WebSocket clients exited before reporting");
            ready.completeExceptionally(gone);
            result.completeExceptionally(gone);
            sent.completeExceptionally(gone);
        });
    }

    /**
     * The live objects of the JVM {@code pid} in bytes, from the total of {@code jcmd GC.class_histogram}
     * (which collects first, so garbage does not count); 0 when jcmd cannot tell.
     */
    private long liveHeap(long pid) throws IOException, InterruptedException {
        String jcmd = java.nio.file.Path.of(settings.java()).resolveSibling("jcmd").toString();
        Process p = new ProcessBuilder(jcmd, Long.toString(pid), "GC.class_histogram").redirectErrorStream(true).start();
        String total = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("Total")) {
                    total = line;
                }
            }
        }
        p.waitFor(30, TimeUnit.SECONDS);
        String[] f = total == null ? new String[0] : total.trim().split("\\s+");
        return f.length == 3 ? Long.parseLong(f[2]) : 0;
    }

    private static boolean listening(int port) {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void stop(Process p) {
        if (p == null) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(3, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
