package dev.tidings;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The repository explains itself: what the README, docs, code and scripts point to is in the
 * repository. Markdown links and {@code docs/…} paths must name files that exist; nothing may point
 * outside the repository, to project history ("issue 4") or to documents a reader cannot open.
 */
@Tag("unit")
class RepositoryReferencesTest {
    private static final Path ROOT = findRoot();
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
    private static final Pattern DOCS_PATH = Pattern.compile("\\bdocs/[\\w.-]+\\.(?:md|txt)\\b");
    private static final Pattern OUTSIDE = Pattern.compile(
            "\\.\\./sh[a]red|sh[a]red/docs|(?-i:\\bARCHITECTURE\\.md)|\\bissue \\d+|\\bthe s[e]ed\\b|\\bs[e]ed's|realtime-frames\\.txt",
            Pattern.CASE_INSENSITIVE);

    @Test
    void markdown_links_name_files_of_the_repository() throws IOException {
        List<String> broken = new ArrayList<>();
        for (Path md : markdown()) {
            Matcher m = LINK.matcher(Files.readString(md));
            while (m.find()) {
                String target = m.group(1);
                if (target.matches("^(https?|mailto):.*") || target.startsWith("#")) {
                    continue;
                }
                Path file = md.getParent().resolve(target.replaceAll("#.*", "")).normalize();
                if (!file.startsWith(ROOT) || !Files.exists(file)) {
                    broken.add(ROOT.relativize(md) + " -> " + target);
                }
            }
        }
        assertThat(broken).as("links to files that are not in the repository").isEmpty();
    }

    @Test
    void docs_paths_named_anywhere_exist() throws IOException {
        List<String> missing = new ArrayList<>();
        for (Path f : sources()) {
            Matcher m = DOCS_PATH.matcher(Files.readString(f));
            while (m.find()) {
                if (!Files.exists(ROOT.resolve(m.group()))) {
                    missing.add(ROOT.relativize(f) + ": " + m.group());
                }
            }
        }
        assertThat(missing).as("docs/ files named but not there").isEmpty();
    }

    @Test
    void nothing_points_outside_the_repository_or_to_its_history() throws IOException {
        List<String> found = new ArrayList<>();
        for (Path f : sources()) {
            List<String> lines = Files.readAllLines(f);
            for (int i = 0; i < lines.size(); i++) {
                Matcher m = OUTSIDE.matcher(lines.get(i));
                if (m.find() && !f.endsWith("RepositoryReferencesTest.java")) {
                    found.add(ROOT.relativize(f) + ":" + (i + 1) + ": " + m.group());
                }
            }
        }
        assertThat(found).isEmpty();
    }

    private static List<Path> markdown() throws IOException {
        return files().filter(p -> p.toString().endsWith(".md")).toList();
    }

    /** README, docs, Java sources, scripts and the Node test clients. */
    private static List<Path> sources() throws IOException {
        return files().filter(p -> p.toString().matches(".*\\.(md|java|js|json|sh|yaml|yml|xml)$")
                || p.getParent().endsWith("bin")).toList();
    }

    private static Stream<Path> files() throws IOException {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> all = Files.walk(ROOT)) {
            all.filter(Files::isRegularFile)
                    .filter(p -> {
                        String r = ROOT.relativize(p).toString();
                        return !r.startsWith(".") && !r.contains("/.") && !r.contains("target/") && !r.contains("node_modules/")
                                && !r.endsWith("package-lock.json");
                    })
                    .forEach(out::add);
        }
        return out.stream();
    }

    /** The repository root: the first directory from the working directory upwards with a README.md and docs/. */
    private static Path findRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("README.md")) && Files.isDirectory(dir.resolve("docs"))) {
                return dir;
            }
        }
        throw new AssertionError("repository root not found from " + Path.of("").toAbsolutePath());
    }
}
