package dev.tidings.server.realtime;

import dev.tidings.testing.Await;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client that stops reading fills its bounded send queue and is dropped; a client beside it
 * gets every change, so neither it nor the replication stream waited for the slow one.
 */
@Timeout(90)
@Tag("postgres")
@Tag("slow")
class SlowClientTest {

    @Test
    void a_client_that_stops_reading_is_disconnected_while_another_receives_everything() throws Exception {
        try (ServeHarness serve = ServeHarness.start(Map.of("limits.send_queue_bytes", "262144"));
             RawSocket slow = RawSocket.openAndStopReadingAfter(serve.ws("vsn=2.0.0"), 1);
             RawSocket fast = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            String join = "[\"1\",\"1\",\"realtime:all\",\"phx_join\",{\"config\":{\"postgres_changes\":[{\"event\":\"INSERT\",\"schema\":\"public\",\"table\":\"todos\"}]}}]";
            slow.send(join);
            fast.send(join);
            fast.await(n -> n.get(3).asText().equals("system"));
            Await.until(Duration.ofSeconds(10), "both clients subscribed", () -> serve.server.fanOut().size() == 2);

            // ~24 MB of changes, more than the slow client's socket buffers can hide, in batches the
            // fast client reads before the next one is written: it is fast, not infinitely fast. A
            // batch (~200 kB) fits the send queue: a burst larger than the queue arrives faster than
            // any client reads and is refused by design
            int rows = 6_000;
            int batch = 50;
            for (int i = 0; i < rows; i += batch) {
                serve.sql("INSERT INTO todos (id, title) SELECT g, repeat('x', 4000) FROM generate_series(" + i + ", "
                        + (i + batch - 1) + ") g");
                for (int k = i; k < i + batch; k++) {
                    JsonNode change = fast.await(n -> n.get(3).asText().equals("postgres_changes"));
                    assertThat(change.get(4).at("/data/record/id").asInt()).isEqualTo(k);
                }
            }
            Await.until(Duration.ofSeconds(20), "the slow client's subscription to be gone",
                    () -> serve.server.fanOut().size() == 1);
        }
    }
}
