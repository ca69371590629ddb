package dev.tidings.server.sinks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code tidings sinks} in a JVM of its own, to be killed like a real process. */
final class Child implements AutoCloseable {
    final Process process;
    private final CountDownLatch streaming = new CountDownLatch(1);

    Child(String jdbcUrl, String slot, Path config, Path log) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), "dev.tidings.server.cli.Main", "sinks",
                "--db", jdbcUrl, "--slot", slot, "--publication", slot, "--config", config.toString()));
        process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        Thread.ofPlatform().daemon(true).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.equals("streaming")) {
                        streaming.countDown();
                    }
                }
            } catch (IOException ignored) {
                // the process died
            }
        });
    }

    static Path config(Path dir, String json) throws IOException {
        Path file = Files.createTempFile(dir, "sinks", ".json");
        Files.writeString(file, json);
        return file;
    }

    boolean awaitStreaming(long seconds) throws InterruptedException {
        return streaming.await(seconds, TimeUnit.SECONDS);
    }

    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM: the runner stops gracefully, confirming what was delivered. */
    int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
        return process.exitValue();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
