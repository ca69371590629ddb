package dev.tidings.server.edge;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.EventFormat;
import dev.tidings.event.LogicalMessage;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import dev.tidings.event.TruncateOptions;
import dev.tidings.server.log.EventId;
import dev.tidings.server.log.LogReader;
import dev.tidings.server.sinks.KafkaSink;
import dev.tidings.server.sinks.KafkaTestBroker;
import dev.tidings.server.sinks.NatsSink;
import dev.tidings.sink.RouteTemplate;
import dev.tidings.sink.SinkMessage;
import dev.tidings.testing.Await;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An edge node over the local JetStream, in-process: what the NATS sink publishes comes back as
 * the same event (its tidings JSON byte for byte, values of every kind, truncates, messages); a
 * resume inside the memory window, one older than it (read from the stream by binary search on
 * sequence), and one older than the stream's retention ({@code Expired}); the same over Kafka.
 */
@Tag("broker")
class EdgeNodeTest {
    private static final EventFormat TIDINGS = EventFormat.named("tidings");
    private static final List<Column> COLUMNS = List.of(new Column("id", "int8", 20, true),
            new Column("price", "numeric", 1700, false), new Column("doc", "jsonb", 3802, false), new Column("note", "text", 25, false));

    @Test
    void events_come_back_as_published_and_resume_from_the_window_the_stream_or_expire() throws Exception {
        String stream = "edge_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection nats = Nats.connect("nats://127.0.0.1:4222")) {
            JetStreamManagement jsm = nats.jetStreamManagement();
            jsm.addStream(StreamConfiguration.builder().name(stream).subjects(stream + ".>").storageType(StorageType.Memory).build());
            NatsSink sink = new NatsSink("nats://127.0.0.1:4222", RouteTemplate.parse(stream + ".${table}"), Duration.ofSeconds(5));
            try {
                List<ChangeEvent> published = new ArrayList<>();
                for (int tx = 1; tx <= 30; tx++) {
                    published.addAll(transaction(tx));
                }
                List<ChangeEvent> first = published.subList(0, 60);
                sink.send(first.stream().map(e -> new SinkMessage(e, TIDINGS.toBytes(e))).toList()).get();
                List<ChangeEvent> live = new CopyOnWriteArrayList<>();
                try (EdgeNode edge = EdgeNode.start(dev.tidings.server.config.EdgeSource.parse("nats://127.0.0.1/" + stream), 10, live::add)) {
                    List<ChangeEvent> rest = published.subList(60, published.size());
                    sink.send(rest.stream().map(e -> new SinkMessage(e, TIDINGS.toBytes(e))).toList()).get();
                    Await.until(Duration.ofSeconds(10), "the edge to consume every event", () -> live.size() == 10 + rest.size());
                    assertThat(json(live.subList(10, live.size()))).as("live events, as the leader streamed them").isEqualTo(json(rest));
                    assertThat(edge.live()).isTrue();
                    assertThat(edge.positionJson()).contains("\"sequence\":" + published.size())
                            .contains(published.getLast().id());

                    LogReader log = edge.log();
                    EventId nearEnd = EventId.of(published.get(published.size() - 5));
                    assertThat(json(events(log.readAfter(nearEnd, 100)))).as("from the window")
                            .isEqualTo(json(published.subList(published.size() - 4, published.size())));
                    EventId old = EventId.of(published.get(6));
                    assertThat(json(events(log.readAfter(old, 20)))).as("older than the window: from the stream")
                            .isEqualTo(json(published.subList(7, 27)));
                    assertThat(json(events(log.readAfter(null, 5)))).as("from the oldest").isEqualTo(json(published.subList(0, 5)));
                    assertThat(log.first()).isEqualTo(EventId.of(published.getFirst()));
                    assertThat(log.last()).isEqualTo(EventId.of(published.getLast()));

                    jsm.purgeStream(stream, io.nats.client.PurgeOptions.builder().sequence(21).build()); // retention dropped 1–20
                    assertThat(log.readAfter(old, 20)).as("gone from the stream")
                            .isEqualTo(new LogReader.Read.Expired(EventId.of(published.get(20))));
                    assertThat(json(events(log.readAfter(EventId.of(published.get(19)), 3)))).as("right after what was dropped")
                            .isEqualTo(json(published.subList(20, 23)));
                }
            } finally {
                sink.close();
                jsm.deleteStream(stream);
            }
        }
    }

    /**
     * The same over a Kafka topic of one partition, by offset; and what Kafka does not deduplicate:
     * the copies a new leader sends again reach neither live clients nor resumes.
     */
    @Test
    void a_kafka_topic_resumes_by_offset_expires_after_retention_drops_a_new_leaders_copies_and_is_not_live_without_its_broker() throws Exception {
        KafkaClusterTestKit kafka = KafkaTestBroker.start();
        boolean stopped = false;
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic("edge", 1, (short) 1), new NewTopic("wide", 3, (short) 1))).all().get();
            KafkaSink sink = new KafkaSink(kafka.bootstrapServers(), RouteTemplate.parse("edge"), Duration.ofSeconds(30), Map.of());
            try {
                List<ChangeEvent> published = new ArrayList<>();
                for (int tx = 1; tx <= 31; tx++) {
                    published.addAll(transaction(tx));
                }
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> EdgeNode.start(
                        dev.tidings.server.config.EdgeSource.parse("kafka://" + kafka.bootstrapServers() + "/wide"), 10, e -> { }))
                        .hasMessageContaining("has 3 partitions").hasMessageContaining("--partitions 1");
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> EdgeNode.start(
                        dev.tidings.server.config.EdgeSource.parse("kafka://" + kafka.bootstrapServers() + "/missing"), 10, e -> { }))
                        .hasMessageContaining("does not exist").hasMessageContaining("--partitions 1");
                List<ChangeEvent> last = published.subList(90, 93);
                published = published.subList(0, 90);
                send(sink, published.subList(0, 60));
                List<ChangeEvent> live = new CopyOnWriteArrayList<>();
                try (EdgeNode edge = EdgeNode.start(dev.tidings.server.config.EdgeSource.parse("kafka://" + kafka.bootstrapServers() + "/edge"), 10, live::add)) {
                    List<ChangeEvent> rest = published.subList(60, published.size());
                    send(sink, rest);
                    send(sink, published.subList(30, 40)); // a new leader sends again from an older position
                    send(sink, last);
                    Await.until(Duration.ofSeconds(20), "the edge to consume every event", () -> live.size() >= 10 + rest.size() + 3);
                    List<ChangeEvent> expected = new ArrayList<>(rest);
                    expected.addAll(last);
                    assertThat(json(live.subList(10, live.size()))).as("live events, once each").isEqualTo(json(expected));
                    assertThat(edge.live()).isTrue();
                    assertThat(edge.positionJson()).contains("\"offset\":" + (published.size() + 10 + 3 - 1));

                    LogReader log = edge.log();
                    EventId old = EventId.of(published.get(6));
                    assertThat(json(events(log.readAfter(old, 20)))).as("older than the window: from the topic")
                            .isEqualTo(json(published.subList(7, 27)));
                    EventId beforeCopies = EventId.of(published.get(75)); // older than the window
                    List<ChangeEvent> afterCopies = new ArrayList<>(published.subList(76, 90));
                    afterCopies.addAll(last);
                    assertThat(json(events(log.readAfter(beforeCopies, 100)))).as("across the copies, from the topic")
                            .isEqualTo(json(afterCopies));
                    assertThat(json(events(log.readAfter(null, 5)))).as("from the oldest").isEqualTo(json(published.subList(0, 5)));
                    assertThat(log.first()).isEqualTo(EventId.of(published.getFirst()));

                    admin.deleteRecords(Map.of(new TopicPartition("edge", 0), RecordsToDelete.beforeOffset(20))).all().get();
                    assertThat(log.readAfter(old, 20)).as("gone from the topic")
                            .isEqualTo(new LogReader.Read.Expired(EventId.of(published.get(20))));
                    assertThat(json(events(log.readAfter(EventId.of(published.get(19)), 3)))).as("right after what was dropped")
                            .isEqualTo(json(published.subList(20, 23)));

                    kafka.close();
                    stopped = true;
                    Await.until(Duration.ofSeconds(30), "the edge to be not live without its broker", () -> !edge.live());
                }
            } finally {
                sink.close();
            }
        } finally {
            if (!stopped) {
                kafka.close();
            }
        }
    }

    /** Sends {@code events} through the sink, as the leader's fan-out does, until acknowledged. */
    private static void send(KafkaSink sink, List<ChangeEvent> events) throws Exception {
        sink.send(events.stream().map(e -> new SinkMessage(e, TIDINGS.toBytes(e))).toList()).get(30, java.util.concurrent.TimeUnit.SECONDS);
    }

    @Test
    void an_event_of_another_format_fails_with_what_to_check() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new EventJson().read("{\"payload\":{}}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("format: tidings");
    }

    /** Three events of every kind per transaction: an insert with awkward values, a truncate or message, an update. */
    private static List<ChangeEvent> transaction(int n) {
        Transaction tx = new Transaction(700 + n, Lsn.of(0x1000L * n), Instant.parse("2026-12-05T10:00:00Z").plusMillis(n), n % 4 == 0 ? "origin" : null);
        Row row = new Row(COLUMNS, new String[] {Integer.toString(n), "12345678901234567890.000000000001" + n,
                "{\"a\": [1, 2.50, null], \"b\": \"\\u00e9\\\"\"}", n % 3 == 0 ? null : "\"line\\nbreak\""});
        ChangeEvent insert = new ChangeEvent(Op.INSERT, "public", "items", COLUMNS, row, null, n % 3 == 0 ? List.of("note") : List.of(),
                tx, 0, Lsn.of(0x1000L * n - 30), null);
        ChangeEvent second = n % 2 == 0
                ? new ChangeEvent(Op.TRUNCATE, "public", "items", COLUMNS, null, null, List.of(), tx, 1, Lsn.of(0x1000L * n - 20), null,
                        new TruncateOptions(true, false))
                : new ChangeEvent(Op.MESSAGE, "", "app", List.of(), null, null, List.of(), tx, 1, Lsn.of(0x1000L * n - 20),
                        new LogicalMessage(true, "app", new byte[] {(byte) 0xff, 'x'}));
        ChangeEvent update = new ChangeEvent(Op.UPDATE, "public", "items", COLUMNS, row, row, List.of(), tx, 2, Lsn.of(0x1000L * n - 10), null);
        return List.of(insert, second, update);
    }

    private static List<ChangeEvent> events(LogReader.Read read) {
        assertThat(read).isInstanceOf(LogReader.Read.Events.class);
        return ((LogReader.Read.Events) read).events();
    }

    private static List<String> json(List<ChangeEvent> events) {
        return events.stream().map(e -> new String(TIDINGS.toBytes(e), StandardCharsets.UTF_8)).toList();
    }
}
