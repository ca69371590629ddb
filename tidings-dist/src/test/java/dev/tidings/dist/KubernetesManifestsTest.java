package dev.tidings.dist;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * deploy/kubernetes checked by deploy/kubernetes/check (the Kubernetes API's JSON schemas through
 * kubernetes-models, and the references between the manifests), and that check shown to catch
 * what it claims to on a broken copy.
 */
@Timeout(300)
@Tag("process")
class KubernetesManifestsTest {
    private static final Path MANIFESTS = Path.of(System.getProperty("tidings.dist.manifests")).toAbsolutePath().normalize();
    private static final Path CHECK = MANIFESTS.resolve("check");

    @BeforeAll
    static void installChecker() throws Exception {
        Path installed = CHECK.resolve("node_modules/.package-lock.json");
        if (Files.exists(installed) && Files.getLastModifiedTime(installed).compareTo(Files.getLastModifiedTime(CHECK.resolve("package-lock.json"))) >= 0) {
            return;
        }
        Process npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(CHECK.toFile())
                .redirectErrorStream(true).redirectOutput(new File(CHECK.toFile(), "npm-ci.log")).start();
        assertThat(npm.waitFor(4, TimeUnit.MINUTES) && npm.exitValue() == 0).as("npm ci in " + CHECK + "; see npm-ci.log there").isTrue();
    }

    @Test
    void the_manifests_pass_the_schema_and_reference_checks() throws Exception {
        Result r = check(MANIFESTS);
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).isEqualTo("3 manifests in " + MANIFESTS + ": OK\n");
    }

    @Test
    void the_deployment_runs_the_image_this_build_makes() throws Exception {
        assertThat(Files.readString(MANIFESTS.resolve("deployment.yaml")))
                .contains("          image: tidings:" + System.getProperty("tidings.dist.version") + "\n");
    }

    @Test
    void a_wrongly_typed_field_a_probe_on_no_port_and_a_service_that_selects_nothing_are_reported(@TempDir Path dir) throws Exception {
        for (String file : List.of("deployment.yaml", "service.yaml", "secret.example.yaml", "kustomization.yaml")) {
            Files.copy(MANIFESTS.resolve(file), dir.resolve(file));
        }
        edit(dir.resolve("deployment.yaml"), "  replicas: 2\n", "  replicas: two\n");
        edit(dir.resolve("deployment.yaml"), "              path: /ready\n              port: http\n", "              path: /ready\n              port: metrics\n");
        edit(dir.resolve("service.yaml"), "  selector:\n    app.kubernetes.io/name: tidings\n", "  selector:\n    app.kubernetes.io/name: tiding\n");

        Result r = check(dir);
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.output()).contains("deployment.yaml: Deployment tidings: data/spec/replicas must be integer")
                .contains("deployment.yaml: readinessProbe port metrics is not a port of container tidings")
                .contains("service.yaml: Service tidings selects {\"app.kubernetes.io/name\":\"tiding\"}, not the pods of deployment.yaml")
                .endsWith("3 problem(s) in " + dir + "\n");
    }

    private static void edit(Path file, String from, String to) throws Exception {
        String text = Files.readString(file);
        assertThat(text).contains(from);
        Files.writeString(file, text.replace(from, to));
    }

    private record Result(int exit, String output) {}

    private static Result check(Path dir) throws Exception {
        Process node = new ProcessBuilder("node", CHECK.resolve("check.js").toString(), dir.toString()).redirectErrorStream(true).start();
        String out = new String(node.getInputStream().readAllBytes());
        assertThat(node.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(node.exitValue(), out);
    }
}
