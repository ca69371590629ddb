package dev.tidings;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.library.dependencies.SlicesRuleDefinition;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The core is layered along the data path (see docs/architecture.md, "Packages"): value types at
 * the bottom, then decoding and events, then delivery; the replication connection ({@code source})
 * and the database diagnosis ({@code check}) stand beside them on {@code base} only. These checks
 * read the compiled main classes, so an import that breaks the layering fails the build.
 */
@Tag("unit")
class PackageLayeringTest {
    private static final String ROOT = "dev.tidings";

    /** For each core package, the other core packages its classes may use. The embedded API (root) may use all. */
    private static final Map<String, Set<String>> ALLOWED = Map.of(
            "base", Set.of(),
            "value", Set.of("base"),
            "event", Set.of("base", "value"),
            "pgoutput", Set.of("base"),
            "decode", Set.of("base", "value", "event", "pgoutput"),
            "sink", Set.of("base", "value", "event"),
            "source", Set.of("base"),
            "check", Set.of("base"),
            "pipeline", Set.of("base", "value", "event", "pgoutput", "decode", "sink", "source"),
            "backfill", Set.of("base", "value", "event", "decode", "pipeline", "source"));

    /** The compiled main classes of this module (a directory in the build, the jar elsewhere). */
    private static final JavaClasses CORE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importLocations(List.of(Location.of(Tidings.class.getProtectionDomain().getCodeSource().getLocation())));

    @Test
    void every_core_package_uses_only_the_layers_below_it() {
        Set<String> violations = new TreeSet<>();
        for (JavaClass c : CORE) {
            String from = layer(c);
            if (from == null || from.isEmpty()) {
                continue; // the embedded API
            }
            assertThat(ALLOWED).as("a layer is declared for package %s", c.getPackageName()).containsKey(from);
            for (Dependency d : c.getDirectDependenciesFromSelf()) {
                String to = layer(d.getTargetClass());
                if (to != null && !to.equals(from) && !ALLOWED.get(from).contains(to)) {
                    violations.add(d.getDescription());
                }
            }
        }
        assertThat(violations).as("dependencies against the layering").isEmpty();
    }

    @Test
    void core_packages_have_no_import_cycle() {
        SlicesRuleDefinition.slices().matching(ROOT + ".(*)..").should().beFreeOfCycles().check(CORE);
    }

    @Test
    void values_events_wire_messages_and_sinks_do_not_talk_to_the_database() {
        Set<String> violations = new TreeSet<>();
        for (JavaClass c : CORE) {
            if (Set.of("base", "event", "pgoutput", "sink").contains(layer(c))) {
                c.getDirectDependenciesFromSelf().stream()
                        .filter(d -> d.getTargetClass().getPackageName().startsWith("java.sql")
                                || d.getTargetClass().getPackageName().startsWith("org.postgresql"))
                        .forEach(d -> violations.add(d.getDescription()));
            }
        }
        assertThat(violations).as("JDBC used outside source, check and the catalog look-ups").isEmpty();
    }

    /** The core package {@code c} is in ("" for the root), or null when it is not a core class. */
    private static String layer(JavaClass c) {
        String p = c.getPackageName();
        if (p.equals(ROOT)) {
            return "";
        }
        if (!p.startsWith(ROOT + ".")) {
            return null;
        }
        String rest = p.substring(ROOT.length() + 1);
        int dot = rest.indexOf('.');
        return dot < 0 ? rest : rest.substring(0, dot);
    }
}
