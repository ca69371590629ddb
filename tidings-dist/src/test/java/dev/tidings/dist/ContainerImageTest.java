package dev.tidings.dist;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.realtime.NodeClient;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.File;
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

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The OCI image archive as an operator runs it: loaded into podman (no registry, no daemon) and
 * started with the environment of the Supabase Realtime image's {@code docker run} walkthrough,
 * against a real PostgreSQL with logical replication; the walkthrough's realtime-js 0.9.0 client
 * receives the changes. The container shares the host's network so it reaches the embedded
 * PostgreSQL on 127.0.0.1; it is removed after the test, and so is the loaded image.
 *
 * <p>Where podman runs inside a sandbox (as on the CI machines: no right to raise resource limits,
 * a hybrid cgroup v1/v2 layout crun refuses), the container gets this process's own open-file and
 * process limits, and runc when it is installed; neither changes what the image is.
 */
@Timeout(300)
@Tag("postgres")
@Tag("process")
@Tag("slow")
class ContainerImageTest {
    private static final Path IMAGE = Path.of(System.getProperty("tidings.dist.image"));
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String CONTAINER = "tidings-image-test-" + ProcessHandle.current().pid();
    private static String imageId;
    /** The health command documented in docs/operations.md: the image has no shell or curl. */
    private static final String HEALTH_CMD =
            "[\"/opt/tidings/runtime/bin/java\", \"-cp\", \"/app/classes\", \"dev.tidings.dist.HealthCheck\"]";

    @BeforeAll
    static void loadImage() throws Exception {
        assertThat(onPath("podman")).as("podman is needed to run the image: apt-get install podman").isTrue();
        String loaded = podman("load", "--quiet", "--input", IMAGE.toString());
        // "Loaded image: localhost/tidings:VERSION" (or the image id, for an untagged archive)
        String name = loaded.strip().substring(loaded.strip().lastIndexOf(' ') + 1);
        imageId = podman("image", "inspect", "--format", "{{.Id}}", name).strip();
    }

    @AfterAll
    static void removeImage() throws Exception {
        if (imageId != null) {
            exec(List.of("podman", "rmi", "--force", imageId));
        }
    }

    @Test
    void the_image_runs_serve_as_a_non_root_user_on_port_4000_by_default() throws Exception {
        JsonNode config = JSON.readTree(podman("image", "inspect", imageId)).get(0).get("Config");
        assertThat(config.get("User").asText()).isEqualTo("10001:10001");
        assertThat(config.get("Cmd").toString()).isEqualTo("[\"serve\"]");
        assertThat(config.get("Entrypoint").get(0).asText()).isEqualTo("/opt/tidings/runtime/bin/java");
        assertThat(config.get("ExposedPorts").has("4000/tcp")).isTrue();
        List<String> version = new ArrayList<>(List.of("run", "--rm", "--network", "none"));
        version.addAll(sandboxOptions());
        version.addAll(List.of(imageId, "--version"));
        assertThat(podman(version.toArray(String[]::new)).strip()).isEqualTo("tidings " + System.getProperty("tidings.dist.version"));
    }

