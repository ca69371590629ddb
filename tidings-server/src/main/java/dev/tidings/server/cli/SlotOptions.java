package dev.tidings.server.cli;

import picocli.CommandLine.Option;

/**
 * {@code --slot} and {@code --publication} (a picocli mixin). No defaults here: each command has
 * its own ({@code tidings} for {@code tail}, {@code check} and {@code sinks}; {@code serve} takes
 * its settings' defaults).
 */
final class SlotOptions {
    @Option(names = "--slot", paramLabel = "NAME", description = "Replication slot, created when missing")
    String slot;

    @Option(names = "--publication", paramLabel = "NAME", description = "Publication, created when missing")
    String publication;

    String slotOr(String otherwise) {
        return slot != null ? slot : otherwise;
    }

    String publicationOr(String otherwise) {
        return publication != null ? publication : otherwise;
    }
}
