package dev.tidings.server.config;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code edge.from}: an edge node needs no database, and refuses what only a leader does. */
@Tag("unit")
class EdgeSettingsTest {

    @Test
    void an_edge_needs_no_database_and_reads_every_server_of_the_url() {
        ServeConfig c = ServeConfigLoader.load(Map.of("edge.from", "nats://n1,n2:4223/TIDINGS"), Map.of(), null);
        assertThat(c.db()).isNull();
        assertThat(c.edge().from().servers()).isEqualTo(List.of("nats://n1:4222", "nats://n2:4223"));
        assertThat(c.edge().from().stream()).isEqualTo("TIDINGS");
        assertThat(c.edge().window()).isEqualTo(20_000);
        ServeConfig k = ServeConfigLoader.load(Map.of("edge.from", "kafka://k1,k2:9093/cdc"), Map.of(), null);
        assertThat(k.edge().from().broker()).isEqualTo("kafka");
        assertThat(k.edge().from().servers()).isEqualTo(List.of("k1:9092", "k2:9093"));
        assertThat(k.edge().from().stream()).isEqualTo("cdc");
        assertThat(ServeConfigLoader.load(Map.of(), Map.of("DATABASE_URL", "postgresql://db/app"), null).edge()).isNull();
    }

    @Test
    void leader_settings_on_an_edge_and_malformed_sources_fail_with_what_to_do() {
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of("edge.from", "nats://n1/T", "log.dir", "/tmp/x"), Map.of(), null))
                .hasMessageContaining("set it on the leader");
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of("edge.from", "nats://n1/T"), Map.of("TIDINGS_AUTH_RLS", "true"), null))
                .hasMessageContaining("TIDINGS_AUTH_RLS").hasMessageContaining("serve RLS clients from the leader");
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of("edge.from", "nats://n1"), Map.of(), null))
                .hasMessageContaining("nats://host[:port]");
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of("edge.from", "kafka://k1:9092"), Map.of(), null))
                .hasMessageContaining("kafka://host:port[,host2:port]/TOPIC");
        assertThatThrownBy(() -> ServeConfigLoader.load(Map.of(), Map.of("DATABASE_URL", "postgresql://db/app",
                "TIDINGS_EDGE_WINDOW", "100"), null)).hasMessageContaining("edge.from is not");
    }
}
