package dev.tidings.server.config;

import dev.tidings.sink.SinkSettings;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Defaults that carry a guarantee: one batch in flight keeps commit order through retries. */
@Tag("unit")
class SinkConfigDefaultsTest {

    private static int inFlight(Map<String, Object> sink) {
        return SinkConfig.parse(sink).settings().maxInFlight();
    }

    @Test
    void sinks_keep_one_batch_in_flight_by_default_except_kafka_whose_producer_keeps_order() {
        assertThat(inFlight(Map.of("name", "r", "type", "redis", "uri", "redis://localhost", "stream", "s"))).isEqualTo(1);
        assertThat(inFlight(Map.of("name", "n", "type", "nats", "url", "nats://localhost:4222", "subject", "s"))).isEqualTo(1);
        assertThat(inFlight(Map.of("name", "q", "type", "rabbitmq", "uri", "amqp://localhost", "exchange", "x"))).isEqualTo(1);
        assertThat(inFlight(Map.of("name", "k", "type", "kafka", "bootstrap_servers", "localhost:9092", "topic", "t"))).isEqualTo(4);
        assertThat(inFlight(Map.of("name", "r2", "type", "redis", "uri", "redis://localhost", "stream", "s", "in_flight", 8)))
                .as("an explicit setting wins").isEqualTo(8);
    }

    @Test
    void the_embedded_api_default_is_the_documented_one() {
        assertThat(SinkSettings.defaults("embedded").maxInFlight()).isEqualTo(1)
                .isEqualTo(inFlight(Map.of("name", "f", "type", "file", "path", "/tmp/f.jsonl")));
    }

    @Test
    void each_kind_refuses_what_it_cannot_use_naming_the_sink_and_key() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SinkConfig.parse(Map.of("name", "r", "type", "redis", "mode", "list")))
                .hasMessageContaining("sink r: mode").hasMessageContaining("stream or pubsub");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SinkConfig.parse(Map.of("name", "w", "type", "webhook", "url", "ftp://x")))
                .hasMessageContaining("sink w: url").hasMessageContaining("http(s) URL");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SinkConfig.parse(Map.of("name", "k", "type", "kafka")))
                .hasMessageContaining("sink k: 'bootstrap_servers' is required");
        assertThat(SinkConfig.parse(Map.of("name", "f", "type", "file", "path", "/tmp/f", "max_bytes", "100MiB")))
                .isInstanceOfSatisfying(SinkConfig.File.class, f -> assertThat(f.maxBytes()).isEqualTo(100L << 20));
    }
}
