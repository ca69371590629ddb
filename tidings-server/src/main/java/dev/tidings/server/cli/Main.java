package dev.tidings.server.cli;

import dev.tidings.server.http.TidingsServer;
import dev.tidings.source.SourceException;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code bin/tidings}. Errors a user can fix are printed as one or two lines that
 * name the problem and say what to do (exit code 2; see {@link Preflight}); anything else also
 * prints its stack trace.
 *
 * <p>Start-up: building the command line (picocli, whose classes predate class-data sharing and
 * are loaded from the jar at every start) and initialising logging (logback reading its
 * configuration) take ~0.2 s each of a cold JVM and need nothing from each other, so logging is
 * initialised on a thread of its own meanwhile; the command runs once both are done, so it never
 * sees SLF4J half initialised.
 */
@Command(name = "tidings", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Every committed row change in PostgreSQL, as an event.",
        subcommands = {DemoCommand.class, TailCommand.class, CheckCommand.class, ServeCommand.class, SinksCommand.class, BackfillCommand.class,
                ReplayDeadLettersCommand.class, InstallRealtimeSqlCommand.class})
public final class Main {

    /** {@code --version}: the Maven project version, the one {@code /api/status} reports too. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"tidings " + TidingsServer.VERSION};
        }
    }

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
