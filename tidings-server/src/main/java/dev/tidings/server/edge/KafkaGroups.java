package dev.tidings.server.edge;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.server.consumers.Delivery;
import dev.tidings.server.consumers.GroupSpec;
import dev.tidings.server.consumers.GroupStatus;
import dev.tidings.server.consumers.Groups;
import dev.tidings.server.log.EventId;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongFunction;
import java.util.function.Predicate;

/**
 * Consumer groups on an edge node reading a Kafka topic: each group is a Kafka <em>share group</em>
 * (KIP-932), {@code tidings-<topic>-<name>}, so what is delivered, acknowledged, and how often is
 * kept by the brokers: every edge of the topic serves every group and an edge that dies loses
 * nothing (what it had handed out comes back when the record locks expire).
 *
 * <p>Mapping: the definitions are records of a compacted topic, {@code <topic>-tidings-groups},
 * keyed by name (read to its end on every call, so a group made on one edge is known on all);
 * {@code visibility_timeout} is the group's {@code share.record.lock.duration.ms}, {@code start}
 * its {@code share.auto.offset.reset} (which Kafka applies at the group's first fetch: {@code latest}
 * counts from the first receive, not from the create); an ack is {@code ACCEPT}, a nack {@code RELEASE} (after the
 * delay, by this edge), a reset {@code alterShareGroupOffsets}. Events of other tables, or that the
 * filter rejects, are accepted by the edge at once and not handed out.
 *
 * <p>A share consumer acknowledges only what it received itself, and in explicit mode polls again
 * only once all of it is acknowledged: so a receive takes a consumer of its own ({@link Slot}) from
 * a pool per group on this edge, and the slot is busy until what it handed out is acked, nacked or
 * past its visibility timeout (then released by a sweeper). An ack id names the edge and slot:
 * {@code <event id>@<delivery>.<edge>-<slot>.<offset>}; an edge refuses ack ids of another edge
 * (the record's lock belongs to that edge's member; the event comes back after the timeout).
 */
final class KafkaGroups implements Groups {
    private static final Logger log = LoggerFactory.getLogger(KafkaGroups.class);
    /** Consumers per group on one edge (share groups allow 200 members by default). */
    private static final int MAX_SLOTS = 64;
    /** An idle consumer leaves its group after this long, so a reset can find the group empty. */
    private static final Duration IDLE = Duration.ofSeconds(30);
    private static final Duration ADMIN = Duration.ofSeconds(10);

