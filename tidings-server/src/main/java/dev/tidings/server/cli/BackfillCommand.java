package dev.tidings.server.cli;

import dev.tidings.backfill.Backfiller;
import dev.tidings.base.Identifiers;
import dev.tidings.base.TableName;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.value.PgTypeRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code tidings backfill}: asks for a backfill of tables on a slot, or lists, pauses, resumes or
 * cancels the slot's backfills. It only writes the request into the database
 * ({@code tidings.backfills}); the Tidings process streaming from the slot ({@code serve}, or
 * {@code tail --snapshot}) runs it, now or at its next start.
 */
@Command(name = "backfill", mixinStandardHelpOptions = true,
        description = "Backfill tables on a slot (current rows as op \"read\" events, merged with the live changes), "
                + "or list, pause, resume or cancel the slot's backfills.")
final class BackfillCommand implements Callable<Integer> {
    @Mixin
    DatabaseOption db;

    @Option(names = "--slot", defaultValue = "tidings", description = "The slot whose consumer runs the backfill (default: ${DEFAULT-VALUE})")
    String slot;

    @Option(names = "--table", paramLabel = "SCHEMA.TABLE", split = ",", description = "Tables to backfill (repeatable, comma-separated)")
    List<String> tables = new ArrayList<>();

    @Option(names = "--where", paramLabel = "CONDITION", description = "Only rows matching this SQL condition, e.g. \"created_at > now() - interval '1 day'\"")
    String where;

    @Option(names = "--sink", paramLabel = "NAME", description = "Only for this durable sink of tidings serve (default: every consumer of the slot)")
    String sink;

    @Option(names = "--list", description = "List the slot's backfills with their progress")
    boolean list;

    @Option(names = "--pause", paramLabel = "ID", description = "Pause a backfill")
    String pause;

    @Option(names = "--resume", paramLabel = "ID", description = "Resume a paused backfill")
    String resume;

    @Option(names = "--cancel", paramLabel = "ID", description = "Cancel a backfill")
    String cancel;

    @Override
    public Integer call() throws Exception {
        DatabaseUrl database = DatabaseUrl.parse(db.required());
        int actions = (tables.isEmpty() ? 0 : 1) + (list ? 1 : 0) + (pause != null ? 1 : 0) + (resume != null ? 1 : 0)
                + (cancel != null ? 1 : 0);
        if (actions != 1) {
            throw new IllegalArgumentException("give exactly one of --table (to start a backfill), --list, --pause ID, "
                    + "--resume ID or --cancel ID");
        }
        if (list) {
            System.out.println("backfill\ttable\tconsumer\tstate\trows\tchunks");
            for (Backfiller.Progress p : Backfiller.progress(database, slot)) {
                System.out.printf(Locale.ROOT, "%s\t%s\t%s\t%s\t%d\t%d%n", p.backfill(), p.table(),
                        p.consumer().isEmpty() ? "*" : p.consumer(), p.state(), p.rows(), p.chunks());
            }
            return 0;
        }
        String id = pause != null ? pause : resume != null ? resume : cancel;
        if (id != null) {
            String action = pause != null ? "pause" : resume != null ? "resume" : "cancel";
            if (!Backfiller.control(database, slot, id, action)) {
                throw new IllegalArgumentException("no backfill " + id + " on slot " + slot + " that can " + action
                        + " (see tidings backfill --list)");
            }
            System.out.println(id + ": " + action + "d");
            return 0;
        }
        List<TableName> names = tables.stream().map(Identifiers::parseTable).toList();
        String started = Backfiller.submit(database, new PgTypeRegistry(database.jdbcUrl(), database.properties()), slot,
                names, where, sink);
        System.out.println(started);
        return 0;
    }
}
