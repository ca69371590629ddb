package dev.tidings.server.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.tidings.ChangeListener;
import dev.tidings.Tidings;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.event.Transaction;
import dev.tidings.source.SourceConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.Callable;

/**
 * {@code tidings tail}: change events as JSON lines on stdout. Output is flushed at every commit,
 * and a transaction is acknowledged to PostgreSQL only after its lines were flushed, so a restart
 * with the same slot continues after the last transaction written — at most the transaction cut
 * off by a crash is written again, with the same ids. With {@code --snapshot} the current rows
 * come first as {@code read} events, merged with the changes (see {@code dev.tidings.backfill}).
 * With {@code --server} it reads a running {@code tidings serve} instead of a slot, and with
 * {@code --from} replays that server's change log after an event id first ({@link ServerTail}).
 */
@Command(name = "tail", mixinStandardHelpOptions = true,
        description = "Print every committed change as a JSON line on stdout (logs go to stderr).")
final class TailCommand implements Callable<Integer> {
    @Mixin
    SourceOptions source;

    @Option(names = "--format", defaultValue = "tidings",
            description = "Event format: tidings, debezium, cloudevents or supabase (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--snapshot", description = "First print the current rows of the tables (op \"read\"), merged "
            + "with the live changes; once per slot, resumed after a crash")
    boolean snapshot;

    @Option(names = "--snapshot-chunk", defaultValue = "4096", paramLabel = "ROWS",
            description = "Rows read per snapshot chunk (default: ${DEFAULT-VALUE})")
    int snapshotChunk;

    @Option(names = "--snapshot-rate", defaultValue = "0", paramLabel = "ROWS_PER_SECOND",
            description = "Most snapshot rows read per second; 0 for no limit (default: ${DEFAULT-VALUE})")
    int snapshotRate;

    @Option(names = "--server", paramLabel = "URL",
            description = "Read the events of a running tidings serve (e.g. http://localhost:4000) instead of a slot")
    String server;

    @Option(names = "--from", paramLabel = "EVENT_ID",
            description = "With --server: first the events after this id from the server's change log, then live")
    String from;

    @Option(names = "--token", paramLabel = "JWT", description = "With --server: the token, when the server has secure channels")
    String token;

    @Override
    public Integer call() throws Exception {
        EventFormat eventFormat = EventFormat.named(format);
        Stdout stdout = new Stdout(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16));
        if (server != null) {
            if (snapshot) {
                throw new IllegalArgumentException("--snapshot reads a slot; with --server, use the server's /events?snapshot=true");
            }
            try {
                new ServerTail(server, from, eventFormat.name(), source.tables.tables, token, stdout).run();
            } catch (Exception e) {
                if (!stdout.broken) {
                    throw e;
                }
            }
            return 0;
        }
        if (from != null || token != null) {
            throw new IllegalArgumentException((from != null ? "--from" : "--token") + " needs --server URL: a running "
                    + "tidings serve with a change log (log.dir) replays from it");
        }
        JsonLines lines = new JsonLines(stdout, eventFormat);
        SourceConfig config = source.config();
        Preflight.database(config.database());
        if (snapshot) {
            config = config.withSnapshot(new SourceConfig.Snapshot(snapshotChunk, snapshotRate));
        }
        Tidings tidings = Tidings.start(config, lines);
        Thread hook = new Thread(tidings::stop, "tidings-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            tidings.await();
            return 0;
        } catch (Exception e) {
            if (stdout.broken) {
                return 0; // the reader stopped reading (`| head`): what it got was acknowledged, the rest stays in the slot
            }
            throw e;
        } finally {
            try {
                stdout.flush();
            } catch (IOException e) {
                if (!stdout.broken) {
                    throw e;
                }
            }
        }
    }

    /** Standard output that notes a failed write: the reader went away (a closed pipe). */
    static final class Stdout extends FilterOutputStream {
        volatile boolean broken;

        Stdout(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            try {
                out.write(b);
            } catch (IOException e) {
                broken = true;
                throw e;
            }
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            try {
                out.write(bytes, offset, length);
            } catch (IOException e) {
                broken = true;
                throw e;
            }
        }

        @Override
        public void flush() throws IOException {
            try {
                out.flush();
            } catch (IOException e) {
                broken = true;
                throw e;
            }
        }
    }

    /** Writes events as JSON lines; flushes at each commit, which is when the commit is acknowledged. */
    static final class JsonLines implements ChangeListener {
        private final OutputStream out;
        private final EventFormat format;
        private final JsonGenerator json;

        JsonLines(OutputStream out, EventFormat format) throws IOException {
            this.out = out;
            this.format = format;
            this.json = new JsonFactory().createGenerator(out, JsonEncoding.UTF8)
                    .configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
            json.setRootValueSeparator(null);
        }

        @Override
        public void onEvent(ChangeEvent event) throws IOException {
            if (!format.supports(event.op())) {
                return; // e.g. truncates and messages have no supabase shape: skipped, as Realtime does
            }
            format.write(event, json);
            json.writeRaw('\n');
        }

        @Override
        public void onTransaction(Transaction tx) throws IOException {
            json.flush();
        }
    }
}
