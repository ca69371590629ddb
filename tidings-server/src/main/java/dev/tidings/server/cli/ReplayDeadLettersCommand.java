package dev.tidings.server.cli;

import dev.tidings.server.config.ConfigValue;
import dev.tidings.server.sinks.DeadLetterFile;
import dev.tidings.server.sinks.WebhookSigner;
import dev.tidings.server.sinks.WebhookSink;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;

/**
 * {@code tidings replay-dead-letters}: sends the events of a webhook sink's dead-letter file
 * again, oldest first, one signed request per event ({@code webhook-id} = the event id, as in the
 * original delivery, so receivers deduplicate). Stops at the first failure; the file then keeps
 * exactly the events not yet delivered, so running it again continues where it stopped.
 */
@Command(name = "replay-dead-letters", mixinStandardHelpOptions = true,
        description = "Send the events of a webhook dead-letter file again; remove the ones delivered.")
final class ReplayDeadLettersCommand implements Callable<Integer> {
    @Option(names = "--file", required = true, description = "The dead-letter file (dead_letter_file of the sink)")
    Path file;

    @Option(names = "--url", required = true, description = "Where to POST the events")
    URI url;

    @Option(names = "--secret", description = "Standard Webhooks signing secret (whsec_… or plain text)")
    String secret;

    @Option(names = "--timeout", defaultValue = "10s", description = "Request timeout (default: ${DEFAULT-VALUE})")
    String timeout;

    @Override
    public Integer call() throws Exception {
        DeadLetterFile letters = new DeadLetterFile(file);
        List<DeadLetterFile.Letter> all = letters.read();
        if (all.isEmpty()) {
            System.err.println("tidings: " + file + " holds no dead letters");
            return 0;
        }
        Duration t = ConfigValue.text("--timeout", timeout).duration(ChronoUnit.MILLIS);
        WebhookSink sink = new WebhookSink(url, secret == null ? null : new WebhookSigner(secret), t, false);
        int sent = 0;
        try {
            for (DeadLetterFile.Letter letter : all) {
                try {
                    HttpResponse<Void> ignored = sink.post(letter.id(), letter.event()).get();
                    sent++;
                } catch (ExecutionException e) {
                    letters.keepOnly(all.subList(sent, all.size()));
                    System.err.println("tidings: replayed " + sent + " of " + all.size() + " events; event " + letter.id()
                            + " failed (" + e.getCause().getMessage() + "). " + (all.size() - sent)
                            + " remain in " + file + ": run the command again when the receiver is back");
                    return 1;
                }
            }
            letters.keepOnly(List.of());
            System.err.println("tidings: replayed " + sent + " events to " + url + "; " + file + " removed");
            return 0;
        } finally {
            sink.close();
        }
    }
}
