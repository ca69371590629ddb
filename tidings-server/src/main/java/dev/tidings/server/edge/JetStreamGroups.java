package dev.tidings.server.edge;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.server.consumers.Delivery;
import dev.tidings.server.consumers.GroupSpec;
import dev.tidings.server.consumers.GroupStatus;
import dev.tidings.server.consumers.Groups;
import dev.tidings.server.log.EventId;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Message;
import io.nats.client.Subscription;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.MessageInfo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

/**
 * Consumer groups on an edge node reading a JetStream stream: each group is a durable pull
 * consumer of that stream, {@code tidings-group-<name>}, so its state (what was delivered, what
 * is acknowledged, delivery counts, ack deadlines) lives in JetStream. Every edge of the stream
 * serves every group, a worker may receive on one edge and acknowledge on another, and an edge
 * that dies loses nothing but the receives it was answering (their events come back after the
 * visibility timeout).
 *
 * <p>Mapping: the definition is the consumer's description (the same JSON as on the leader);
 * {@code visibility_timeout} is its ack wait, {@code max_ack_pending} its max ack pending,
 * {@code start} its deliver policy (latest: new, oldest: all); a nack is {@code -NAK} with the
 * delay; a reset deletes and creates the consumer again at the oldest or newest message. A
 * receive is a pull request with {@code no_wait} (what is there now), and while nothing is, a
 * pull of one message that expires with the receive's wait — a request the server ends itself, so
 * no message is ever delivered to a receive that already answered. Events of other tables, or
 * that the filter rejects, are acknowledged by the edge at once and not handed out.
 *
 * <p>An ack id is {@code <event id>@<delivery>.<stream sequence>.<consumer sequence>}: what
 * names the message in JetStream's acknowledgement subject, so any edge can acknowledge it.
 * JetStream acknowledges a stream sequence whatever the delivery: a late ack of an expired
 * delivery still takes, and nothing is refused but ids that are not ack ids.
 *
 * <p>Unlike the leader's groups, no per-row exclusivity (JetStream hands out messages
 * independently; two events of one row may be out at once) and no durable groups (an edge does
 * not hold the leader's slot). Documented in docs/consumers.md.
 */
final class JetStreamGroups implements Groups {
    private static final String PREFIX = "tidings-group-";
    /** Why an edge refuses a durable group (on Kafka edges too). */
    static final String DURABLE_REFUSED = "\"durable\": true holds back the leader's replication slot, which an edge node "
            + "does not read: create durable groups on the leader, or leave \"durable\" out here (on an edge the broker's "
            + "retention is the log: size it for the slowest group)";
    private static final String MSG_ID = "Nats-Msg-Id";
    private static final int CONSUMER_NOT_FOUND = 10014;
    /** How long after a pull request's own expiry a receive waits for the server's end of it. */
    private static final Duration GRACE = Duration.ofSeconds(5);

    private final String stream;
    private final Connection connection;
    private final JetStreamManagement management;
    private final Map<String, LongAdder> acked = new ConcurrentHashMap<>();
    private final ExecutorService receives = Executors.newVirtualThreadPerTaskExecutor();

    JetStreamGroups(String stream, Connection connection, JetStreamManagement management) {
        this.stream = stream;
        this.connection = connection;
        this.management = management;
    }

    @Override
    public boolean create(GroupSpec spec, boolean fromOldest) {
        if (spec.durable()) {
            throw new IllegalArgumentException(DURABLE_REFUSED);
        }
        try {
            ConsumerInfo existing = info(spec.name());
            if (existing != null) {
                if (spec(existing).equals(spec)) {
                    return false;
                }
                throw new IllegalStateException("a consumer group " + spec.name() + " exists with another definition; "
                        + "DELETE /api/consumers/" + spec.name() + " first, or pick another name");
            }
            management.addOrUpdateConsumer(stream, configuration(spec, fromOldest));
            return true;
        } catch (IOException | JetStreamApiException e) {
            throw unavailable(e);
        }
    }

    private ConsumerConfiguration configuration(GroupSpec spec, boolean fromOldest) {
        return ConsumerConfiguration.builder().durable(PREFIX + spec.name()).description(spec.json().toString())
                .ackPolicy(AckPolicy.Explicit).ackWait(spec.visibilityTimeout()).maxAckPending(spec.maxAckPending())
                .deliverPolicy(fromOldest ? DeliverPolicy.All : DeliverPolicy.New).maxDeliver(-1).build();
    }

