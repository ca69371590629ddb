package dev.tidings.server.cli;

import picocli.CommandLine.Option;

/** {@code --db URL}, shared by every command that connects to PostgreSQL (a picocli mixin). */
final class DatabaseOption {
    @Option(names = "--db", paramLabel = "URL",
            description = "Database URL: postgresql://user:password@host:5432/db?sslmode=require or jdbc:postgresql://…; "
                    + "when absent, $DATABASE_URL (demo: an embedded PostgreSQL)")
    String url;

    /**
     * The URL given, else {@code DATABASE_URL} (a system property of that name first, then the
     * environment variable, as picocli resolves {@code ${DATABASE_URL}}), else null.
     */
    String orEnvironment() {
        return url != null ? url : System.getProperty("DATABASE_URL", System.getenv("DATABASE_URL"));
    }

    /** The URL given, else {@code $DATABASE_URL}; refuses with how to give one. */
    String required() {
        String u = orEnvironment();
        if (u == null) {
            throw new IllegalArgumentException("no database given: pass --db postgresql://user:password@host:5432/db "
                    + "or set DATABASE_URL");
        }
        return u;
    }
}
