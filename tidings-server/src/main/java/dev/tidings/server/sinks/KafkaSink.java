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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Kafka, with the official producer: idempotent, {@code acks=all}, so the broker neither loses
 * nor duplicates a record the producer retried, and keeps order per partition. Topic per event
 * from a template; key = the row's primary key as JSON, so all changes of a row land in one
 * partition in commit order; headers {@code tidings-id} (the event id), {@code tidings-table},
 * {@code tidings-op}. A batch is confirmed when the broker acknowledged every record of it; the
 * producer batches and pipelines on its own ({@code linger.ms}).
 *
 * <p>Order past a failure. The producer keeps a partition's records in order only while none of
 * them fails: once one expires, a later one can still reach the broker, ahead of the copy sent
 * again. So the producer never gives up by itself (its {@code delivery.timeout.ms} is unbounded)
 * and the sink's {@code deliveryTimeout} is kept here: a batch not acknowledged in time, or any
 * record that fails, retires the producer. It is closed at once, which aborts all it still holds,
 * its unacknowledged batches fail, and they are sent again on a new producer. What a retired
 * producer had stored is, per partition, a prefix of what it was given (the broker accepts an
 * idempotent producer's records only in sequence), so sending again from the oldest failed batch
 * on keeps the first copy of every record in order. The fan-out sends failed batches again oldest
 * first but may start a new batch before it sees the failure: until the failed batches are sent
 * again, any other batch is held back (failed without being sent), to be sent again after them.
 *
 * <p>Threads: {@link #send} on the sink's sender thread; acknowledgements on the producer's I/O
 * thread; timeouts and closing a retired producer on a timer thread of this sink.
 */
public final class KafkaSink implements Sink {
    private final Properties properties;
    private final RouteTemplate topic;
    private final Duration deliveryTimeout;
    private final ScheduledThreadPoolExecutor timer;
    private volatile Producer producer;
    /** First event ids of the batches that failed and were not sent again yet, oldest first. Sender thread. */
    private final List<String> owed = new ArrayList<>();

    /** @param overrides producer properties that replace the defaults (anything but the safety settings) */
    public KafkaSink(String bootstrapServers, RouteTemplate topic, Duration deliveryTimeout, Map<String, String> overrides) {
        if (deliveryTimeout.isNegative() || deliveryTimeout.isZero()) {
            throw new IllegalArgumentException("Kafka: delivery_timeout must be positive (e.g. 2m), got " + deliveryTimeout);
        }
        this.topic = topic;
        this.deliveryTimeout = deliveryTimeout;
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(Math.max(1, Math.min(30_000, deliveryTimeout.toMillis() / 2))));
        // send() blocks while the producer has no metadata for the topic (the broker unreachable: with
        // metadata.recovery.strategy=rebootstrap it can drop the metadata it had); past this it fails the
        // record, which retires the producer like any other failure.
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(deliveryTimeout.toMillis()));
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "tidings");
        p.putAll(overrides);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.toString(Integer.MAX_VALUE));
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        this.properties = p;
        this.timer = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().name("tidings-kafka-timer").daemon(true).unstarted(r));
        timer.setRemoveOnCancelPolicy(true);
        timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.producer = new Producer(new KafkaProducer<>(p)); // bad properties fail here, at start
    }

    @Override
    public CompletableFuture<Void> send(List<SinkMessage> batch) {
        if (batch.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        Producer p = producer;
        if (p != null && p.retiredBecause != null) {
            try {
                p.closed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return CompletableFuture.failedFuture(new SinkException("Kafka: interrupted while replacing the producer", e));
            }
            owed.addAll(0, p.unacknowledged());
            producer = p = null;
        }
        String first = batch.get(0).id();
        if (!owed.isEmpty()) {
            int at = owed.indexOf(first);
            if (at < 0) {
                owed.add(first);
                return CompletableFuture.failedFuture(new SinkException("Kafka: held back until the batch that failed "
                        + "before it (from event " + owed.get(0) + ") is sent again, to keep order"));
            }
            owed.subList(0, at + 1).clear(); // those before it were given up on
        }
        if (p == null) {
            producer = p = new Producer(new KafkaProducer<>(properties));
        }
        return p.send(batch);
    }

    @Override
    public void close() throws Exception {
        timer.shutdown(); // pending timeouts are dropped; a producer retired already is closed by the timer first
        timer.awaitTermination(10, TimeUnit.SECONDS);
        Producer p = producer;
        if (p != null && p.closed.getCount() > 0) {
            p.client.close(Duration.ofSeconds(5));
        }
    }

    /** One producer, and the batches sent on it not yet acknowledged, oldest first. */
    private final class Producer {
        final KafkaProducer<byte[], byte[]> client;
        private final Map<CompletableFuture<Void>, String> unacknowledged = new LinkedHashMap<>(); // guarded by itself
        final CountDownLatch closed = new CountDownLatch(1);
        volatile String retiredBecause;

        Producer(KafkaProducer<byte[], byte[]> client) {
            this.client = client;
        }

        CompletableFuture<Void> send(List<SinkMessage> batch) {
            CompletableFuture<?>[] acks = new CompletableFuture<?>[batch.size()];
            for (int i = 0; i < batch.size(); i++) {
                CompletableFuture<Void> ack = new CompletableFuture<>();
                acks[i] = ack;
                if (retiredBecause != null) { // nothing after a failed record may go out on this producer
                    ack.completeExceptionally(failure(null));
                    continue;
                }
                try {
                    client.send(record(batch.get(i)), (metadata, error) -> {
                        if (error == null) {
                            ack.complete(null);
                        } else {
                            retire(error.getMessage());
                            ack.completeExceptionally(failure(error));
                        }
                    });
                } catch (RuntimeException e) {
                    retire(e.getMessage());
                    ack.completeExceptionally(failure(e));
                }
            }
            CompletableFuture<Void> all = CompletableFuture.allOf(acks);
            synchronized (unacknowledged) {
                unacknowledged.put(all, batch.get(0).id());
            }
            ScheduledFuture<?> timeout = schedule(() -> {
                if (!all.isDone()) {
                    retire("no acknowledgement from the broker within delivery_timeout (" + deliveryTimeout.toMillis() + " ms)");
                }
            });
            all.whenComplete((ok, error) -> {
                if (timeout != null) {
                    timeout.cancel(false);
                }
                if (error == null) {
                    synchronized (unacknowledged) {
                        unacknowledged.remove(all);
                    }
                }
            });
            return all;
        }

        private ScheduledFuture<?> schedule(Runnable task) {
            try {
                return timer.schedule(task, deliveryTimeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closing) {
                return null;
            }
        }

        private ProducerRecord<byte[], byte[]> record(SinkMessage m) {
            RecordHeaders headers = new RecordHeaders();
            headers.add("tidings-id", m.id().getBytes(StandardCharsets.UTF_8));
            headers.add("tidings-table", (m.event().schema() + "." + m.event().table()).getBytes(StandardCharsets.UTF_8));
            headers.add("tidings-op", m.event().op().json().getBytes(StandardCharsets.UTF_8));
            return new ProducerRecord<>(topic.render(m.event()), null, KeyJson.of(m.event()), m.body(), headers);
        }

        /** A record failed or a batch timed out: close at once (aborting the rest) on the timer thread. Any thread. */
        private void retire(String reason) {
            synchronized (this) {
                if (retiredBecause != null) {
                    return;
                }
                retiredBecause = reason == null ? "the producer failed" : reason;
            }
            try {
                timer.execute(this::closeNow);
            } catch (RejectedExecutionException sinkClosing) {
                // close() of the sink closes this producer
            }
        }

        private void closeNow() {
            try {
                client.close(Duration.ZERO);
            } finally {
                closed.countDown();
            }
        }

        /** The failure of a record: its own error first; once retired, the reason (records aborted by the close). */
        private SinkException failure(Throwable error) {
            if (error instanceof RecordTooLargeException) {
                return new SinkException("Kafka: " + error.getMessage(), error, null, true);
            }
            String reason = retiredBecause;
            String what = error != null && (reason == null || reason.equals(error.getMessage())) ? error.getMessage()
                    : reason + "; the batch is sent again on a new producer";
            return new SinkException("Kafka: " + what, error);
        }

        /** First event ids of the batches that failed, oldest first. Once {@link #closed}. */
        List<String> unacknowledged() {
            synchronized (unacknowledged) {
                return List.copyOf(unacknowledged.values());
            }
        }
    }
}
