package dev.tidings.server.cli;

import dev.tidings.base.Identifiers;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Where a streaming command reads from: database, slot, publication, tables (picocli mixins), origins to skip. */
final class SourceOptions {
    @Mixin
    DatabaseOption database;

    @Mixin
    SlotOptions slot;

    @Mixin
    TableOptions tables;

    @Option(names = "--skip-origin", split = ",", paramLabel = "ORIGIN",
            description = "Skip changes replayed from this replication origin (comma-separated or repeated; * = any origin), "
                    + "e.g. to avoid loops with bidirectional replication")
    List<String> skipOrigins = new ArrayList<>();

    /** The source, with slot and publication {@code tidings} unless given. */
    SourceConfig config() {
        return SourceConfig.of(DatabaseUrl.parse(database.required()))
                .withSlot(slot.slotOr("tidings"), Boolean.TRUE.equals(tables.temporary))
                .withPublication(slot.publicationOr("tidings"), tables.tables.stream().map(Identifiers::parseTable).toList())
                .withSkipOrigins(Set.copyOf(skipOrigins));
    }
}
