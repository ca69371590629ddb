package dev.tidings.server.edge;

import dev.tidings.event.ChangeEvent;
import dev.tidings.server.consumers.Groups;
import dev.tidings.server.log.EventId;
import dev.tidings.server.log.LogReader;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A Kafka topic as an edge node's broker, read with the official consumer. The topic must have
 * one partition: the leader's Kafka sink keys records by primary key, so over several partitions
 * the event ids would not grow with offsets and neither live order across rows nor a resume by
 * offset would hold. The partition is assigned, not subscribed (no consumer group, no committed
 * offsets), so an edge leaves no state in the cluster and any number of edges read one topic.
 *
 * <p>The sink keeps the partition in commit order, except that a new leader sends again what the
 * old one had published after the slot's confirmed position, and Kafka does not deduplicate across
 * producers: a record whose id is not after the newest consumed one is such a copy, and skipped.
 *
 * <p>Events are located by offset: the {@code tidings-id} header the Kafka sink sets is the
 * event id. The offsets of the newest events consumed live are kept ({@link OffsetIndex}), so a
 * resume among them reads from the right offset at once; an older one is found by a binary
 * search of the topic ({@link Positions}). Reads for resumes use a second consumer of their own (a consumer is
 * single-threaded), one at a time, and keep the last records they fetched, so a page costs a
 * fetch or two rather than one per record.
 */
final class KafkaBroker implements Broker {
    private static final Logger log = LoggerFactory.getLogger(KafkaBroker.class);
    private static final String ID_HEADER = "tidings-id";
    private static final Duration POLL = Duration.ofMillis(500);

    private final String topic;
    private final TopicPartition partition;
    private final Properties properties;
    private final KafkaConsumer<byte[], byte[]> reads;
    /** The records {@link #reads} fetched last, in offset order. Guarded by {@link #reads}. */
    private List<ConsumerRecord<byte[], byte[]>> fetched = List.of();
    private KafkaConsumer<byte[], byte[]> live;
    private Thread thread;
    private volatile boolean closed;
    private volatile boolean polling;
    /** The consumer's open connections to brokers; its value is read from any thread. */
    private volatile Metric connections;
    private volatile long offset = -1;
    /** The offsets of the newest events consumed live, so most resumes need no search. */
    private final OffsetIndex index = new OffsetIndex(100_000);
    private final KafkaGroups groups;

    private KafkaBroker(String topic, String servers, Properties properties, KafkaConsumer<byte[], byte[]> reads) {
        this.topic = topic;
        this.partition = new TopicPartition(topic, 0);
        this.properties = properties;
        this.reads = reads;
        this.groups = new KafkaGroups(topic, servers, this::eventAt);
    }

