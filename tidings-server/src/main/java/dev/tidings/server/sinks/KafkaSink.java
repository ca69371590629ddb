package dev.tidings.server.sinks;

import dev.tidings.sink.RouteTemplate;
import dev.tidings.sink.Sink;
import dev.tidings.sink.SinkException;
import dev.tidings.sink.SinkMessage;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;

/**
 * Kafka, with the official producer: idempotent, {@code acks=all}, so the broker neither loses
 * nor duplicates a record the producer retried, and keeps order per partition. Topic per event
 * from a template; key = the row's primary key as JSON, so all changes of a row land in one
 * partition in commit order; headers {@code tidings-id} (the event id), {@code tidings-table},
 * {@code tidings-op}. A batch is confirmed when the broker acknowledged every record of it; the
 * producer batches and pipelines on its own ({@code linger.ms}).
 */
public final class KafkaSink implements Sink {
    private final KafkaProducer<byte[], byte[]> producer;
    private final RouteTemplate topic;

    /** @param overrides producer properties that replace the defaults (anything but the safety settings) */
    public KafkaSink(String bootstrapServers, RouteTemplate topic, Duration deliveryTimeout, Map<String, String> overrides) {
        this.topic = topic;
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(deliveryTimeout.toMillis()));
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(Math.min(30_000, deliveryTimeout.toMillis() / 2)));
        // send() blocks while the producer has no metadata for the topic (the broker unreachable: with
        // metadata.recovery.strategy=rebootstrap it can drop the metadata it had). If it gave up sooner than
        // the delivery timeout, that record would fail at once while later records of the batch went
        // out when the broker came back: the retried record would then land after them.
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(deliveryTimeout.toMillis()));
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "tidings");
        p.putAll(overrides);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        this.producer = new KafkaProducer<>(p);
    }

    @Override
    public CompletableFuture<Void> send(List<SinkMessage> batch) {
        CompletableFuture<?>[] acks = new CompletableFuture<?>[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            SinkMessage m = batch.get(i);
            RecordHeaders headers = new RecordHeaders();
            headers.add("tidings-id", m.id().getBytes(StandardCharsets.UTF_8));
            headers.add("tidings-table", (m.event().schema() + "." + m.event().table()).getBytes(StandardCharsets.UTF_8));
            headers.add("tidings-op", m.event().op().json().getBytes(StandardCharsets.UTF_8));
            ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic.render(m.event()), null,
                    KeyJson.of(m.event()), m.body(), headers);
            CompletableFuture<Void> ack = new CompletableFuture<>();
            try {
                producer.send(record, (metadata, error) -> {
                    if (error == null) {
                        ack.complete(null);
                    } else {
                        ack.completeExceptionally(new SinkException("Kafka: " + error.getMessage(), error, null,
                                error instanceof RecordTooLargeException));
                    }
                });
            } catch (RuntimeException e) {
                ack.completeExceptionally(new SinkException("Kafka: " + e.getMessage(), e));
            }
            acks[i] = ack;
        }
        return CompletableFuture.allOf(acks);
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