    private final String topic;
    private final String definitionsTopic;
    private final String servers;
    private final TopicPartition partition;
    private final String node = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000000, Integer.MAX_VALUE));
    private final Admin admin;
    private final KafkaProducer<String, String> writer;
    private final KafkaConsumer<String, String> reader;
    private final LongFunction<ChangeEvent> eventAt;
    /** The definitions read so far from {@link #definitionsTopic}. Guarded by {@link #reader}. */
    private final Map<String, GroupSpec> specs = new TreeMap<>();
    private boolean readerAssigned;
    private final Map<String, Pool> pools = new ConcurrentHashMap<>();
    private final AtomicInteger slotNumbers = new AtomicInteger();
    private final ExecutorService receives = Executors.newVirtualThreadPerTaskExecutor();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("tidings-kafka-groups").daemon(true).factory());

    /** @param eventAt the event at an offset of the topic, or null: for {@code lag_seconds} */
    KafkaGroups(String topic, String servers, LongFunction<ChangeEvent> eventAt) {
        this.topic = topic;
        this.definitionsTopic = topic + "-tidings-groups";
        this.servers = servers;
        this.partition = new TopicPartition(topic, 0);
        this.eventAt = eventAt;
        this.admin = Admin.create(Map.of("bootstrap.servers", servers, "client.id", "tidings-edge-groups"));
        Properties w = new Properties();
        w.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
        w.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        w.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        w.put(ProducerConfig.ACKS_CONFIG, "all");
        this.writer = new KafkaProducer<>(w);
        this.reader = new KafkaConsumer<>(KafkaBroker.assigned(servers, "tidings-edge-group-definitions"),
                new StringDeserializer(), new StringDeserializer());
        timer.scheduleWithFixedDelay(this::sweep, 200, 200, TimeUnit.MILLISECONDS);
    }

    private String groupId(String name) {
        return "tidings-" + topic + "-" + name;
    }

    @Override
    public boolean create(GroupSpec spec, boolean fromOldest) {
        if (spec.durable()) {
            throw new IllegalArgumentException(JetStreamGroups.DURABLE_REFUSED);
        }
        GroupSpec existing = specs().get(spec.name());
        if (existing != null) {
            if (existing.equals(spec)) {
                return false;
            }
            throw new IllegalStateException("a consumer group " + spec.name() + " exists with another definition; "
                    + "DELETE /api/consumers/" + spec.name() + " first, or pick another name");
        }
        try {
            FinalizedVersionRange share = admin.describeFeatures().featureMetadata().get(10, TimeUnit.SECONDS)
                    .finalizedFeatures().get("share.version");
            if (share == null || share.maxVersionLevel() < 1) {
                throw new IllegalArgumentException("the Kafka cluster at " + servers + " has share groups off, which consumer "
                        + "groups on a Kafka edge are: enable them (Kafka 4.1 or newer) with kafka-features.sh --bootstrap-server "
                        + servers.split(",")[0] + " upgrade --feature share.version=1");
            }
            String group = groupId(spec.name());
            try {
                admin.deleteShareGroups(List.of(group)).all().get(10, TimeUnit.SECONDS); // state of an earlier group of that name
            } catch (ExecutionException e) {
                if (e.getCause() instanceof GroupNotEmptyException) {
                    throw new IllegalStateException("Kafka share group " + group + " of an earlier group " + spec.name()
                            + " still has members (receives on an edge that has not seen the delete yet, idle ones leave within "
                            + IDLE.toSeconds() + " s): try again then, or pick another name");
                }
                if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                    throw e;
                }
            }
            try {
                admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, group), List.of(
                        set("share.auto.offset.reset", fromOldest ? "earliest" : "latest"),
                        set("share.isolation.level", "read_committed"),
                        set("share.record.lock.duration.ms", Long.toString(spec.visibilityTimeout().toMillis())))))
                        .all().get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new IllegalArgumentException("Kafka refused the group's settings: " + e.getCause().getMessage()
                        + " (visibility_timeout is the share group's record lock duration: it must lie within the brokers' "
                        + "group.share.min.record.lock.duration.ms and group.share.max.record.lock.duration.ms, 15s to 60s "
                        + "unless changed)", e);
            }
            ensureDefinitionsTopic();
            writer.send(new ProducerRecord<>(definitionsTopic, spec.name(), spec.json().toString())).get(10, TimeUnit.SECONDS);
            return true;
        } catch (ExecutionException | TimeoutException e) {
            throw unavailable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable(e);
        }
    }

    /** A share consumer of group {@code name}, subscribed, in explicit acknowledgement mode, polling {@code max} at a time. */
    private KafkaShareConsumer<byte[], byte[]> shareConsumer(String name, int client, int max) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId(name));
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(max));
        p.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
        // at most max records a poll, and a fetch acquires no more: the default (batch_optimized)
        // hands out whole producer batches, hundreds of records past a receive's max
        p.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "tidings-edge-group-" + name + "-" + client);
        KafkaShareConsumer<byte[], byte[]> consumer = new KafkaShareConsumer<>(p);
        consumer.subscribe(List.of(topic));
        return consumer;
    }

    /** The group's start offset (all before it acknowledged), as Kafka last persisted it; null before its first fetch. */
    private Long startOffset(String group) throws ExecutionException, InterruptedException, TimeoutException {
        try {
            SharePartitionOffsetInfo info = admin.listShareGroupOffsets(Map.of(group, new ListShareGroupOffsetsSpec()))
                    .partitionsToOffsetInfo(group).get(10, TimeUnit.SECONDS).get(partition);
            return info == null ? null : info.startOffset();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GroupIdNotFoundException) {
                return null;
            }
            throw e;
        }
    }

    /** The topic's first or next offset. */
    private long offset(boolean latest) throws ExecutionException, InterruptedException, TimeoutException {
        return admin.listOffsets(Map.of(partition, latest ? OffsetSpec.latest() : OffsetSpec.earliest()))
                .partitionResult(partition).get(10, TimeUnit.SECONDS).offset();
    }

    /** Moves the group's start offset (it has no members; not at all if it was never started). */
    private void move(String group, long to) throws ExecutionException, InterruptedException, TimeoutException {
        try {
            admin.alterShareGroupOffsets(group, Map.of(partition, to)).all().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                throw e;
            }
            log.debug("share group {} not started yet: it starts where share.auto.offset.reset says", group);
        }
    }

    private static AlterConfigOp set(String name, String value) {
        return new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET);
    }

    private void ensureDefinitionsTopic() throws InterruptedException, TimeoutException, ExecutionException {
        try {
            admin.createTopics(List.of(new NewTopic(definitionsTopic, Optional.of(1), Optional.empty())
                    .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT))))
                    .all().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw e;
            }
        }
    }

    /** The definitions, read to the end of the definitions topic (none while it does not exist). */
    private Map<String, GroupSpec> specs() {
        synchronized (reader) {
            try {
                TopicPartition p = new TopicPartition(definitionsTopic, 0);
                if (!readerAssigned) {
                    if (!admin.listTopics().names().get(10, TimeUnit.SECONDS).contains(definitionsTopic)) {
                        return Map.of();
                    }
                    reader.assign(Set.of(p));
                    readerAssigned = true;
                }
                long end = reader.endOffsets(Set.of(p), ADMIN).get(p);
                long deadline = System.nanoTime() + ADMIN.toNanos();
                while (reader.position(p, ADMIN) < end) {
                    for (ConsumerRecord<String, String> r : reader.poll(Duration.ofMillis(200))) {
                        if (r.value() == null) {
                            specs.remove(r.key());
                        } else {
                            specs.put(r.key(), GroupSpec.parse(r.value()));
                        }
                    }
                    if (System.nanoTime() > deadline) {
                        throw new TimeoutException("reading " + definitionsTopic + " to offset " + end);
                    }
                }
                return new TreeMap<>(specs);
            } catch (ExecutionException | TimeoutException | KafkaException e) {
                throw unavailable(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw unavailable(e);
            }
        }
    }

    private GroupSpec spec(String name) {
        GroupSpec spec = specs().get(name);
        if (spec == null) {
            throw new UnknownGroup(name);
        }
        return spec;
    }

    @Override
    public void delete(String name) {
        spec(name);
        try {
            writer.send(new ProducerRecord<>(definitionsTopic, name, null)).get(10, TimeUnit.SECONDS);
            closeSlots(name);
            try {
                admin.deleteShareGroups(List.of(groupId(name))).all().get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                // members on other edges: they leave once they see the group gone; a new group of that name deletes the state
                log.debug("share group {} not deleted yet: {}", groupId(name), e.getCause().getMessage());
            }
        } catch (ExecutionException | TimeoutException e) {
            throw unavailable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable(e);
        }
    }

    @Override
    public List<GroupStatus> list() {
        return specs().values().stream().map(this::status).sorted(Comparator.comparing(s -> s.spec().name())).toList();
    }

    @Override
    public GroupStatus status(String name) {
        return status(spec(name));
    }

    /**
     * pending: the records from the group's start offset (all before it are acknowledged) to the
     * end, of any table; in flight: handed out by this edge and not yet acked; position: the newest
     * event this edge handed out; lag: the age of the event at the start offset.
     */
    private GroupStatus status(GroupSpec spec) {
        Pool pool = pools.get(spec.name());
        long pending = 0;
        double lag = 0;
        try {
            Long start = startOffset(groupId(spec.name()));
            if (start != null) {
                long end = admin.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition)
                        .get(10, TimeUnit.SECONDS).offset();
                pending = Math.max(0, end - start);
                ChangeEvent oldest = pending > 0 && eventAt != null ? eventAt.apply(start) : null;
                if (oldest != null) {
                    lag = Math.max(0, System.currentTimeMillis() - oldest.tx().commitTime().toEpochMilli()) / 1000.0;
                }
            }
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            // the group has no state yet (no member ever joined), or Kafka did not answer: nothing to show
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new GroupStatus(spec, (int) Math.min(Integer.MAX_VALUE, pending), pool == null ? 0 : pool.inFlight(),
                pool == null ? 0 : pool.acked.sum(), pool == null ? null : pool.position.get(), false, lag);
    }

    @Override
    public CompletableFuture<Receipt> receive(String name, int max, Duration wait) {
        GroupSpec spec = spec(name);
        Pool pool = pools.computeIfAbsent(name, n -> new Pool());
        Slot slot = pool.take(Math.min(max, spec.maxAckPending()), spec);
        return CompletableFuture.supplyAsync(() -> pull(pool, slot, spec, wait), receives);
    }

    /** The receive itself, on a virtual thread: polls the slot's consumer until records come or {@code wait} ends. */
    private Receipt pull(Pool pool, Slot slot, GroupSpec spec, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        // records a fetch left behind an earlier empty poll were acquired (their lock started) then
        long lockedFrom = slot.emptySince != 0 ? slot.emptySince : System.nanoTime();
        Predicate<ChangeEvent> selection = spec.selection();
        EventJson json = new EventJson();
        List<Delivery> taken = new ArrayList<>();
        boolean skipped = false;
        boolean first = true;
        try {
            while (taken.isEmpty()) {
                // the first poll gets 100 ms at least: a poll of 0 only returns what an earlier one fetched
                long left = Math.max(first ? 100_000_000L : 0, deadline - System.nanoTime());
                first = false;
                var records = slot.consumer.poll(Duration.ofNanos(left));
                synchronized (slot) {
                    slot.emptySince = 0;
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        ChangeEvent event;
                        try {
                            event = json.read(r.value());
                        } catch (IllegalArgumentException e) {
                            slot.consumer.acknowledge(r, AcknowledgeType.REJECT); // not an event: never again
                            skipped = true;
                            continue;
                        }
                        if (!selection.test(event)) {
                            slot.consumer.acknowledge(r, AcknowledgeType.ACCEPT);
                            skipped = true;
                            continue;
                        }
                        int delivery = r.deliveryCount().map(Short::intValue).orElse(1);
                        EventId id = EventId.of(event);
                        taken.add(new Delivery(id + "@" + delivery + "." + node + "-" + slot.number + "." + r.offset(), delivery, event));
                        slot.out.put(r.offset(), r);
                        pool.position.set(id);
                    }
                    slot.deadline = lockedFrom + spec.visibilityTimeout().toNanos();
                    lockedFrom = System.nanoTime();
                }
                if (System.nanoTime() >= deadline) {
                    break;
                }
            }
        } catch (RuntimeException e) {
            synchronized (slot) {
                slot.out.clear();
            }
            pool.discard(slot);
            throw new Unavailable("Kafka did not answer the receive (" + e.getMessage() + "); receive again", e);
        }
        if (pool.closed()) { // the group was deleted or reset meanwhile
            synchronized (slot) {
                List.copyOf(slot.out.keySet()).forEach(offset -> release(slot, offset));
            }
            taken.clear();
        }
        if (taken.isEmpty()) {
            if (skipped || pool.closed()) {
                slot.consumer.commitAsync();
            }
            slot.emptySince = System.nanoTime(); // its last fetch may still answer, acquiring records
            pool.give(slot);
        }
        return new Receipt.Events(taken, EventFormat.named(spec.format()));
    }

    @Override
    public CompletableFuture<Answer> ack(String name, List<String> ackIds) {
        spec(name);
        Pool pool = pools.computeIfAbsent(name, n -> new Pool());
        Map<Slot, List<Held>> bySlot = new HashMap<>();
        List<String> refused = new ArrayList<>();
        held(pool, ackIds, bySlot, refused);
        return CompletableFuture.supplyAsync(() -> {
            int done = 0;
            for (Map.Entry<Slot, List<Held>> e : bySlot.entrySet()) {
                Slot slot = e.getKey();
                synchronized (slot) {
                    List<Held> acks = new ArrayList<>();
                    for (Held h : e.getValue()) {
                        ConsumerRecord<byte[], byte[]> r = slot.out.remove(h.offset);
                        if (r == null) {
                            refused.add(h.ackId); // expired or nacked meanwhile
                        } else {
                            slot.consumer.acknowledge(r, AcknowledgeType.ACCEPT);
                            acks.add(h);
                        }
                    }
                    if (acks.isEmpty()) {
                        continue; // nothing of this slot's: it may be polling for another receive
                    }
                    if (commit(slot)) {
                        done += acks.size();
                    } else {
                        acks.forEach(h -> refused.add(h.ackId));
                    }
                    pool.giveIfDone(slot);
                }
            }
            pool.acked.add(done);
            return new Answer(done, refused);
        }, receives);
    }

    /** Makes the slot's acknowledgements durable; false when Kafka refused them (their locks expired). */
    private boolean commit(Slot slot) {
        try {
            return slot.consumer.commitSync(ADMIN).values().stream().allMatch(Optional::isEmpty);
        } catch (RuntimeException e) {
            log.debug("acknowledgements of slot {} not committed", slot.number, e);
            return false;
        }
    }

    @Override
    public Answer nack(String name, List<String> ackIds, Duration delay) {
        spec(name);
        Pool pool = pools.computeIfAbsent(name, n -> new Pool());
        Map<Slot, List<Held>> bySlot = new HashMap<>();
        List<String> refused = new ArrayList<>();
        held(pool, ackIds, bySlot, refused);
        int done = 0;
        for (Map.Entry<Slot, List<Held>> e : bySlot.entrySet()) {
            Slot slot = e.getKey();
            synchronized (slot) {
                int released = 0;
                for (Held h : e.getValue()) {
                    if (!slot.out.containsKey(h.offset)) {
                        refused.add(h.ackId);
                    } else if (delay.isZero()) {
                        release(slot, h.offset);
                        released++;
                        done++;
                    } else {
                        // kept by this edge until then, within the record's lock
                        long at = Math.min(delay.toNanos(), Math.max(0, slot.deadline - System.nanoTime()));
                        timer.schedule(() -> {
                            synchronized (slot) {
                                if (release(slot, h.offset)) { // else acknowledged or expired meanwhile
                                    commit(slot);
                                    pool.giveIfDone(slot);
                                }
                            }
                        }, at, TimeUnit.NANOSECONDS);
                        done++;
                    }
                }
                if (released > 0) {
                    commit(slot);
                    pool.giveIfDone(slot);
                }
            }
        }
        return new Answer(done, refused);
    }

    /** Hands the record at {@code offset} back to the group, if the slot still holds it (true then). Holding the slot. */
    private static boolean release(Slot slot, long offset) {
        ConsumerRecord<byte[], byte[]> r = slot.out.remove(offset);
        if (r != null) {
            slot.consumer.acknowledge(r, AcknowledgeType.RELEASE);
        }
        return r != null;
    }

    /** Sorts ack ids into those of this edge's slots and the refused (another edge's, or an unknown slot). */
    private void held(Pool pool, List<String> ackIds, Map<Slot, List<Held>> bySlot, List<String> refused) {
        for (String ackId : ackIds) {
            Held h = Held.parse(ackId);
            Slot slot = h.node.equals(node) ? pool.slot(h.slot) : null;
            if (slot == null) {
                refused.add(ackId);
            } else {
                bySlot.computeIfAbsent(slot, s -> new ArrayList<>()).add(h);
            }
        }
    }

    @Override
    public void reset(String name, boolean latest) {
        spec(name);
        closeSlots(name);
        String group = groupId(name);
        try {
            move(group, offset(latest));
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GroupNotEmptyException) {
                throw new IllegalStateException("Kafka moves a share group only while it has no members, and share group "
                        + group + " has some on other edges: stop its workers there for " + IDLE.toSeconds() + " s (an "
                        + "edge's idle receivers leave then) and reset again");
            }
            throw unavailable(e);
        } catch (TimeoutException e) {
            throw unavailable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable(e);
        }
    }

    private void closeSlots(String name) {
        Pool pool = pools.remove(name);
        if (pool != null) {
            pool.closeAll();
        }
    }

    /** Every 200 ms: releases what stayed out past its visibility timeout; closes consumers idle for {@link #IDLE}. */
    private void sweep() {
        long now = System.nanoTime();
        for (Map.Entry<String, Pool> e : pools.entrySet()) {
            Pool pool = e.getValue();
            for (Slot slot : pool.busy()) {
                synchronized (slot) {
                    if (!slot.out.isEmpty() && now - slot.deadline > 0) {
                        for (Long offset : List.copyOf(slot.out.keySet())) {
                            release(slot, offset); // Kafka's lock has expired too: it is back in the group already
                        }
                        commit(slot);
                        pool.giveIfDone(slot);
                    }
                }
            }
            pool.closeIdle(now, specVisibility(e.getKey()));
        }
    }

    /** The group's visibility timeout as this edge last read it (30 s when not known). */
    private long specVisibility(String name) {
        synchronized (reader) {
            GroupSpec spec = specs.get(name);
            return spec == null ? Duration.ofSeconds(30).toNanos() : spec.visibilityTimeout().toNanos();
        }
    }

    private RuntimeException unavailable(Exception e) {
        return new Unavailable("Kafka at " + servers + " did not answer (" + e.getMessage()
                + "); try again once the brokers are reachable", e);
    }

    /** Ends the receives under way and leaves the groups (what this edge handed out comes back after the timeout). */
    void close() {
        timer.shutdownNow();
        receives.shutdownNow();
        pools.values().forEach(Pool::closeAll);
        writer.close(Duration.ZERO);
        synchronized (reader) {
            reader.close(Duration.ZERO);
        }
        admin.close(Duration.ZERO);
    }

    /** What an ack id names: the edge, its slot and the record's offset. */
    private record Held(String ackId, String node, int slot, long offset) {
        /** From {@code <event id>@<delivery>.<edge>-<slot>.<offset>}; fails with what one looks like. */
        static Held parse(String ackId) {
            int at = ackId == null ? -1 : ackId.lastIndexOf('@');
            String[] t = at < 0 ? new String[0] : ackId.substring(at + 1).split("\\.");
            int dash = t.length == 3 ? t[1].indexOf('-') : -1;
            try {
                if (dash > 0) {
                    EventId.parse(ackId.substring(0, at));
                    Integer.parseInt(t[0]);
                    return new Held(ackId, t[1].substring(0, dash), Integer.parseInt(t[1].substring(dash + 1)), Long.parseLong(t[2]));
                }
            } catch (IllegalArgumentException e) {
                // reported below
            }
            throw new IllegalArgumentException("'" + ackId + "' is not an ack id of a Kafka edge node; one looks like "
                    + "0/1A2B3C4:2@1.3f2a9c1b-4.517 (the event id, '@', the delivery, the edge and its receiver, the offset), as "
                    + "\"ack_id\" of every received event");
        }
    }

    /** One share consumer of a group on this edge, with what it handed out and not yet got back. */
    private static final class Slot {
        final int number;
        final int max;
        final KafkaShareConsumer<byte[], byte[]> consumer;
        /** Handed out, by offset. Guarded by this. */
        final Map<Long, ConsumerRecord<byte[], byte[]>> out = new HashMap<>();
        /** When what is out passes its visibility timeout ({@link System#nanoTime}). Guarded by this. */
        long deadline;
        /**
         * When its last poll came back empty, or 0 after one with records. A poll that ends empty
         * can leave a fetch in flight whose answer acquires records into the consumer's buffer
         * after the receive answered: their locks run from about then.
         */
        volatile long emptySince;
        long idleSince = System.nanoTime();

        Slot(int number, int max, KafkaShareConsumer<byte[], byte[]> consumer) {
            this.number = number;
            this.max = max;
            this.consumer = consumer;
        }
    }

    /** A group's consumers on this edge: idle ones by their {@code max.poll.records}, and all by number. */
    private final class Pool {
        final LongAdder acked = new LongAdder();
        final AtomicReference<EventId> position = new AtomicReference<>();
        private final Map<Integer, Slot> all = new ConcurrentHashMap<>();
        /** Guarded by this. */
        private final Map<Integer, ArrayDeque<Slot>> idle = new HashMap<>();
        private boolean closed;

        /** An idle consumer polling {@code max} records at a time, or a new one. */
        Slot take(int max, GroupSpec spec) {
            synchronized (this) {
                ArrayDeque<Slot> free = idle.get(max);
                if (free != null && !free.isEmpty()) {
                    return free.pop();
                }
                if (all.size() >= MAX_SLOTS) {
                    throw new Unavailable("this edge has " + MAX_SLOTS + " receives of group " + spec.name() + " out at once, "
                            + "which is its limit: ack or nack what was received before receiving more, or use another edge", null);
                }
            }
            int number = slotNumbers.incrementAndGet();
            Slot slot = new Slot(number, max, shareConsumer(spec.name(), number, max));
            all.put(number, slot);
            return slot;
        }

        Slot slot(int number) {
            return all.get(number);
        }

        /** Back to the idle ones. */
        synchronized void give(Slot slot) {
            slot.idleSince = System.nanoTime();
            if (closed) {
                all.remove(slot.number);
                slot.consumer.close(Duration.ZERO);
            } else {
                idle.computeIfAbsent(slot.max, m -> new ArrayDeque<>()).push(slot);
            }
        }

        /** Back to the idle ones once nothing it handed out is left. Holding the slot. */
        void giveIfDone(Slot slot) {
            if (slot.out.isEmpty() && all.get(slot.number) == slot && !isIdle(slot)) {
                give(slot);
            }
        }

        private synchronized boolean isIdle(Slot slot) {
            ArrayDeque<Slot> free = idle.get(slot.max);
            return free != null && free.contains(slot);
        }

        /** A consumer that failed: closed and forgotten. */
        void discard(Slot slot) {
            all.remove(slot.number);
            slot.consumer.close(Duration.ZERO);
        }

        List<Slot> busy() {
            return all.values().stream().filter(s -> !isIdle(s)).toList();
        }

        int inFlight() {
            int n = 0;
            for (Slot s : all.values()) {
                synchronized (s) {
                    n += s.out.size();
                }
            }
            return n;
        }

        /**
         * Closes the consumers idle for {@link #IDLE}, and sooner, after half the visibility
         * timeout, those whose last poll came back empty: records a late fetch put in their buffer
         * would otherwise wait there until their locks expire, and each such round costs the
         * records a delivery of Kafka's limit ({@code group.share.delivery.count.limit}). Closing
         * hands them back at once.
         */
        synchronized void closeIdle(long now, long visibility) {
            for (ArrayDeque<Slot> free : idle.values()) {
                free.removeIf(s -> {
                    long emptySince = s.emptySince;
                    if (now - s.idleSince > IDLE.toNanos() || (emptySince != 0 && now - emptySince > visibility / 2)) {
                        all.remove(s.number);
                        s.consumer.close(Duration.ZERO);
                        return true;
                    }
                    return false;
                });
            }
        }

        synchronized boolean closed() {
            return closed;
        }

        /**
         * Closes the idle consumers, and those holding events (Kafka releases what a closing share
         * consumer holds); one polling for a receive is closed when the receive ends.
         */
        void closeAll() {
            synchronized (this) {
                closed = true;
                idle.values().forEach(free -> free.forEach(s -> {
                    all.remove(s.number);
                    s.consumer.close(Duration.ZERO);
                }));
                idle.clear();
            }
            for (Slot s : List.copyOf(all.values())) {
                synchronized (s) {
                    if (!s.out.isEmpty()) {
                        s.out.clear();
                        all.remove(s.number);
                        s.consumer.close(Duration.ZERO);
                    }
                }
            }
        }
    }
}
