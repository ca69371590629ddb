package dev.tidings.server.sinks;

import dev.tidings.server.config.SinkConfig;
import dev.tidings.Tidings;
import dev.tidings.pipeline.SinkFanOut;
import dev.tidings.source.SourceConfig;
import dev.tidings.testing.Await;
import dev.tidings.testing.Streams;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** One call: a fresh database and Tidings streaming it into sinks from a config tree. */
final class SinkHarness implements AutoCloseable {
    final Streams db;
    SinkFanOut delivery;
    Tidings tidings;

    SinkHarness(String... setupSql) {
        db = Streams.newDatabase();
        db.sql(setupSql);
    }

    SinkHarness start(List<Map<String, Object>> sinks) throws Exception {
        return start(db.config(), sinks);
    }

    SinkHarness start(SourceConfig config, List<Map<String, Object>> sinks) throws Exception {
        delivery = new SinkFanOut(SinkConfig.openAll(SinkConfig.parseAll(Map.of("sinks", sinks))));
        tidings = Tidings.start(config, delivery);
        Await.until(Duration.ofSeconds(30), "stream did not start", () -> tidings.streaming() || tidings.failure() != null);
        assertThat(tidings.failure()).isNull();
        return this;
    }

    void stop() {
        if (tidings != null) {
            tidings.stop();
        }
        if (delivery != null) {
            delivery.close();
        }
    }

    @Override
    public void close() {
        stop();
        db.close();
    }
}
