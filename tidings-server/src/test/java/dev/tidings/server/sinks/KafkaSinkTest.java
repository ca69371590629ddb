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
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/** The Kafka sink against a real KRaft broker started in this JVM from the Kafka artifacts. */
class KafkaSinkTest {
    static KafkaClusterTestKit cluster;

    @BeforeAll
    static void startBroker() throws Exception {
        cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder().setCombined(true)
                .setNumBrokerNodes(1).setNumControllerNodes(1).build()).build();
        cluster.format();
        cluster.startup();
        cluster.waitForReadyBrokers();
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
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (out.size() < n && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        assertThat(out).as("records in %s", topic).hasSize(n);
        return out;
    }
}
