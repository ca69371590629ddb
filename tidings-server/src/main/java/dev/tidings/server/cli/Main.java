package dev.tidings.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code bin/tidings}: dispatches to the subcommands. */
@Command(name = "tidings", mixinStandardHelpOptions = true, version = "tidings 0.1.0",
        description = "Every committed row change in PostgreSQL, as an event.",
        subcommands = {CheckCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
