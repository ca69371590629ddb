package dev.tidings.server.cli;

import dev.tidings.base.Identifiers;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** The options every streaming command shares: where the database is, which slot and publication. */
final class SourceOptions {
    @Option(names = "--db", paramLabel = "URL",
            description = "Database URL: postgresql://user:password@host:5432/db?sslmode=require or jdbc:postgresql://… "
                    + "(default: $DATABASE_URL)")
    String db;

    @Option(names = "--slot", defaultValue = "tidings", description = "Replication slot, created when missing (default: ${DEFAULT-VALUE})")
    String slot;

    @Option(names = "--publication", defaultValue = "tidings",
            description = "Publication, created when missing (default: ${DEFAULT-VALUE})")
    String publication;

    @Option(names = "--tables", split = ",", paramLabel = "SCHEMA.TABLE",
            description = "Only these tables (comma-separated; quote names with capitals: '\"My Table\"'). Default: all")
    List<String> tables = new ArrayList<>();

    @Option(names = "--temporary", description = "Use a temporary slot: nothing is kept when Tidings stops")
    boolean temporary;

    SourceConfig config() {
        String url = db != null ? db : System.getenv("DATABASE_URL");
        if (url == null) {
            throw new IllegalArgumentException("no database given: pass --db postgresql://user:password@host:5432/db "
                    + "or set DATABASE_URL");
        }
        return SourceConfig.of(DatabaseUrl.parse(url))
                .withSlot(slot, temporary)
                .withPublication(publication, tables.stream().map(Identifiers::parseTable).toList());
    }
}