    /** Connects and checks that the topic exists with one partition; fails with what to do. */
    static KafkaBroker open(List<String> servers, String topic) {
        Properties p = assigned(String.join(",", servers), "tidings-edge");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(Positions.PAGE));
        KafkaConsumer<byte[], byte[]> reads = new KafkaConsumer<>(p);
        try {
            List<PartitionInfo> partitions = reads.partitionsFor(topic, Duration.ofSeconds(10));
            if (partitions == null || partitions.isEmpty()) {
                throw new IllegalArgumentException("Kafka topic " + topic + " does not exist at " + servers
                        + ": create it with one partition, e.g. kafka-topics.sh --create --topic " + topic + " --partitions 1");
            }
            if (partitions.size() > 1) {
                throw new IllegalArgumentException("Kafka topic " + topic + " has " + partitions.size() + " partitions: an edge "
                        + "reads a topic of one partition (event ids grow with its offsets); have the leader's Kafka sink "
                        + "write every table to one topic created with --partitions 1");
            }
            reads.assign(Set.of(new TopicPartition(topic, 0)));
            return new KafkaBroker(topic, String.join(",", servers), p, reads);
        } catch (RuntimeException e) {
            reads.close(Duration.ZERO);
            throw e instanceof IllegalArgumentException ? e
                    : new IllegalArgumentException("Kafka topic " + topic + " cannot be read at " + servers + ": " + e.getMessage(), e);
        }
    }

    /** A consumer's settings for reading assigned partitions by offset, committed records only, leaving nothing in the cluster. */
    static Properties assigned(String servers, String client) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        // an offset retention dropped: on from the oldest retained (what a read by position wants)
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, client);
        return p;
    }

    @Override
    public void consume(int recent, Consumer<ChangeEvent> events) {
        live = new KafkaConsumer<>(properties);
        connections = live.metrics().entrySet().stream()
                .filter(m -> m.getKey().group().equals("consumer-metrics") && m.getKey().name().equals("connection-count"))
                .map(Map.Entry::getValue).findFirst().orElse(null);
        live.assign(Set.of(partition));
        Map<TopicPartition, Long> first = live.beginningOffsets(Set.of(partition));
        Map<TopicPartition, Long> end = live.endOffsets(Set.of(partition));
        live.seek(partition, Math.max(first.get(partition), end.get(partition) - recent));
        EventJson reader = new EventJson();
        thread = Thread.ofPlatform().name("tidings-edge-kafka").daemon(true).start(() -> {
            EventId newest = null;
            while (!closed) {
                try {
                    for (ConsumerRecord<byte[], byte[]> r : live.poll(POLL)) {
                        offset = r.offset();
                        EventId id = liveId(r);
                        if (id == null || newest != null && !id.isAfter(newest)) {
                            continue; // not the sink's, or a copy a new leader sent again
                        }
                        newest = id;
                        index.add(id, r.offset());
                        ChangeEvent event = event(reader, r);
                        if (event != null) {
                            events.accept(event);
                        }
                    }
                    polling = true;
                } catch (WakeupException e) {
                    break;
                } catch (RuntimeException e) {
                    polling = false;
                    log.warn("reading Kafka topic {} failed; retrying: {}", topic, e.getMessage());
                    LockSupport.parkNanos(POLL.toNanos());
                }
            }
            live.close(Duration.ZERO);
        });
    }

    /** The record's event id, or null (logged) when it has none: not written by the sink. */
    private EventId liveId(ConsumerRecord<byte[], byte[]> r) {
        try {
            return id(r);
        } catch (IllegalStateException | IllegalArgumentException e) {
            log.error("topic {} offset {} skipped: {}", topic, r.offset(), e.getMessage());
            return null;
        }
    }

    private ChangeEvent event(EventJson reader, ConsumerRecord<byte[], byte[]> r) {
        try {
            return reader.read(r.value());
        } catch (IllegalArgumentException e) {
            log.error("topic {} offset {} skipped: {}", topic, r.offset(), e.getMessage());
            return null;
        }
    }

    @Override
    public LogReader.Read readAfter(EventId after, int max) {
        synchronized (reads) {
            try {
                long first = reads.beginningOffsets(Set.of(partition)).get(partition);
                long end = reads.endOffsets(Set.of(partition)).get(partition);
                EventJson pageReader = new EventJson();
                Positions.Messages<ConsumerRecord<byte[], byte[]>> messages = new Positions.Messages<>() {
                    @Override
                    public ConsumerRecord<byte[], byte[]> next(long position) {
                        return KafkaBroker.this.next(position, end);
                    }

                    @Override
                    public long position(ConsumerRecord<byte[], byte[]> r) {
                        return r.offset();
                    }

                    @Override
                    public EventId id(ConsumerRecord<byte[], byte[]> r) {
                        return KafkaBroker.this.id(r);
                    }

                    @Override
                    public ChangeEvent event(ConsumerRecord<byte[], byte[]> r) {
                        return pageReader.read(r.value());
                    }
                };
                long from = after == null ? -1 : index.positionAfter(after);
                return from >= first ? Positions.readFrom(from, end, after, max, messages)
                        : Positions.readAfter(first, end, after, max, messages);
            } catch (Exception e) {
                throw new IllegalStateException("reading Kafka topic " + topic + " after " + after + ": " + e.getMessage(), e);
            }
        }
    }

    /** The first record at or after {@code position} below {@code end}, from the last fetch when it holds it. Holding {@link #reads}. */
    private ConsumerRecord<byte[], byte[]> next(long position, long end) {
        if (!fetched.isEmpty() && fetched.get(0).offset() <= position && position <= fetched.get(fetched.size() - 1).offset()) {
            for (ConsumerRecord<byte[], byte[]> r : fetched) {
                if (r.offset() >= position) {
                    return r;
                }
            }
        }
        reads.seek(partition, position);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (reads.position(partition) < end) {
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(reads.poll(POLL).records(partition));
            if (!records.isEmpty()) {
                fetched = records;
                return records.get(0);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no record from offset " + position + " within 10 s");
            }
        }
        return null;
    }

    private EventId id(ConsumerRecord<byte[], byte[]> r) {
        Header id = r.headers().lastHeader(ID_HEADER);
        if (id == null) {
            throw new IllegalStateException("topic " + topic + " offset " + r.offset() + " has no " + ID_HEADER
                    + " header: only the Kafka sink of tidings serve should write to the topic an edge reads");
        }
        return EventId.parse(new String(id.value(), StandardCharsets.UTF_8));
    }

    @Override
    public EventId first() {
        synchronized (reads) {
            try {
                long first = reads.beginningOffsets(Set.of(partition)).get(partition);
                long end = reads.endOffsets(Set.of(partition)).get(partition);
                ConsumerRecord<byte[], byte[]> r = first < end ? next(first, end) : null;
                return r == null ? null : id(r);
            } catch (RuntimeException e) {
                return null;
            }
        }
    }

    /** The event at {@code position} (or the first after it), or null when there is none. */
    private ChangeEvent eventAt(long position) {
        synchronized (reads) {
            long end = reads.endOffsets(Set.of(partition)).get(partition);
            ConsumerRecord<byte[], byte[]> r = position < end ? next(position, end) : null;
            return r == null ? null : new EventJson().read(r.value());
        }
    }

    /** Kafka share groups (KIP-932), docs/consumers.md. */
    @Override
    public Groups groups() {
        return groups;
    }

    @Override
    public boolean connected() {
        Metric open = connections;
        return polling && thread != null && thread.isAlive()
                && (open == null || open.metricValue() instanceof Number n && n.doubleValue() > 0);
    }

    @Override
    public String position() {
        return "\"broker\":\"kafka\",\"topic\":\"" + topic + "\",\"offset\":" + offset;
    }

    @Override
    public void close() {
        closed = true;
        if (live != null) {
            live.wakeup();
        }
        try {
            if (thread != null) {
                thread.join(5_000);
            } else if (live != null) {
                live.close(Duration.ZERO);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        groups.close();
        synchronized (reads) {
            reads.close(Duration.ZERO);
        }
    }
}
