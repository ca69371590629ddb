package dev.tidings.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class of the test classpath in a JVM of its own, so a test can give it a small heap,
 * kill it with SIGKILL or stop it with SIGTERM. Every process started is destroyed by
 * {@link #close()}: a test leaves no JVM behind, whatever happened.
 */
public final class ChildJvm implements AutoCloseable {
    private final List<Process> started = new ArrayList<>();

    /**
     * Starts {@code java [jvmOptions] -cp <this classpath> mainClass args}, stdout and stderr to files (stdout null: a
     * pipe the test reads through {@link Process#getInputStream()}).
     */
    public Process start(List<String> jvmOptions, String mainClass, List<String> args, Path stdout, Path stderr)
            throws IOException {
        return start(jvmOptions, mainClass, args, Map.of(), stdout, stderr);
    }

    /** As {@link #start(List, String, List, Path, Path)}, with {@code env} added to this process's environment. */
    public Process start(List<String> jvmOptions, String mainClass, List<String> args, Map<String, String> env, Path stdout,
                         Path stderr) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(env);
        Process p = builder
                .redirectOutput(stdout == null ? ProcessBuilder.Redirect.PIPE : ProcessBuilder.Redirect.to(stdout.toFile()))
                .redirectError(stderr == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.to(stderr.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        started.add(p);
        return p;
    }

    /** Waits for the process to exit; kills it and fails when it takes longer than {@code seconds}. */
    public static int await(Process p, long seconds) throws InterruptedException {
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("child JVM " + p.pid() + " did not exit within " + seconds + " s");
        }
        return p.exitValue();
    }

    /** SIGKILL, then waits for the process to be gone. */
    public static void kill(Process p) throws InterruptedException {
        p.destroyForcibly();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            throw new AssertionError("child JVM " + p.pid() + " survived SIGKILL");
        }
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : started) {
            if (p.isAlive()) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
