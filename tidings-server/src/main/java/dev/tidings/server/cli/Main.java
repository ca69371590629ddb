package dev.tidings.server.cli;

import dev.tidings.source.SourceException;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code bin/tidings}. Errors a user can fix are printed as one line that says
 * what to do (exit code 2); anything else also prints its stack trace.
 *
 * <p>Start-up: building the command line (picocli, whose classes predate class-data sharing and
 * are loaded from the jar at every start) and initialising logging (logback reading its
 * configuration) take ~0.2 s each of a cold JVM and need nothing from each other, so logging is
 * initialised on a thread of its own meanwhile; the command runs once both are done, so it never
 * sees SLF4J half initialised.
 */
@Command(name = "tidings", mixinStandardHelpOptions = true, version = "tidings 0.1.0",
        description = "Every committed row change in PostgreSQL, as an event.",
        subcommands = {DemoCommand.class, TailCommand.class, CheckCommand.class, ServeCommand.class, InstallRealtimeSqlCommand.class,
                dev.tidings.server.sinks.ReplayDeadLettersCommand.class})
public final class Main {
    public static void main(String[] args) {
        Thread logging = Thread.ofPlatform().name("tidings-logging").start(LoggerFactory::getILoggerFactory);
        CommandLine commandLine = commandLine();
        commandLine.setExecutionStrategy(parsed -> {
            awaitLogging(logging);
            return new CommandLine.RunLast().execute(parsed);
        });
        System.exit(commandLine.execute(args));
    }

    private static void awaitLogging(Thread logging) {
        try {
            logging.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
