package dev.tidings.server.realtime;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A published realtime-js client run by Node from {@code src/test/js}, its stdout read line by
 * line. The npm packages are installed by {@code npm ci} from the committed lock file the first
 * time a test needs them. Closing the client closes its stdin, on which the scripts exit; a
 * client that does not is killed — no process outlives its test.
 */
public final class NodeClient implements AutoCloseable {
    public static final Path PROJECT = Path.of("src/test/js").toAbsolutePath();

    private final Process process;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> seen = new ArrayList<>();

    private NodeClient(Process process) {
        this.process = process;
        Thread.ofPlatform().daemon(true).name("node-stdout").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
    }

    static synchronized void installPackages() throws IOException, InterruptedException {
        Path installed = PROJECT.resolve("node_modules/.package-lock.json");
        Path lock = PROJECT.resolve("package-lock.json");
        if (Files.exists(installed) && Files.getLastModifiedTime(installed).compareTo(Files.getLastModifiedTime(lock)) >= 0) {
            return;
        }
        Process npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(PROJECT.toFile())
                .redirectErrorStream(true).redirectOutput(new File(PROJECT.toFile(), "npm-ci.log")).start();
        if (!npm.waitFor(5, TimeUnit.MINUTES) || npm.exitValue() != 0) {
            npm.destroyForcibly();
            throw new IllegalStateException("npm ci failed in " + PROJECT + "; see npm-ci.log there");
        }
    }

    public static NodeClient run(Map<String, String> env, String... args) throws IOException, InterruptedException {
        installPackages();
        List<String> command = new ArrayList<>();
        command.add("node");
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(PROJECT.toFile()).redirectErrorStream(true);
        pb.environment().putAll(env);
        return new NodeClient(pb.start());
    }

    /** Waits for the next line that satisfies {@code wanted}, skipping others; fails after {@code timeout}. */
    public String await(Predicate<String> wanted, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new AssertionError("no matching line from the node client within " + timeout + "; it printed: " + seen);
            }
            seen.add(line);
            if (wanted.test(line)) {
                return line;
            }
        }
    }

    public String await(String prefix) throws InterruptedException {
        return await(l -> l.startsWith(prefix), Duration.ofSeconds(20));
    }

    /** The next {@code n} lines starting with {@code prefix}, skipping others. */
    List<String> collect(String prefix, int n) throws InterruptedException {
        List<String> out = new ArrayList<>();
        while (out.size() < n) {
            out.add(await(prefix));
        }
        return out;
    }

    /** Writes one line to the script's stdin (the scripts that take commands read them there). */
    public void tell(String line) throws IOException {
        process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().flush();
    }

    /** Ends the node process at once (SIGKILL): its socket closes without a WebSocket close. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }

    public List<String> seen() {
        return seen;
    }

    @Override
    public void close() {
        try {
            process.getOutputStream().close();
            if (!process.waitFor(3, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (IOException | InterruptedException e) {
            process.destroyForcibly();
        }
    }
}
