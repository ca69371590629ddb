package dev.tidings.server.broadcast;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RelayAddressTest {
    @Test
    void the_path_is_the_subject_prefix_and_defaults_to_tidings() {
        assertThat(RelayedRooms.Address.parse("nats://nats1:4333/prod.chat"))
                .isEqualTo(new RelayedRooms.Address("nats://nats1:4333", "prod.chat"));
        assertThat(RelayedRooms.Address.parse("nats://nats1")).isEqualTo(new RelayedRooms.Address("nats://nats1:4222", "tidings"));
    }

    @Test
    void a_url_that_is_not_nats_or_a_prefix_with_wildcards_is_refused_with_the_form_to_use() {
        assertThatThrownBy(() -> RelayedRooms.Address.parse("redis://host:6379"))
                .hasMessage("'redis://host:6379' is not a NATS URL: write nats://host:port[/subject.prefix]");
        assertThatThrownBy(() -> RelayedRooms.Address.parse("nats://host:4222/a.*"))
                .hasMessage("subject prefix 'a.*' in 'nats://host:4222/a.*': use letters, digits, '-' and '_' in dot-separated tokens");
    }
}
