package dev.tidings.server.sinks;

import dev.tidings.testing.Await;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** {@code tidings serve} in a JVM of its own, to be killed or stopped like a real process. */
public final class ServeProcess implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    final Process process;
    public final int port;
    final Path log;

    public ServeProcess(Path yaml, int port, Path log, Map<String, String> env, String... flags) throws IOException {
        this.port = port;
        this.log = log;
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), "dev.tidings.server.cli.Main", "serve",
                "--config", yaml.toString(), "--port", String.valueOf(port), "--bind", "127.0.0.1"));
        cmd.addAll(List.of(flags));
        ProcessBuilder b = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        b.environment().keySet().removeIf(k -> k.startsWith("TIDINGS_") || k.startsWith("DB_") || k.equals("PORT")
                || k.equals("DATABASE_URL") || k.equals("JWT_SECRET") || k.equals("SLOT_NAME") || k.equals("LOG_FORMAT"));
        b.environment().putAll(env);
        process = b.start();
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** GET {@code path}: status and body; status -1 when nothing answers. */
    HttpResponse<String> get(String path, String... headers) {
        try {
            HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(5));
            if (headers.length > 0) {
                r.headers(headers);
            }
            return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }

    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    /** Waits until {@code /ready} answers 200. */
    public void awaitReady(Duration timeout) throws Exception {
        Await.until(timeout, () -> "serve to be ready; log:\n" + tail(), () -> {
            HttpResponse<String> r = get("/ready");
            return (r != null && r.statusCode() == 200) || !process.isAlive();
        });
        if (!process.isAlive()) {
            throw new AssertionError("serve exited (" + process.exitValue() + ") before it was ready; log:\n" + tail());
        }
    }

    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM and the exit code (-1 if it did not exit within {@code seconds}). */
    int terminate(long seconds) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
            return -1;
        }
        return process.exitValue();
    }

    String tail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
