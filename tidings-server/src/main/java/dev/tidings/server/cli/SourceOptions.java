package dev.tidings.server.cli;

import dev.tidings.base.Identifiers;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import picocli.CommandLine.Mixin;

/** Where a streaming command reads from: database, slot, publication, tables (picocli mixins). */
final class SourceOptions {
    @Mixin
    DatabaseOption database;

    @Mixin
    SlotOptions slot;

    @Mixin
    TableOptions tables;

    /** The source, with slot and publication {@code tidings} unless given. */
    SourceConfig config() {
        return SourceConfig.of(DatabaseUrl.parse(database.required()))
                .withSlot(slot.slotOr("tidings"), Boolean.TRUE.equals(tables.temporary))
                .withPublication(slot.publicationOr("tidings"), tables.tables.stream().map(Identifiers::parseTable).toList());
    }
}
