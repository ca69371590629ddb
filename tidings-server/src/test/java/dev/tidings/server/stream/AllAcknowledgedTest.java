package dev.tidings.server.stream;

import dev.tidings.pipeline.Delivery.Acknowledgement;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

@Tag("unit")
class AllAcknowledgedTest {

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
        AllAcknowledged all = new AllAcknowledged();
        AllAcknowledged.Pending tx1 = all.add(recording(acknowledged, "tx1"), 2);
        AllAcknowledged.Pending tx2 = all.add(recording(acknowledged, "tx2"), 2);
        Acknowledgement log1 = tx1.part();
        Acknowledgement sinks1 = tx1.part();
        Acknowledgement log2 = tx2.part();
        Acknowledgement sinks2 = tx2.part();

        log1.acknowledge();
        log2.acknowledge();
        sinks2.acknowledge();
        assertThat(acknowledged).as("tx2 is done by both, but tx1 waits for its sinks").isEmpty();
        sinks1.acknowledge();
        assertThat(acknowledged).containsExactly("tx1", "tx2");
    }

    @Test
    void a_transaction_waits_for_every_one_of_three_consumers() {
        List<String> acknowledged = new ArrayList<>();
        AllAcknowledged all = new AllAcknowledged();
        AllAcknowledged.Pending tx = all.add(recording(acknowledged, "tx"), 3);
        Acknowledgement log = tx.part();
        Acknowledgement sinks = tx.part();
        Acknowledgement groups = tx.part();
        log.acknowledge();
        groups.acknowledge();
        assertThat(acknowledged).as("the sinks have not confirmed it").isEmpty();
        sinks.acknowledge();
        assertThat(acknowledged).containsExactly("tx");
    }

    @Test
    void a_failure_of_either_consumer_fails_the_transaction() {
        List<String> acknowledged = new ArrayList<>();
        AllAcknowledged all = new AllAcknowledged();
        AllAcknowledged.Pending tx = all.add(recording(acknowledged, "tx"), 2);
        tx.part().acknowledge();
        tx.part().fail(new IllegalStateException("disk full"));
        assertThat(acknowledged).containsExactly("tx failed: disk full");
    }
}
