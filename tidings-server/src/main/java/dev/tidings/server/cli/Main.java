package dev.tidings.server.cli;

import dev.tidings.source.SourceException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code bin/tidings}. Errors a user can fix are printed as one line that says
 * what to do (exit code 2); anything else also prints its stack trace.
 */
@Command(name = "tidings", mixinStandardHelpOptions = true, version = "tidings 0.1.0",
        description = "Every committed row change in PostgreSQL, as an event.",
        subcommands = {DemoCommand.class, TailCommand.class, CheckCommand.class, ServeCommand.class,
                dev.tidings.server.sinks.ReplayDeadLettersCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        return new CommandLine(new Main()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof SourceException || e instanceof IllegalArgumentException) {
                cmd.getErr().println("tidings: " + e.getMessage());
                return 2;
            }
            throw e;
        });
    }
}
