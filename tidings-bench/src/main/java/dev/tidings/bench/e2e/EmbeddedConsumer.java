package dev.tidings.bench.e2e;

import dev.tidings.Tidings;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;

import java.time.Instant;
import java.util.List;

/**
 * The embedded API with a listener that only counts (and, live, notes commit → delivery), in a JVM
 * of its own so its memory and CPU are its own. Arguments: jdbcUrl slot publication expected live.
 */
public final class EmbeddedConsumer {
    private EmbeddedConsumer() {}

    public static void main(String[] args) throws Exception {
        ChildProtocol protocol = new ChildProtocol(System.out, Long.parseLong(args[3]), Boolean.parseBoolean(args[4]));
        SourceConfig config = SourceConfig.of(DatabaseUrl.parse(args[0]))
                .withSlot(args[1], false)
                .withPublication(args[2], List.of());
        try {
            Tidings tidings = Tidings.start(config, event -> {
                Instant t = event.tx().commitTime();
                protocol.event(protocol.live() ? t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000 : 0);
            });
            tidings.await();
        } catch (Throwable t) {
            protocol.fail(t);
            System.exit(1);
        }
    }
}
