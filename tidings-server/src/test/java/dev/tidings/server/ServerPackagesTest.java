package dev.tidings.server;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.library.dependencies.SlicesRuleDefinition;
import dev.tidings.server.http.TidingsServer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server's packages by concern (see docs/architecture.md): live delivery ({@code live}) knows
 * neither the WebSocket protocol nor SSE nor HTTP; tokens and policies ({@code auth}) know no
 * transport; SSE does not use the Phoenix protocol; the sinks know no configuration or command.
 * These checks read the compiled main classes, so an import against them fails the build.
 */
@Tag("unit")
class ServerPackagesTest {
    private static final String ROOT = "dev.tidings.server";

    /** For each server package, the server packages its classes must not use. */
    private static final Map<String, Set<String>> FORBIDDEN = Map.of(
            "live", Set.of("realtime", "sse", "http", "auth", "config", "cli", "sinks", "stream", "metrics"),
            "auth", Set.of("realtime", "sse", "http", "config", "cli", "sinks", "stream", "metrics"),
            "realtime", Set.of("sse", "http", "config", "cli", "sinks", "stream", "metrics"),
            "sse", Set.of("realtime", "http", "config", "cli", "sinks", "stream", "metrics"),
            "sinks", Set.of("realtime", "sse", "http", "auth", "live", "config", "cli", "stream", "metrics"),
            "consumers", Set.of("realtime", "sse", "http", "auth", "cli", "sinks", "stream", "metrics"));

    private static final JavaClasses SERVER = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importLocations(List.of(Location.of(TidingsServer.class.getProtectionDomain().getCodeSource().getLocation())));

    @Test
    void packages_use_only_what_their_concern_needs() {
        Set<String> violations = new TreeSet<>();
        for (JavaClass c : SERVER) {
            String from = pkg(c);
            Set<String> forbidden = from == null ? null : FORBIDDEN.get(from);
            if (forbidden == null) {
                continue;
            }
            for (Dependency d : c.getDirectDependenciesFromSelf()) {
                String to = pkg(d.getTargetClass());
                if (to != null && forbidden.contains(to)) {
                    violations.add(d.getDescription());
                }
            }
        }
        assertThat(violations).as("dependencies against the server's package split").isEmpty();
    }

    @Test
    void server_packages_have_no_import_cycle() {
        SlicesRuleDefinition.slices().matching(ROOT + ".(*)..").should().beFreeOfCycles().check(SERVER);
    }

    /** The server package {@code c} is in, or null outside the server. */
    private static String pkg(JavaClass c) {
        String p = c.getPackageName();
        if (!p.startsWith(ROOT + ".")) {
            return null;
        }
        String rest = p.substring(ROOT.length() + 1);
        int dot = rest.indexOf('.');
        return dot < 0 ? rest : rest.substring(0, dot);
    }
}