    @Test
    void the_realtime_walkthrough_environment_streams_changes_to_a_realtime_js_0_9_client() throws Exception {
        String jdbcUrl = TestPostgres.newDatabase();
        String database = jdbcUrl.substring(jdbcUrl.lastIndexOf('/') + 1, jdbcUrl.indexOf('?'));
        TestPostgres.execute(jdbcUrl,
                "CREATE TABLE todos (id bigint PRIMARY KEY, title text, done boolean NOT NULL DEFAULT false)",
                "CREATE TABLE notes (id serial PRIMARY KEY, body text)");
        int port = freePort();
        Path log = Files.createTempFile("tidings-container", ".log");
        List<String> run = new ArrayList<>(List.of("podman", "run", "--rm", "--name", CONTAINER, "--network", "host",
                "--health-cmd", HEALTH_CMD,
                "-e", "DB_HOST=127.0.0.1", "-e", "DB_NAME=" + database, "-e", "DB_USER=postgres", "-e", "DB_PASSWORD=postgres",
                "-e", "DB_PORT=" + TestPostgres.port(), "-e", "PORT=" + port, "-e", "HOSTNAME=localhost",
                "-e", "SECRET_KEY_BASE=SOMETHING_SUPER_SECRET_LONGER_THAN_SIXTY_FOUR_CHARACTERS_FOR_PHOENIX_0123"));
        run.addAll(sandboxOptions());
        run.add(imageId);
        Process container = new ProcessBuilder(run).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            String base = "http://127.0.0.1:" + port;
            awaitStatus(base + "/ready", container, log);
            assertThat(get(base + "/health").statusCode()).isEqualTo(200);
            assertThat(exitCode(List.of("podman", "healthcheck", "run", CONTAINER))).as("the image's health command").isZero();
            assertThat(podman("top", CONTAINER, "user", "comm").lines().skip(1).toList()).as("the container's processes")
                    .isNotEmpty().allMatch(line -> line.startsWith("tidings "));

            try (NodeClient walkthrough = NodeClient.run(Map.of("REALTIME_URL", base + "/socket"), "run-walkthrough.js")) {
                walkthrough.await("SchemaListener connected");
                TestPostgres.execute(jdbcUrl, "INSERT INTO todos (id, title) VALUES (1, 'buy milk')",
                        "UPDATE todos SET done = true WHERE id = 1",
                        "INSERT INTO notes (body) VALUES ('hello')");
                List<JsonNode> records = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    records.add(JSON.readTree(walkthrough.await("DATA UPDATE").substring("DATA UPDATE ".length())));
                }
                assertThat(records.get(0).get("title").asText()).isEqualTo("buy milk");
                assertThat(records.get(1).get("done").asBoolean()).isTrue();
                assertThat(records.get(2).get("body").asText()).isEqualTo("hello");
            }
        } finally {
            exec(List.of("podman", "rm", "--force", "--time", "10", CONTAINER));
            container.waitFor(30, TimeUnit.SECONDS);
            container.destroyForcibly();
        }
        assertThat(Files.readString(log)).contains("tidings serve: listening on 0.0.0.0:" + port).doesNotContain("Exception");
        Files.delete(log);
    }

    private static void awaitStatus(String url, Process container, Path log) {
        Await.until(Duration.ofSeconds(120), () -> url + " answering 200; the container's output:\n" + read(log), () -> {
            assertThat(container.isAlive()).as("the container exited:\n" + read(log)).isTrue();
            try {
                return get(url).statusCode() == 200;
            } catch (java.io.IOException notYet) {
                return false; // not listening yet
            }
        });
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (java.io.IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /**
     * podman's options for a sandbox: the open-file limit this process has, a process limit of
     * 4096 (lowering is always allowed; keeping the sandbox's own value was refused), and runc
     * where installed.
     */
    private static List<String> sandboxOptions() throws Exception {
        List<String> options = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            String[] f = line.trim().split("\\s{2,}");
            if (f[0].equals("Max open files")) {
                options.addAll(List.of("--ulimit", "nofile=" + limit(f[1]) + ":" + limit(f[2])));
            }
        }
        options.addAll(List.of("--ulimit", "nproc=4096:4096"));
        if (onPath("runc")) {
            options.addAll(0, List.of("--runtime", "runc"));
        }
        return options;
    }

    private static String limit(String value) {
        return value.equals("unlimited") ? "1048576" : value;
    }

    private static int exitCode(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }

    private static String podman(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("podman"));
        command.addAll(List.of(args));
        return exec(command);
    }

    private static String exec(List<String> command) throws Exception {
        return ReleaseArchiveTest.run(Path.of("."), command, Map.of());
    }
}
