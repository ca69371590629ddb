package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.tidings.sink.RouteTemplate;
import dev.tidings.sink.SinkMessage;
import dev.tidings.testing.Await;
import dev.tidings.testing.TcpProxy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Kafka sink against a real KRaft broker started in this JVM from the Kafka artifacts. */
@Tag("postgres")
@Tag("slow")
class KafkaSinkTest {
    static KafkaClusterTestKit cluster;

    @BeforeAll
    static void startBroker() throws Exception {
        cluster = KafkaTestBroker.start();
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void every_change_lands_keyed_by_primary_key_with_its_id_in_a_header_and_in_order_per_row() throws Exception {
        try (SinkHarness h = new SinkHarness("CREATE TABLE items (id int PRIMARY KEY, v int)");
             Admin admin = Admin.create(Map.of("bootstrap.servers", cluster.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic("cdc.public.items", 3, (short) 1))).all().get();
            h.start(List.of(Map.of("name", "kafka", "type", "kafka", "bootstrap_servers", cluster.bootstrapServers(),
                    "topic", "cdc.${schema}.${table}")));
            h.db.sql("INSERT INTO items SELECT g, 0 FROM generate_series(1, 200) g");
            for (int round = 1; round <= 3; round++) {
                h.db.sql("UPDATE items SET v = " + round);
            }
            int expected = 200 * 4;
            List<ConsumerRecord<String, String>> records = consume("cdc.public.items", expected);
            Map<String, Integer> lastV = new HashMap<>();
            List<String> ids = new ArrayList<>();
            for (ConsumerRecord<String, String> r : records) {
                JsonNode event = Delivered.MAPPER.readTree(r.value());
                String id = new String(r.headers().lastHeader("tidings-id").value(), StandardCharsets.UTF_8);
                assertThat(id).isEqualTo(event.get("id").asText());
                assertThat(r.key()).isEqualTo("{\"id\":" + event.get("record").get("id").asInt() + "}");
                int v = event.get("record").get("v").asInt();
                Integer previous = lastV.put(r.key(), v);
                assertThat(v).as("row %s in commit order within its partition", r.key()).isEqualTo(previous == null ? 0 : previous + 1);
                ids.add(id);
            }
            assertThat(ids).doesNotHaveDuplicates().hasSize(expected);
            assertThat(lastV).hasSize(200).containsValue(3);
            assertThat(h.delivery.metrics().get(0).delivered()).isEqualTo(expected);
            BrokerSinksTest.awaitConfirmedPastEverything(h);
        }
    }

    /**
     * The broker unreachable for a while under load: a broker of its own whose advertised
     * listener is a {@link TcpProxy}, so that cutting the proxy cuts the producer's every connection,
     * not only the bootstrap. During the outage ({@link SinkOutage}) WAL reading pauses and the slot
     * is not confirmed further; afterwards every change is in the topics, in commit order per table,
     * duplicates only as identical copies of an event.
     */
    @Test
    void the_broker_down_under_load_pauses_wal_reading_and_loses_nothing() throws Exception {
        long retried = brokerDownUnderLoad(Map.of());
        System.out.printf("broker down (delivery timeout 2 min): %d retries%n", retried);
    }

    /**
     * The same outage, longer than the sink's {@code delivery_timeout}: the sink retires its
     * producer, the unacknowledged batches fail and are sent again, oldest first, on a new one,
     * until the broker is back. Still nothing lost, no first delivery out of commit order (four
     * batches in flight), nothing confirmed meanwhile.
     */
    @Test
    void a_broker_outage_longer_than_the_delivery_timeout_loses_nothing_and_reorders_nothing() throws Exception {
        Duration deliveryTimeout = Duration.ofSeconds(2);
        assertThat(Duration.ofSeconds(SinkOutage.SECONDS)).as("the outage outlasts the delivery timeout")
                .isGreaterThan(deliveryTimeout.multipliedBy(2));
        long retried = brokerDownUnderLoad(Map.of("delivery_timeout", deliveryTimeout.toSeconds() + "s"));
        assertThat(retried).as("batches timed out and were sent again").isPositive();
        System.out.printf("broker down (delivery timeout %d ms): %d retries%n", deliveryTimeout.toMillis(), retried);
    }

    /**
     * What the fan-out does around a failed batch, played by hand against a broker behind a proxy:
     * batch A times out while the broker is unreachable; B and C, sent after it (as the fan-out may
     * before it sees the failure), fail at once without being sent, C even with the broker back;
     * then A, B and C are sent again in order and land in that order. A batch given up on (E,
     * dead-lettered) does not hold back the ones after it.
     */
    @Test
    void batches_sent_after_one_that_timed_out_are_held_back_until_it_is_sent_again_or_given_up() throws Exception {
        try (TcpProxy proxy = new TcpProxy(0); KafkaClusterTestKit broker = behind(proxy)) {
            String viaProxy = "localhost:" + proxy.port();
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", viaProxy))) {
                admin.createTopics(List.of(new NewTopic("held", 1, (short) 1))).all().get();
            }
            KafkaSink sink = new KafkaSink(viaProxy, RouteTemplate.parse("held"), Duration.ofSeconds(2), Map.of());
            try {
                deliver(sink, batch(0, 1)); // the producer knows the topic
                proxy.cut();
                CompletableFuture<Void> a = sink.send(batch(1, 10));
                assertThatThrownBy(() -> a.get(30, TimeUnit.SECONDS)).hasMessageContaining("Kafka:")
                        .hasMessageNotContaining("held back");
                assertThatThrownBy(() -> sink.send(batch(11, 10)).getNow(null)).as("B, sent after A failed")
                        .hasMessageContaining("held back until the batch that failed before it (from event 0/1000:1)");
                proxy.restore();
                assertThatThrownBy(() -> sink.send(batch(21, 10)).getNow(null)).as("C, with the broker back")
                        .hasMessageContaining("held back");
                deliver(sink, batch(1, 10));
                deliver(sink, batch(11, 10));
                deliver(sink, batch(21, 10));

                proxy.cut();
                CompletableFuture<Void> e = sink.send(batch(31, 10));
                assertThatThrownBy(() -> e.get(30, TimeUnit.SECONDS)).hasMessageNotContaining("held back");
                assertThatThrownBy(() -> sink.send(batch(41, 10)).getNow(null)).hasMessageContaining("held back");
                proxy.restore();
                deliver(sink, batch(41, 10)); // as the fan-out does once E is dead-lettered
                deliver(sink, batch(51, 10));
            } finally {
                sink.close();
            }
            List<Integer> first = new ArrayList<>();
            for (ConsumerRecord<String, String> r : consumeDistinct(viaProxy, "held", 51)) {
                int index = Integer.parseInt(r.value());
                if (!first.contains(index)) {
                    first.add(index);
                }
            }
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i <= 60; i++) {
                if (i < 31 || i > 40) {
                    expected.add(i);
                }
            }
            assertThat(first).as("first copies, in the order sent; E's never, nothing of B or C before A").isEqualTo(expected);
        }
    }

    /** Sends {@code batch} until the broker acknowledged it, as the fan-out retries (a new producer can be slow to start). */
    private static void deliver(KafkaSink sink, List<SinkMessage> batch) {
        Await.until(Duration.ofSeconds(60), "batch from " + batch.get(0).id() + " delivered", () -> {
            try {
                sink.send(batch).get(30, TimeUnit.SECONDS);
                return true;
            } catch (ExecutionException e) {
                assertThat(e).hasMessageNotContaining("held back");
                return false;
            }
        });
    }

    /** {@code n} events with ids {@code 0/1000:<from>} on, each with its index as body. */
    private static List<SinkMessage> batch(int from, int n) {
        List<SinkMessage> out = new ArrayList<>();
        for (int i = from; i < from + n; i++) {
            out.add(new SinkMessage(BrokerSinksTest.sampleEvent("0/1000:" + i), Integer.toString(i).getBytes(StandardCharsets.UTF_8)));
        }
        return out;
    }

    /** A broker of its own that advertises {@code proxy} as its listener, so that cutting the proxy cuts every connection. */
    private static KafkaClusterTestKit behind(TcpProxy proxy) throws Exception {
        KafkaClusterTestKit broker = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder().setCombined(true)
                .setNumBrokerNodes(1).setNumControllerNodes(1).build())
                .setConfigProp("advertised.listeners", "EXTERNAL://localhost:" + proxy.port()).build();
        try {
            broker.format();
            broker.startup();
            broker.waitForReadyBrokers();
        } catch (Exception e) {
            broker.close();
            throw e;
        }
        proxy.target(Integer.parseInt(broker.bootstrapServers().replaceAll(".*:", "")));
        return broker;
    }

    /** Runs the outage with these extra sink settings; returns how often the sink retried a batch. */
    private static long brokerDownUnderLoad(Map<String, Object> settings) throws Exception {
        try (TcpProxy proxy = new TcpProxy(0)) {
            try (KafkaClusterTestKit broker = behind(proxy); SinkHarness h = new SinkHarness()) {
                String viaProxy = "localhost:" + proxy.port();
                ChangeLoad load = new ChangeLoad(h.db.jdbcUrl, 2);
                try (Admin admin = Admin.create(Map.of("bootstrap.servers", viaProxy))) {
                    admin.createTopics(List.of(new NewTopic("cdc.public.load_0", 1, (short) 1),
                            new NewTopic("cdc.public.load_1", 1, (short) 1))).all().get();
                }
                Map<String, Object> sink = new HashMap<>(Map.of("name", "kafka", "type", "kafka", "bootstrap_servers", viaProxy,
                        "topic", "cdc.${schema}.${table}", "batch", 200, "queue", 1000));
                sink.putAll(settings);
                h.start(List.of(sink));
                // The producer is connected and has used both topics before the broker goes away. (When
                // it loses the broker it drops their metadata anyway: send() then blocks until the broker
                // is back, and the sender thread with it.)
                h.db.sql("INSERT INTO load_0 VALUES (0, 'warm-up')", "INSERT INTO load_1 VALUES (0, 'warm-up')",
                        "DELETE FROM load_0", "DELETE FROM load_1");
                Await.until(Duration.ofSeconds(30), "warm-up delivered", () -> h.delivery.metrics().get(0).delivered() == 4);
                BrokerSinksTest.awaitConfirmedPastEverything(h);

                SinkOutage.run(h, load, 40_000, new SinkOutage.Sink() {
                    @Override
                    public void down() {
                        proxy.cut();
                    }

                    @Override
                    public void up() {
                        assertThat(h.delivery.metrics().get(0).delivered()).as("nothing delivered while the broker is down")
                                .isEqualTo(4);
                        proxy.restore();
                    }
                });
                int[] counts = load.counts();
                List<Delivered.Message> messages = new ArrayList<>();
                for (int t = 0; t < counts.length; t++) {
                    for (ConsumerRecord<String, String> r : consumeDistinct(viaProxy, "cdc.public.load_" + t, counts[t] + 2)) {
                        JsonNode event = Delivered.MAPPER.readTree(r.value());
                        // the warm-up row (n = 0) and its delete are no part of the load
                        if (event.get("op").asText().equals("delete") || event.get("record").get("n").asInt() == 0) {
                            continue;
                        }
                        String id = new String(r.headers().lastHeader("tidings-id").value(), StandardCharsets.UTF_8);
                        assertThat(id).isEqualTo(event.get("id").asText());
                        messages.add(Delivered.parse(r.value()));
                    }
                }
                new Delivered().run(messages).verify(counts, true);
                BrokerSinksTest.awaitConfirmedPastEverything(h);
                assertThat(h.tidings.failure()).isNull();
                return h.delivery.metrics().get(0).retried();
            }
        }
    }

    /** Every record of a one-partition topic until {@code n} distinct event ids are there (or 60 s). */
    static List<ConsumerRecord<String, String>> consumeDistinct(String bootstrap, String topic, int n) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            Await.until(Duration.ofSeconds(60), () -> n + " distinct events in " + topic + ", got " + ids.size(), () -> {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(r);
                    ids.add(new String(r.headers().lastHeader("tidings-id").value(), StandardCharsets.UTF_8));
                }
                return ids.size() >= n;
            });
            // whatever else is already there (late duplicates) is checked too
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            Await.until(Duration.ofSeconds(30), "the rest of " + topic, () -> {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
                return consumer.position(partition) >= end;
            });
        }
        assertThat(ids).as("distinct events in %s", topic).hasSize(n);
        return out;
    }

    static List<ConsumerRecord<String, String>> consume(String topic, int n) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            // no consumer group: a one-broker cluster cannot host the offsets topic's default replication
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Await.until(Duration.ofSeconds(60), () -> n + " records in " + topic + ", got " + out.size(), () -> {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
                return out.size() >= n;
            });
        }
        assertThat(out).as("records in %s", topic).hasSize(n);
        return out;
    }
}
