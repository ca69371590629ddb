package dev.tidings.server.config;

import dev.tidings.server.cli.Main;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Keeps docs/configuration.md and the code in step, both ways. The lists come from the code, never
 * from a copy in this test:
 *
 * <ul>
 *   <li>every option of every subcommand of {@code tidings} (picocli's model of {@link Main}) is a
 *       row of that command's table, under a heading {@code ### `tidings <command>`}; and every
 *       row there names an option the command has;
 *   <li>every setting of {@link ServeConfigLoader#SETTINGS} is a row of the table under
 *       {@code ## `tidings serve` settings}, and that row names each of its environment variables;
 *       and every row there is a setting;
 *   <li>every key {@link SinkConfig} accepts is a row: the common keys and the {@code retry.*} keys
 *       under {@code ### Keys of every sink}, each type's own keys under {@code ### `type: <t>`};
 *       and every row there is a key the code accepts.
 * </ul>
 *
 * A table row counts when its first cell names the thing in backticks, e.g.
 * {@code | `--slot NAME` | …} or {@code | `db.url` | `DATABASE_URL`, `TIDINGS_DB_URL` | …}.
 */
@Tag("unit")
class ConfigurationDocsTest {
    private static final Pattern FIRST_CELL = Pattern.compile("^\\|\\s*([^|]*?)\\s*\\|(.*)$");
    private static final Pattern BACKTICKED = Pattern.compile("`([^`]+)`");
    private static final Pattern FLAG = Pattern.compile("(?<![\\w-])(--?[A-Za-z][\\w-]*)");

    private static List<String> doc;

    @BeforeAll
    static void read() throws IOException {
        doc = Files.readAllLines(findDoc());
    }

    @Test
    void everyFlagOfEveryCommandIsDocumentedUnderItsCommand() {
        CommandLine root = new CommandLine(new Main());
        assertThat(root.getSubcommands()).as("subcommands of tidings").isNotEmpty();
        List<String> problems = new ArrayList<>();
        root.getSubcommands().forEach((name, sub) -> {
            List<String> section = section("### `tidings " + name + "`");
            if (section == null) {
                problems.add("no section '### `tidings " + name + "`'");
                return;
            }
            Set<String> documented = new LinkedHashSet<>();
            for (String cell : firstCells(section)) {
                Matcher m = FLAG.matcher(cell);
                while (m.find()) {
                    documented.add(m.group(1));
                }
            }
            Set<String> inCode = new TreeSet<>();
            for (OptionSpec o : sub.getCommandSpec().options()) {
                if (o.usageHelp() || o.versionHelp()) {
                    continue; // -h/--help, -V/--version: every command has them; documented once
                }
                for (String n : o.names()) {
                    inCode.add(n);
                    if (!documented.contains(n)) {
                        problems.add("tidings " + name + " " + n + ": not in its table in docs/configuration.md");
                    }
                }
            }
            for (String d : documented) {
                if (!inCode.contains(d)) {
                    problems.add("tidings " + name + " " + d + ": documented, but the command has no such option");
                }
            }
        });
        assertThat(problems).as("flags vs docs/configuration.md").isEmpty();
    }

    @Test
    void everyServeSettingAndItsEnvironmentVariablesAreDocumented() {
        List<String> section = section("## `tidings serve` settings");
        assertThat(section).as("section '## `tidings serve` settings' in docs/configuration.md").isNotNull();
        Map<String, String> rows = rowsByFirstBackticked(section);
        List<String> problems = new ArrayList<>();
        Set<String> paths = new TreeSet<>();
        for (ServeConfigLoader.Setting s : ServeConfigLoader.SETTINGS) {
            paths.add(s.path());
            String row = rows.get(s.path());
            if (row == null) {
                problems.add("setting " + s.path() + ": no row in the serve settings table");
                continue;
            }
            for (String env : s.env()) {
                if (!row.contains("`" + env + "`")) {
                    problems.add("setting " + s.path() + ": its row does not name the environment variable " + env);
                }
            }
        }
        for (String documented : rows.keySet()) {
            if (!paths.contains(documented)) {
                problems.add("setting " + documented + ": documented, but ServeConfigLoader.SETTINGS has no such setting");
            }
        }
        assertThat(problems).as("serve settings vs docs/configuration.md").isEmpty();
    }

    @Test
    void everyServeFlagSetsTheSettingItsRowNames() {
        List<String> section = section("### `tidings serve`");
        assertThat(section).as("section '### `tidings serve`'").isNotNull();
        CommandLine serve = new CommandLine(new Main()).getSubcommands().get("serve");
        List<String> problems = new ArrayList<>();
        Set<String> flagged = new TreeSet<>();
        for (ServeConfigLoader.Setting s : ServeConfigLoader.SETTINGS) {
            if (s.flag() == null) {
                continue;
            }
            flagged.add(s.flag());
            if (serve.getCommandSpec().findOption(s.flag()) == null) {
                problems.add("setting " + s.path() + ": serve has no option " + s.flag());
            }
            String row = section.stream().filter(l -> l.startsWith("| `" + s.flag())).findFirst().orElse(null);
            if (row == null || !row.contains("`" + s.path() + "`")) {
                problems.add("serve " + s.flag() + ": its row does not name the setting " + s.path());
            }
        }
        for (OptionSpec o : serve.getCommandSpec().options()) {
            if (!o.usageHelp() && !o.versionHelp() && !o.longestName().equals("--config") && !flagged.contains(o.longestName())) {
                problems.add("serve " + o.longestName() + ": no setting of ServeConfigLoader.SETTINGS names it as its flag");
            }
        }
        assertThat(problems).as("serve flags vs settings vs docs/configuration.md").isEmpty();
    }

    @Test
    void everySinkKeyIsDocumented() {
        List<String> problems = new ArrayList<>();
        List<String> common = section("### Keys of every sink");
        if (common == null) {
            problems.add("no section '### Keys of every sink'");
        } else {
            Set<String> expected = new TreeSet<>(SinkConfig.COMMON);
            SinkConfig.RETRY_KEYS.forEach(k -> expected.add("retry." + k));
            compare("every sink", expected, rowsByFirstBackticked(common).keySet(), problems);
        }
        SinkConfig.PER_TYPE.forEach((type, keys) -> {
            List<String> section = section("### `type: " + type + "`");
            if (section == null) {
                problems.add("no section '### `type: " + type + "`'");
                return;
            }
            compare("type " + type, new TreeSet<>(keys), rowsByFirstBackticked(section).keySet(), problems);
        });
        assertThat(problems).as("sink keys vs docs/configuration.md").isEmpty();
    }

    private static void compare(String what, Set<String> inCode, Set<String> documented, List<String> problems) {
        for (String k : inCode) {
            if (!documented.contains(k)) {
                problems.add("sink key " + k + " (" + what + "): not in its table");
            }
        }
        for (String k : documented) {
            if (!inCode.contains(k)) {
                problems.add("sink key " + k + " (" + what + "): documented, but SinkConfig does not accept it");
            }
        }
    }

    /** The lines under {@code heading} (exactly that line) up to the next heading of its level or above; null if absent. */
    private static List<String> section(String heading) {
        int level = heading.indexOf(' ');
        int start = doc.indexOf(heading);
        if (start < 0) {
            return null;
        }
        List<String> lines = new ArrayList<>();
        boolean fenced = false;
        for (int i = start + 1; i < doc.size(); i++) {
            String line = doc.get(i);
            if (line.startsWith("```")) {
                fenced = !fenced;
            }
            if (!fenced && line.startsWith("#")) {
                int l = line.indexOf(' ');
                if (l > 0 && l <= level && line.substring(0, l).chars().allMatch(c -> c == '#')) {
                    break;
                }
            }
            lines.add(line);
        }
        return lines;
    }

    /** The first cell of each table row, header and separator rows left out. */
    private static List<String> firstCells(List<String> section) {
        List<String> cells = new ArrayList<>();
        for (String line : section) {
            Matcher m = FIRST_CELL.matcher(line.strip());
            if (m.matches() && m.group(1).contains("`")) {
                cells.add(m.group(1));
            }
        }
        return cells;
    }

    /** Rows keyed by the first backticked word of their first cell (without any argument after a space). */
    private static Map<String, String> rowsByFirstBackticked(List<String> section) {
        Map<String, String> rows = new LinkedHashMap<>();
        for (String line : section) {
            Matcher m = FIRST_CELL.matcher(line.strip());
            if (!m.matches()) {
                continue;
            }
            Matcher b = BACKTICKED.matcher(m.group(1));
            if (b.find()) {
                rows.put(b.group(1).strip().split("\\s+")[0], line);
            }
        }
        return rows;
    }

    /** docs/configuration.md of the repository, looked for from the working directory (the module, under Maven) upwards. */
    private static Path findDoc() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("docs/configuration.md");
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("docs/configuration.md not found from " + Path.of("").toAbsolutePath());
    }
}
