package dev.tidings.dist;

import dev.tidings.testing.Await;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipFile;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The release archive as a user gets it: unpacked with {@code tar}, run with a {@code PATH} that
 * holds every command of this machine except those of its JDKs, and a {@code JAVA_HOME} with no
 * Java, so everything Java comes from the runtime inside the archive.
 */
@Timeout(360)
@Tag("postgres")
@Tag("process")
@Tag("slow")
class ReleaseArchiveTest {
    private static final Path ARCHIVE = Path.of(System.getProperty("tidings.dist.archive"));
    private static final String VERSION = System.getProperty("tidings.dist.version");
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void the_unpacked_release_prints_the_project_version_and_runs_the_demo_without_a_jdk(@TempDir Path dir) throws Exception {
        run(dir, List.of("tar", "xzf", ARCHIVE.toString()), Map.of());
        Path home = dir.resolve("tidings-" + VERSION);
        Path tidings = home.resolve("bin/tidings");
        Path noJava = commandsWithoutJava(dir.resolve("no-java/bin"));
        Map<String, String> env = Map.of("PATH", noJava.toString(), "JAVA_HOME", noJava.getParent().toString());
        assertThat(noJava.resolve("sh")).exists();
        assertThat(noJava.resolve("java")).doesNotExist();

        assertThat(run(dir, List.of(tidings.toString(), "--version"), env)).isEqualTo("tidings " + VERSION + "\n");

        Path out = dir.resolve("demo.out");
        Path err = dir.resolve("demo.err");
        ProcessBuilder pb = new ProcessBuilder(tidings.toString(), "demo", "--port", "0", "--rate", "20")
                .directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        Process demo = pb.start(); // bin/tidings execs the JVM: this is its pid
        try {
            String banner = Await.value(Duration.ofSeconds(180), "the demo's banner on stderr", () -> {
                assertThat(demo.isAlive()).as("the demo exited:\n" + Files.readString(err)).isTrue();
                return Files.readString(err);
            }, text -> text.contains("The sample app"));
            Matcher console = Pattern.compile("console +http://localhost:(\\d+)/").matcher(banner);
            assertThat(console.find()).as(banner).isTrue();
            Await.until(Duration.ofSeconds(60), "five demo events on stdout",
                    () -> Files.readAllLines(out).stream().filter(l -> l.contains("\"schema\":\"public\"")).count() >= 5);
            String status = HTTP.send(HttpRequest.newBuilder(URI.create("http://localhost:" + console.group(1) + "/api/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(status).contains("\"version\":\"" + VERSION + "\"").contains("\"streaming\":true");
            assertThat(demo.info().command().orElse("")).startsWith(home.resolve("runtime/bin/java").toString());
        } finally {
            demo.destroy();
            if (!demo.waitFor(60, TimeUnit.SECONDS)) {
                demo.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        assertThat(Files.readString(err)).doesNotContain("Exception");
    }

    @Test
    void the_zip_holds_what_the_tarball_holds_and_the_checksums_match(@TempDir Path dir) throws Exception {
        List<String> tarEntries = run(dir, List.of("tar", "tzf", ARCHIVE.toString()), Map.of()).lines()
                .filter(e -> !e.endsWith("/")).sorted().toList();
        Path zip = ARCHIVE.resolveSibling("tidings-" + VERSION + ".zip");
        List<String> zipEntries = new ArrayList<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            z.stream().filter(e -> !e.isDirectory()).forEach(e -> zipEntries.add(e.getName()));
        }
        assertThat(zipEntries.stream().sorted().toList()).isEqualTo(tarEntries);
        assertThat(tarEntries).contains("tidings-" + VERSION + "/bin/tidings", "tidings-" + VERSION + "/lib/tidings-server-" + VERSION + ".jar",
                "tidings-" + VERSION + "/runtime/bin/java", "tidings-" + VERSION + "/runtime/lib/modules");

        String sums = run(ARCHIVE.getParent(), List.of("sha256sum", "-c", ARCHIVE.getFileName() + ".sha256", zip.getFileName() + ".sha256",
                "tidings-image.tar.sha256"), Map.of());
        assertThat(sums).isEqualTo(ARCHIVE.getFileName() + ": OK\n" + zip.getFileName() + ": OK\ntidings-image.tar: OK\n");
    }

    /** A directory of links to the commands in /usr/bin and /bin, less those that lead into a JDK. */
    private static Path commandsWithoutJava(Path bin) throws IOException {
        Files.createDirectories(bin);
        for (String dir : List.of("/usr/bin", "/bin")) {
            try (var commands = Files.list(Path.of(dir))) {
                for (Path command : commands.toList()) {
                    Path link = bin.resolve(command.getFileName().toString());
                    if (Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS) || !Files.isExecutable(command)) {
                        continue;
                    }
                    if (!command.toRealPath().startsWith("/usr/lib/jvm") && !command.getFileName().toString().startsWith("java")) {
                        Files.createSymbolicLink(link, command);
                    }
                }
            }
        }
        return bin;
    }

    /** Runs a command to its end and returns its stdout; fails with its output when it fails. */
    static String run(Path dir, List<String> command, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(false);
        if (!env.isEmpty()) {
            pb.environment().clear();
            pb.environment().putAll(env);
        }
        Path err = Files.createTempFile("tidings-dist", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        String error = Files.readString(err);
        Files.delete(err);
        assertThat(p.exitValue()).as(command + " failed:\n" + out + error).isZero();
        return out;
    }
}