    @Override
    public void delete(String name) {
        try {
            management.deleteConsumer(stream, PREFIX + name);
            acked.remove(name);
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() == CONSUMER_NOT_FOUND) {
                throw new UnknownGroup(name);
            }
            throw unavailable(e);
        } catch (IOException e) {
            throw unavailable(e);
        }
    }

    @Override
    public List<GroupStatus> list() {
        try {
            return management.getConsumers(stream).stream().filter(c -> c.getName().startsWith(PREFIX)).map(this::status)
                    .sorted(Comparator.comparing(s -> s.spec().name())).toList();
        } catch (IOException | JetStreamApiException e) {
            throw unavailable(e);
        }
    }

    @Override
    public GroupStatus status(String name) {
        return status(group(name));
    }

    /**
     * pending: not yet acknowledged (with a worker, waiting for redelivery, or not yet delivered,
     * of any table); in flight: delivered and not acknowledged; position: the newest event
     * delivered; lag: the age of the event after the acknowledgement floor.
     */
    private GroupStatus status(ConsumerInfo c) {
        GroupSpec spec = spec(c);
        long unacked = c.getNumAckPending() + c.getNumPending();
        EventId position = null;
        double lag = 0;
        try {
            long delivered = c.getDelivered().getStreamSequence();
            if (delivered > 0) {
                position = id(management.getMessage(stream, delivered));
            }
            if (unacked > 0) {
                MessageInfo oldest = management.getNextMessage(stream, c.getAckFloor().getStreamSequence() + 1, ">");
                Instant commit = new EventJson().read(oldest.getData()).tx().commitTime();
                lag = Math.max(0, System.currentTimeMillis() - commit.toEpochMilli()) / 1000.0;
            }
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            // a message gone from the stream since: no position or lag to show
        }
        return new GroupStatus(spec, (int) Math.min(Integer.MAX_VALUE, unacked), (int) c.getNumAckPending(),
                acked.computeIfAbsent(spec.name(), n -> new LongAdder()).sum(), position, false, lag);
    }

    @Override
    public CompletableFuture<Receipt> receive(String name, int max, Duration wait) {
        ConsumerInfo c = group(name);
        GroupSpec spec = spec(c);
        long first;
        try {
            first = management.getStreamInfo(stream).getStreamState().getFirstSequence();
        } catch (IOException | JetStreamApiException e) {
            throw unavailable(e);
        }
        if (c.getDelivered().getStreamSequence() + 1 < first) {
            // the stream dropped messages this group had not read (retention): say so, as the leader does
            EventId oldest = null;
            try {
                oldest = id(management.getNextMessage(stream, first, ">"));
            } catch (IOException | JetStreamApiException | RuntimeException e) {
                // unknown
            }
            return CompletableFuture.completedFuture(new Receipt.Reset(oldest));
        }
        return CompletableFuture.supplyAsync(() -> pull(spec, Math.min(max, spec.maxAckPending()), wait), receives);
    }

    /** The receive itself, on a virtual thread: see the class comment. */
    private Receipt pull(GroupSpec spec, int max, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        String subject = "$JS.API.CONSUMER.MSG.NEXT." + stream + "." + PREFIX + spec.name();
        Predicate<ChangeEvent> selection = spec.selection();
        EventJson reader = new EventJson();
        List<Delivery> taken = new ArrayList<>();
        String inbox = connection.createInbox();
        Subscription sub = connection.subscribe(inbox);
        try {
            while (taken.size() < max) {
                int batch = max - taken.size();
                int got = request(sub, subject, "{\"batch\":" + batch + ",\"no_wait\":true}", batch, Duration.ZERO,
                        selection, reader, taken);
                if (!taken.isEmpty()) {
                    break;
                }
                long left = deadline - System.nanoTime();
                if (got == 0 && left < 10_000_000L) {
                    break;
                }
                if (got == 0) {
                    request(sub, subject, "{\"batch\":1,\"expires\":" + left + "}", 1, Duration.ofNanos(left), selection, reader, taken);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            sub.unsubscribe();
        }
        return new Receipt.Events(taken, EventFormat.named(spec.format()));
    }

    /**
     * One pull request: reads its messages until the server ends it (a status message) or the
     * batch is complete; the selected ones go to {@code taken}, the others are acknowledged.
     * Returns how many messages came.
     */
    private int request(Subscription sub, String subject, String body, int batch, Duration expires,
                        Predicate<ChangeEvent> selection, EventJson reader, List<Delivery> taken) throws InterruptedException {
        connection.publish(subject, sub.getSubject(), body.getBytes(StandardCharsets.US_ASCII));
        long end = System.nanoTime() + expires.plus(GRACE).toNanos();
        int got = 0;
        while (got < batch) {
            long left = end - System.nanoTime();
            Message m = left <= 0 ? null : sub.nextMessage(Duration.ofNanos(left));
            if (m == null || m.isStatusMessage()) {
                break;
            }
            got++;
            Ack ack = Ack.of(m.getReplyTo());
            ChangeEvent event;
            try {
                event = reader.read(m.getData());
            } catch (IllegalArgumentException e) {
                connection.publish(m.getReplyTo(), "+TERM".getBytes(StandardCharsets.US_ASCII)); // not an event: never again
                continue;
            }
            if (!selection.test(event)) {
                connection.publish(m.getReplyTo(), "+ACK".getBytes(StandardCharsets.US_ASCII));
                continue;
            }
            String id = m.getHeaders() == null ? null : m.getHeaders().getFirst(MSG_ID);
            taken.add(new Delivery((id == null ? EventId.of(event).toString() : id) + "@" + ack, (int) ack.delivery(), event));
        }
        return got;
    }

    @Override
    public CompletableFuture<Answer> ack(String name, List<String> ackIds) {
        group(name);
        List<Ack> acks = ackIds.stream().map(Ack::parse).toList();
        List<CompletableFuture<Message>> replies = new ArrayList<>(acks.size());
        for (Ack a : acks) {
            replies.add(connection.requestWithTimeout(a.subject(stream, PREFIX + name), "+ACK".getBytes(StandardCharsets.US_ASCII),
                    Duration.ofSeconds(10)));
        }
        LongAdder count = acked.computeIfAbsent(name, n -> new LongAdder());
        return CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).thenApply(done -> {
            count.add(acks.size());
            return new Answer(acks.size(), List.of());
        });
    }

    @Override
    public Answer nack(String name, List<String> ackIds, Duration delay) {
        group(name);
        List<Ack> acks = ackIds.stream().map(Ack::parse).toList();
        byte[] body = (delay.isZero() ? "-NAK" : "-NAK {\"delay\":" + delay.toNanos() + "}").getBytes(StandardCharsets.US_ASCII);
        for (Ack a : acks) {
            connection.publish(a.subject(stream, PREFIX + name), body);
        }
        return new Answer(acks.size(), List.of());
    }

    @Override
    public void reset(String name, boolean latest) {
        GroupSpec spec = spec(group(name));
        try {
            management.deleteConsumer(stream, PREFIX + name);
            management.addOrUpdateConsumer(stream, configuration(spec, !latest));
        } catch (IOException | JetStreamApiException e) {
            throw unavailable(e);
        }
    }

    /** The group's consumer; {@link UnknownGroup} when there is none. */
    private ConsumerInfo group(String name) {
        try {
            ConsumerInfo c = info(name);
            if (c == null) {
                throw new UnknownGroup(name);
            }
            return c;
        } catch (IOException | JetStreamApiException e) {
            throw unavailable(e);
        }
    }

    private ConsumerInfo info(String name) throws IOException, JetStreamApiException {
        try {
            return management.getConsumerInfo(stream, PREFIX + name);
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() == CONSUMER_NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }

    private GroupSpec spec(ConsumerInfo c) {
        String description = c.getConsumerConfiguration().getDescription();
        try {
            return GroupSpec.parse(description);
        } catch (RuntimeException e) {
            throw new IllegalStateException("JetStream consumer " + c.getName() + " of stream " + stream + " is not a consumer "
                    + "group made by tidings (its description is not a group definition): delete it, or give groups "
                    + "another name", e);
        }
    }

    private static EventId id(MessageInfo m) {
        String id = m.getHeaders() == null ? null : m.getHeaders().getFirst(MSG_ID);
        return id == null ? null : EventId.parse(id);
    }

    private RuntimeException unavailable(Exception e) {
        return new Unavailable("JetStream stream " + stream + " did not answer (" + e.getMessage()
                + "); try again once the NATS servers are reachable", e);
    }

    /** Ends the receives under way (their events come back after the visibility timeout). */
    void close() {
        receives.shutdownNow();
    }

    /**
     * What names one delivery in JetStream's acknowledgement subject
     * ({@code $JS.ACK.<stream>.<consumer>.<delivery>.<stream seq>.<consumer seq>.<time>.<pending>}),
     * written in an ack id after the {@code @}.
     */
    record Ack(long delivery, long streamSequence, long consumerSequence) {
        /** From a message's reply subject (the 9-token form, or the longer one with domain and account). */
        static Ack of(String reply) {
            String[] t = reply.split("\\.");
            int at = t.length == 9 ? 4 : t.length - 6;
            return new Ack(Long.parseLong(t[at]), Long.parseLong(t[at + 1]), Long.parseLong(t[at + 2]));
        }

        /** From an ack id, {@code <event id>@<delivery>.<stream seq>.<consumer seq>}; fails with what one looks like. */
        static Ack parse(String ackId) {
            int at = ackId == null ? -1 : ackId.lastIndexOf('@');
            String[] t = at < 0 ? new String[0] : ackId.substring(at + 1).split("\\.");
            try {
                if (t.length == 3) {
                    EventId.parse(ackId.substring(0, at));
                    return new Ack(Long.parseLong(t[0]), Long.parseLong(t[1]), Long.parseLong(t[2]));
                }
            } catch (IllegalArgumentException e) {
                // reported below
            }
            throw new IllegalArgumentException("'" + ackId + "' is not an ack id of this edge node; one looks like "
                    + "0/1A2B3C4:2@1.517.530 (the event id, '@', the delivery and JetStream's sequences), as \"ack_id\" of "
                    + "every received event");
        }

        /** The acknowledgement subject; the time and pending tokens are not read by the server. */
        String subject(String stream, String consumer) {
            return "$JS.ACK." + stream + "." + consumer + "." + delivery + "." + streamSequence + "." + consumerSequence + ".0.0";
        }

        @Override
        public String toString() {
            return delivery + "." + streamSequence + "." + consumerSequence;
        }
    }
}
