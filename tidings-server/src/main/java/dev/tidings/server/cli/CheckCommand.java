package dev.tidings.server.cli;

import dev.tidings.base.Identifiers;
import dev.tidings.check.DatabaseCheck;
import dev.tidings.check.Finding;
import dev.tidings.source.DatabaseUrl;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code tidings check}: prints what stands between a database and change data capture, with the fixes. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {
                "Diagnoses a PostgreSQL database for change data capture: server version, wal_level,",
                "slot and WAL sender capacity, the role's REPLICATION, the publication and the replica",
                "identity of each table it publishes, and every replication slot. Prints the SQL that",
                "fixes each problem. Reads catalogs only; changes nothing."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:everything is OK",
                "1:warnings only (CDC works, but something needs attention)",
                "2:errors (CDC cannot start), the database was unreachable, or bad options"})
public final class CheckCommand implements Callable<Integer> {

    static final int EXIT_OK = 0;
    static final int EXIT_WARNINGS = 1;
    static final int EXIT_ERRORS = 2;

    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOption database;

    @Mixin
    SlotOptions slotOptions;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String db = database.orEnvironment();
        String publication = slotOptions.publicationOr("tidings");
        String slot = slotOptions.slotOr("tidings");
        DatabaseUrl url;
        try {
            url = DatabaseUrl.parse(db);
        } catch (IllegalArgumentException e) {
            err.println("tidings check: " + e.getMessage() + (db == null ? " (--db or DATABASE_URL)" : ""));
            return EXIT_ERRORS;
        }

        List<Finding> findings;
        try (Connection c = url.connect()) {
            findings = DatabaseCheck.run(c, publication, slot);
        } catch (SQLException e) {
            err.println("tidings check: cannot check " + url + ": " + e.getMessage());
            String hint = Preflight.hint(url, e.getSQLState());
            if (hint != null) {
                err.println("  " + hint);
            }
            return EXIT_ERRORS;
        } catch (RuntimeException e) {
            err.println("tidings check: the check itself failed on " + url + ": " + e);
            return EXIT_ERRORS;
        }

        out.println("Checking " + url + " for publication " + Identifiers.quote(publication)
                + " and slot " + Identifiers.literal(slot));
        out.println();
        int width = findings.stream().mapToInt(f -> f.subject().length()).max().orElse(0);
        int warnings = 0;
        int errors = 0;
        for (Finding f : findings) {
            switch (f.severity()) {
                case WARN -> warnings++;
                case ERROR -> errors++;
                case OK -> { }
            }
            out.println(marker(f.severity()) + "  " + pad(f.subject(), width) + "  " + f.message());
            if (!f.fix().isEmpty()) {
                f.fix().lines().forEach(line -> out.println("        " + line));
            }
        }
        out.println();
        out.println(errors == 0 && warnings == 0 ? "All good: ready for change data capture."
                : plural(errors, "error") + ", " + plural(warnings, "warning") + "."
                + (errors > 0 ? " Tidings cannot start until the errors are fixed." : ""));
        out.flush();
        return errors > 0 ? EXIT_ERRORS : warnings > 0 ? EXIT_WARNINGS : EXIT_OK;
    }

    private static String marker(Finding.Severity severity) {
        return switch (severity) {
            case OK -> "OK  ";
            case WARN -> "WARN";
            case ERROR -> "FAIL";
        };
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(Math.max(0, width - s.length()));
    }

    private static String plural(int n, String word) {
        return n + " " + word + (n == 1 ? "" : "s");
    }
}
