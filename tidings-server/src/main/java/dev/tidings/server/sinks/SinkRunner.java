package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.Tidings;
import dev.tidings.pipeline.FanOutDelivery;
import dev.tidings.server.config.SinkConfig;
import dev.tidings.sink.SinkMetrics;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Streams a database into the durable sinks of a config file, until killed or a sink gives up:
 * the process that {@code tidings serve} will embed, runnable on its own (and by the fault tests,
 * which kill it with SIGKILL).
 *
 * <pre>java -cp tidings.jar dev.tidings.server.sinks.SinkRunner --db URL --config sinks.json [--slot S] [--publication P]</pre>
 *
 * Prints {@code streaming} on stdout once the replication stream is open; logs sink metrics to
 * stderr every 10 s. Exit code 0 after SIGTERM, 2 when a sink or the source failed for good.
 */
public final class SinkRunner {
    private static final Logger log = LoggerFactory.getLogger(SinkRunner.class);

    private SinkRunner() {}

    public static void main(String[] args) throws Exception {
        String db = null, config = null, slot = "tidings", publication = "tidings";
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--db" -> db = value;
                case "--config" -> config = value;
                case "--slot" -> slot = value;
                case "--publication" -> publication = value;
                default -> {
                    System.err.println("usage: SinkRunner --db URL --config sinks.json [--slot S] [--publication P]");
                    System.exit(64);
                }
            }
            i++;
        }
        if (db == null || config == null) {
            System.err.println("usage: SinkRunner --db URL --config sinks.json [--slot S] [--publication P]");
            System.exit(64);
        }
        JsonNode tree = new ObjectMapper().readTree(Files.readString(Path.of(config)));
        SourceConfig source = SourceConfig.of(DatabaseUrl.parse(db)).withSlot(slot, false)
                .withPublication(publication, List.of()).withTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(5));
        System.exit(run(source, SinkConfig.parseAll(tree, "in " + config)));
    }

    static int run(SourceConfig source, List<SinkConfig> sinks) throws Exception {
        FanOutDelivery delivery = new FanOutDelivery(SinkConfig.openAll(sinks));
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
