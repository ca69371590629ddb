package dev.tidings.bench.e2e;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The published realtime-js client as a browser runs it, for the REALTIME_JS loads: the script
 * {@code tidings-bench/src/main/js/realtime-clients.js} in Node, with the package pinned in that
 * folder's lock file and installed by {@code npm ci} the first time it is needed (again when the
 * lock file is newer than the installed tree). It speaks the coordinator's protocol as
 * {@link WebSocketClients} does.
 */
final class RealtimeJsClients {
    /** The pinned version (package.json and package-lock.json of the folder). */
    static final String VERSION = "2.119.1";
    /** The folder, from the repository's root (bin/bench) or from the module's (its tests). */
    static final Path PROJECT = (Files.isDirectory(Path.of("src/main/js")) ? Path.of("src/main/js")
            : Path.of("tidings-bench/src/main/js")).toAbsolutePath();

    private RealtimeJsClients() {}

    /** The command that runs {@code clients} clients against {@code socketUrl} ({@code ws://host:port/socket}). */
    static ProcessBuilder command(String socketUrl, int clients, long expected, boolean filtered)
            throws IOException, InterruptedException {
        install();
        return new ProcessBuilder(List.of("node", "realtime-clients.js", socketUrl, Integer.toString(clients),
                Long.toString(expected), filtered ? "filtered" : "all")).directory(PROJECT.toFile());
    }

    private static void install() throws IOException, InterruptedException {
        Path installed = PROJECT.resolve("node_modules/.package-lock.json");
        Path lock = PROJECT.resolve("package-lock.json");
        if (Files.exists(installed) && Files.getLastModifiedTime(installed).compareTo(Files.getLastModifiedTime(lock)) >= 0) {
            return;
        }
        Process npm;
        try {
            npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(PROJECT.toFile())
                    .redirectErrorStream(true).redirectOutput(new File(PROJECT.toFile(), "npm-ci.log")).start();
        } catch (IOException e) {
            throw new IllegalStateException("the realtime-js loads need Node 20+ and npm on the PATH (apt-get install nodejs npm): " + e);
        }
        if (!npm.waitFor(5, TimeUnit.MINUTES) || npm.exitValue() != 0) {
            npm.destroyForcibly();
            throw new IllegalStateException("npm ci failed in " + PROJECT + "; see npm-ci.log there");
        }
    }
}
