package dev.tidings.server.sinks;

import dev.tidings.testing.Await;
import com.fasterxml.jackson.databind.JsonNode;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each broker sink against the real server on this machine (Redis 6379, NATS 4222, RabbitMQ
 * 5672): every change arrives with its event id, routed per table, and the slot is confirmed.
 */
@Tag("postgres")
class BrokerSinksTest {
    static final String UNIQUE = "tidings-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();

    static final String[] SETUP = {"CREATE TABLE orders (id int PRIMARY KEY, total numeric)",
            "CREATE TABLE users (id int PRIMARY KEY, name text)"};

    static void load(SinkHarness h) {
        h.db.transaction("INSERT INTO orders VALUES (1, 9.50)", "INSERT INTO users VALUES (1, 'ann')");
        h.db.sql("UPDATE orders SET total = 10.00 WHERE id = 1", "DELETE FROM users WHERE id = 1");
    }

    @Test
    void redis_streams_get_every_change_per_table_with_its_id_and_pubsub_publishes_live() throws Exception {
        String prefix = UNIQUE + "-redis";
        RedisClient client = RedisClient.create("redis://127.0.0.1:6379");
        try (SinkHarness h = new SinkHarness(SETUP);
             StatefulRedisConnection<String, String> redis = client.connect();
             StatefulRedisPubSubConnection<String, String> sub = client.connectPubSub()) {
            List<String> published = new CopyOnWriteArrayList<>();
            sub.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(String pattern, String channel, String message) {
                    published.add(channel + " " + message);
                }
            });
            sub.sync().psubscribe(prefix + "-live:*");
            h.start(List.of(
                    Map.of("name", "streams", "type", "redis", "stream", prefix + ":${schema}.${table}", "maxlen", 1000),
                    Map.of("name", "live", "type", "redis", "mode", "pubsub", "channel", prefix + "-live:${table}",
                            "format", "supabase")));
            load(h);
            Await.until(Duration.ofSeconds(20), "4 entries", () -> redis.sync().xlen(prefix + ":public.orders") == 2
                    && redis.sync().xlen(prefix + ":public.users") == 2 && published.size() == 4);
            List<StreamMessage<String, String>> orders = redis.sync().xrange(prefix + ":public.orders", Range.create("-", "+"));
            JsonNode first = Delivered.MAPPER.readTree(orders.get(0).getBody().get("event"));
            assertThat(orders.get(0).getBody()).containsEntry("id", first.get("id").asText()).containsEntry("op", "insert")
                    .containsEntry("table", "public.orders");
            assertThat(first.get("record").get("total").decimalValue()).isEqualByComparingTo("9.50");
            assertThat(orders.get(1).getBody().get("op")).isEqualTo("update");
            assertThat(published.get(0)).startsWith(prefix + "-live:orders {").contains("\"type\":\"INSERT\"");
            awaitConfirmedPastEverything(h);
            redis.sync().del(prefix + ":public.orders", prefix + ":public.users");
        } finally {
            client.shutdown();
        }
    }

    @Test
    void nats_jetstream_gets_every_change_with_nats_msg_id_and_drops_redelivered_duplicates() throws Exception {
        String stream = UNIQUE.replace('-', '_') + "_nats";
        io.nats.client.Connection nc = Nats.connect("nats://127.0.0.1:4222");
        try (SinkHarness h = new SinkHarness(SETUP)) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            jsm.addStream(StreamConfiguration.builder().name(stream).subjects(stream + ".>")
                    .storageType(StorageType.Memory).build());
            try {
                h.start(List.of(Map.of("name", "nats", "type", "nats", "subject", stream + ".${schema}.${table}")));
                load(h);
                Await.until(Duration.ofSeconds(20), "4 messages in the stream", () -> count(jsm, stream) == 4);
                List<String> ids = new ArrayList<>();
                for (long seq = 1; seq <= 4; seq++) {
                    MessageInfo m = jsm.getMessage(stream, seq);
                    JsonNode event = Delivered.MAPPER.readTree(new String(m.getData(), StandardCharsets.UTF_8));
                    assertThat(m.getHeaders().getFirst("Nats-Msg-Id")).isEqualTo(event.get("id").asText());
                    assertThat(m.getSubject()).isEqualTo(stream + ".public." + event.get("table").asText());
                    ids.add(event.get("id").asText());
                }
                awaitConfirmedPastEverything(h);
                // the same events again (as after a crash): JetStream drops them by Nats-Msg-Id
                h.stop();
                NatsSink again = new NatsSink("nats://127.0.0.1:4222", dev.tidings.sink.RouteTemplate.parse(stream + ".x"),
                        Duration.ofSeconds(5));
                byte[] body = jsm.getMessage(stream, 1).getData();
                again.send(List.of(new dev.tidings.sink.SinkMessage(sampleEvent(ids.get(0)), body))).get();
                again.close();
                assertThat(count(jsm, stream)).as("a duplicate id is not stored again").isEqualTo(4);
            } finally {
                jsm.deleteStream(stream);
            }
        } finally {
            nc.close();
        }
    }

    @Test
    void rabbitmq_gets_persistent_confirmed_messages_routed_per_table_with_message_id() throws Exception {
        String exchange = UNIQUE + "-x";
        String queue = UNIQUE + "-q";
        ConnectionFactory f = new ConnectionFactory();
        f.setUri("amqp://guest:guest@127.0.0.1:5672");
        try (SinkHarness h = new SinkHarness(SETUP); Connection c = f.newConnection(); Channel ch = c.createChannel()) {
            ch.exchangeDeclare(exchange, "topic", false, true, null);
            ch.queueDeclare(queue, false, false, true, null);
            ch.queueBind(queue, exchange, "public.orders");
            try {
                h.start(List.of(Map.of("name", "rabbit", "type", "rabbitmq", "exchange", exchange,
                        "routing_key", "${schema}.${table}", "tables", List.of("orders"))));
                load(h);
                List<GetResponse> got = new ArrayList<>();
                Await.until(Duration.ofSeconds(20), "2 order messages", () -> {
                    try {
                        GetResponse r = ch.basicGet(queue, true);
                        if (r != null) {
                            got.add(r);
                        }
                        return got.size() == 2;
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                });
                for (GetResponse r : got) {
                    JsonNode event = Delivered.MAPPER.readTree(r.getBody());
                    assertThat(event.get("table").asText()).isEqualTo("orders");
                    assertThat(r.getProps().getMessageId()).isEqualTo(event.get("id").asText());
                    assertThat(r.getProps().getDeliveryMode()).isEqualTo(2);
                    assertThat(r.getProps().getHeaders().get("tidings-id").toString()).isEqualTo(event.get("id").asText());
                }
                awaitConfirmedPastEverything(h);
            } finally {
                ch.exchangeDelete(exchange);
                ch.queueDelete(queue);
            }
        }
    }

    @Test
    void an_unroutable_rabbitmq_message_stops_the_stream_instead_of_vanishing() throws Exception {
        String exchange = UNIQUE + "-unbound";
        ConnectionFactory f = new ConnectionFactory();
        f.setUri("amqp://guest:guest@127.0.0.1:5672");
        try (SinkHarness h = new SinkHarness(SETUP); Connection c = f.newConnection(); Channel ch = c.createChannel()) {
            ch.exchangeDeclare(exchange, "topic", false, true, null);
            try {
                h.start(List.of(Map.of("name", "rabbit", "type", "rabbitmq", "exchange", exchange)));
                load(h);
                assertThat(h.tidings.await(20_000)).isTrue();
                assertThat(h.tidings.failure()).hasMessageContaining("sink rabbit could not deliver event")
                        .hasMessageContaining("bind a queue to exchange '" + exchange + "'");
            } finally {
                ch.exchangeDelete(exchange);
            }
        }
    }

    static long count(JetStreamManagement jsm, String stream) {
        try {
            return jsm.getStreamInfo(stream).getStreamState().getMsgCount();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static dev.tidings.event.ChangeEvent sampleEvent(String id) {
        String[] parts = id.split(":");
        var tx = new dev.tidings.event.Transaction(1, dev.tidings.base.Lsn.parse(parts[0]), java.time.Instant.now());
        return new dev.tidings.event.ChangeEvent(dev.tidings.event.Op.INSERT, "public", "x", List.of(), null, null,
                List.of(), tx, Integer.parseInt(parts[1]), tx.commitLsn(), null);
    }

    static void awaitConfirmedPastEverything(SinkHarness h) {
        dev.tidings.base.Lsn end = dev.tidings.base.Lsn.parse(h.db.queryValue("SELECT pg_current_wal_insert_lsn()::text"));
        h.db.sql("SET synchronous_commit = on", "SELECT txid_current()");
        Await.until(Duration.ofSeconds(20), "slot confirmed past the load", () -> h.db.confirmedFlush().compareTo(end) >= 0);
    }
}
