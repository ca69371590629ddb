package dev.tidings.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tidings.Tidings;
import dev.tidings.pipeline.SinkFanOut;
import dev.tidings.server.config.SinkConfig;
import dev.tidings.sink.SinkMetrics;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code tidings sinks}: streams the database into the durable sinks of a file, without the HTTP
 * server — for a machine that only feeds sinks, or next to a {@code serve} that has none. Same
 * guarantees as {@code serve} with sinks: a persistent slot, a transaction confirmed once every
 * sink confirmed it.
 *
 * <p>Prints {@code streaming} on stdout once the replication stream is open; logs each sink's
 * counters to stderr every 10 s. Runs until SIGTERM/SIGINT (the shutdown hook stops reading and
 * drains the sinks) or until a sink or the source fails for good (exit 2).
 */
@Command(name = "sinks", mixinStandardHelpOptions = true,
        description = {"Stream changes into the durable sinks of a file (its sinks: list), without the HTTP server.",
                "Exit 2 when a sink gave up or the source failed for good."})
final class SinksCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(SinksCommand.class);

    @Option(names = "--config", paramLabel = "FILE", required = true,
            description = "YAML or JSON file with the sinks: list (other sections are not read), or the bare list")
    Path config;

    @Mixin
    DatabaseOption database;

    @Mixin
    SlotOptions slot;

    @Override
    public Integer call() throws Exception {
        List<SinkConfig> sinks = SinkConfig.parseAll(read(config), "in " + config);
        if (sinks.isEmpty()) {
            throw new IllegalArgumentException(config + " lists no sinks: add a sinks: list (see docs/configuration.md)");
        }
        SourceConfig source = SourceConfig.of(DatabaseUrl.parse(database.required()))
                .withSlot(slot.slotOr("tidings"), false)
                .withPublication(slot.publicationOr("tidings"), List.of())
                .withTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(5));
        return run(source, sinks);
    }

    private static JsonNode read(Path file) {
        try {
            String text = Files.readString(file);
            String start = text.stripLeading();
            // JSON first when it looks like JSON: YAML parsers refuse some valid JSON (tabs)
            boolean json = start.startsWith("{") || start.startsWith("[");
            return (json ? new ObjectMapper() : new ObjectMapper(new YAMLFactory())).readTree(text);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the sinks file " + file + ": " + e.getMessage());
        }
    }

    private static int run(SourceConfig source, List<SinkConfig> sinks) throws Exception {
        SinkFanOut delivery = new SinkFanOut(SinkConfig.openAll(sinks));
        Tidings tidings = Tidings.start(source, delivery);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            tidings.stop();
            delivery.close();
        }, "tidings-shutdown"));
        boolean announced = false;
        long lastReport = System.nanoTime();
        while (!tidings.await(100)) {
            if (!announced && tidings.streaming()) {
                System.out.println("streaming");
                System.out.flush();
                announced = true;
            }
            if (System.nanoTime() - lastReport > Duration.ofSeconds(10).toNanos()) {
                lastReport = System.nanoTime();
                for (SinkMetrics m : delivery.metrics()) {
                    log.info("{}", m);
                }
            }
        }
        delivery.close();
        if (tidings.failure() != null) {
            log.error("stopped: {}", tidings.failure().getMessage());
            return 2;
        }
        return 0;
    }
}
