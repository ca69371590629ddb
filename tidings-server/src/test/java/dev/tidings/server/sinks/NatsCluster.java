package dev.tidings.server.sinks;

import dev.tidings.testing.Await;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A three-server NATS JetStream cluster on loopback ports with its files in a temporary
 * directory, each server a process of its own, killed on {@link #close()}.
 */
final class NatsCluster implements AutoCloseable {
    private static final String BINARY = "/usr/sbin/nats-server";
    private final List<Process> servers = new ArrayList<>();
    private final List<String> urls = new ArrayList<>();

    NatsCluster(Path dir) throws IOException {
        Files.createDirectories(dir);
        int[] client = {ServeProcess.freePort(), ServeProcess.freePort(), ServeProcess.freePort()};
        int[] route = {ServeProcess.freePort(), ServeProcess.freePort(), ServeProcess.freePort()};
        try {
            for (int i = 0; i < 3; i++) {
                StringBuilder routes = new StringBuilder();
                for (int j = 0; j < 3; j++) {
                    if (j != i) {
                        routes.append(routes.isEmpty() ? "" : ", ").append("nats-route://127.0.0.1:").append(route[j]);
                    }
                }
                Path conf = dir.resolve("n" + i + ".conf");
                Files.writeString(conf, """
                        listen: 127.0.0.1:%d
                        server_name: n%d
                        jetstream { store_dir: "%s", max_memory_store: 64MB, max_file_store: 512MB }
                        cluster { name: edges, listen: 127.0.0.1:%d, routes: [%s] }
                        """.formatted(client[i], i, dir.resolve("n" + i), route[i], routes));
                servers.add(new ProcessBuilder(BINARY, "-c", conf.toString()).redirectErrorStream(true)
                        .redirectOutput(dir.resolve("n" + i + ".log").toFile()).start());
                urls.add("nats://127.0.0.1:" + client[i]);
            }
            for (int i = 0; i < 3; i++) {
                int port = client[i];
                Process server = servers.get(i);
                Await.until(Duration.ofSeconds(30), () -> "nats-server on port " + port + " to listen; see " + dir,
                        () -> !server.isAlive() || listening(port));
                if (!server.isAlive()) {
                    throw new IOException("nats-server exited; see " + dir.resolve("n" + i + ".log"));
                }
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private static boolean listening(int port) {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    List<String> urls() {
        return urls;
    }

    /** Waits until the cluster has elected its JetStream meta leader. */
    JetStreamManagement awaitJetStream(Connection connection) throws Exception {
        JetStreamManagement jsm = connection.jetStreamManagement();
        Await.until(Duration.ofSeconds(30), "the JetStream cluster to elect a meta leader", () -> {
            try {
                jsm.getAccountStatistics();
                return true;
            } catch (Exception e) {
                return false;
            }
        });
        return jsm;
    }

    @Override
    public void close() {
        for (Process p : servers) {
            p.destroyForcibly();
        }
        for (Process p : servers) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
