package dev.tidings.server.stream;

import dev.tidings.pipeline.Delivery.Acknowledgement;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

@Tag("unit")
class BothAcknowledgedTest {

    /** Records the order of acknowledgements and failures. */
    private static Acknowledgement recording(List<String> into, String name) {
        return new Acknowledgement() {
            @Override
            public void acknowledge() {
                into.add(name);
            }

            @Override
            public void fail(Exception cause) {
                into.add(name + " failed: " + cause.getMessage());
            }
        };
    }

    @Test
    void a_transaction_is_acknowledged_when_both_consumers_did_and_never_before_an_older_one() {
        List<String> acknowledged = new ArrayList<>();
        BothAcknowledged both = new BothAcknowledged();
        BothAcknowledged.Pending tx1 = both.add(recording(acknowledged, "tx1"));
        BothAcknowledged.Pending tx2 = both.add(recording(acknowledged, "tx2"));
        Acknowledgement log1 = tx1.half();
        Acknowledgement sinks1 = tx1.half();
        Acknowledgement log2 = tx2.half();
        Acknowledgement sinks2 = tx2.half();

        log1.acknowledge();
        log2.acknowledge();
        sinks2.acknowledge();
        assertThat(acknowledged).as("tx2 is done by both, but tx1 waits for its sinks").isEmpty();
        sinks1.acknowledge();
        assertThat(acknowledged).containsExactly("tx1", "tx2");
    }

    @Test
    void a_failure_of_either_consumer_fails_the_transaction() {
        List<String> acknowledged = new ArrayList<>();
        BothAcknowledged both = new BothAcknowledged();
        BothAcknowledged.Pending tx = both.add(recording(acknowledged, "tx"));
        tx.half().acknowledge();
        tx.half().fail(new IllegalStateException("disk full"));
        assertThat(acknowledged).containsExactly("tx failed: disk full");
    }
}
