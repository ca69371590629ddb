package dev.tidings.server.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.impl.Headers;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;

/**
 * {@link Rooms} shared by several nodes over core NATS: this node's members live in a
 * {@link LocalRooms}, and what they do is published for the other nodes.
 *
 * <p>Design. A broadcast (from a client or REST) is delivered here, then published on {@code PREFIX.b.TOPIC} (the topic in
 * URL-safe base64, so any topic is one subject token) with this node's id in a header; every other
 * node hands it to its members with no sender, and the origin drops its own copy — so each client
 * gets it once and {@code self}/{@code ack} stay the sender node's business. Presence: a track or
 * untrack of a member here is published on {@code PREFIX.presence} with the member's relay id; the
 * others track it in the topic's {@link dev.tidings.server.presence.TopicPresence} under
 * (node, id), so {@code presence_state} and diffs include it. Every node publishes a heartbeat
 * each second on {@code PREFIX.heartbeat}; a node silent for {@link #SILENT} is gone and its
 * presences leave. A node heard for the first time gets this node's presences again (and asks the
 * others for theirs), so a node that starts or comes back learns the state. Database broadcasts
 * are not relayed: every node reads them from the change stream itself. Broadcasts and presences of
 * private channels carry that mark ({@code Tidings-Private} header, {@code "private"} member) and
 * go to the private room of their topic.
 *
 * <p>Metrics ({@link #bindTo}): messages published and received by kind, whether the NATS
 * connection is up and how often it was reopened, the nodes heard, and the nodes and presences
 * dropped for silence.
 */
public final class RelayedRooms implements Rooms, MeterBinder {
    private static final Logger log = LoggerFactory.getLogger(RelayedRooms.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*");
    static final Duration HEARTBEAT = Duration.ofSeconds(1);
    /** How long a node may be silent before its presences are removed. */
    public static final Duration SILENT = Duration.ofSeconds(5);

    /** Where the relay is: NATS servers and the subject prefix every node of one cluster shares. */
    public record Address(String server, String prefix) {
        /** Parses {@code nats://host[:port][/prefix]}; the prefix defaults to {@code tidings}. */
        public static Address parse(String url) {
            URI uri;
            try {
                uri = URI.create(url.strip());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + url + "' is not a URL: write nats://host:port[/subject.prefix]");
            }
            if (!"nats".equals(uri.getScheme()) || uri.getHost() == null) {
                throw new IllegalArgumentException("'" + url + "' is not a NATS URL: write nats://host:port[/subject.prefix]");
            }
            String path = uri.getPath() == null ? "" : uri.getPath().replaceFirst("^/", "");
            String prefix = path.isEmpty() ? "tidings" : path;
            if (!PREFIX.matcher(prefix).matches()) {
                throw new IllegalArgumentException("subject prefix '" + prefix + "' in '" + url
                        + "': use letters, digits, '-' and '_' in dot-separated tokens");
            }
            return new Address("nats://" + uri.getHost() + ":" + (uri.getPort() < 0 ? 4222 : uri.getPort()), prefix);
        }
    }

    /** A presence held by a member of another node. */
    private record Remote(String node, String id) {}

    /** A topic's public or private room. */
    private record Place(String topic, boolean isPrivate) {}

    /** What a member of this node tracks, to publish again for a node that has not heard it. */
    private record Tracked(Place place, String id, String key, JsonNode meta) {}

    /** What this node knows of another node: when it was last heard and the presences it holds. */
    private static final class Peer {
        volatile long heardNanos = System.nanoTime();
        final Map<Remote, Place> topics = new ConcurrentHashMap<>();
    }

    private final LocalRooms local = new LocalRooms();
    private final String node = UUID.randomUUID().toString();
    private final String prefix;
    private final Connection nats;
    private final Dispatcher dispatcher;
    private final ScheduledExecutorService timer;
    private final Map<Member, Tracked> tracked = new ConcurrentHashMap<>();
    private final Map<String, Peer> peers = new ConcurrentHashMap<>();
    /** Messages published and received, by {@link Kind}. */
    private final LongAdder[] sent = adders();
    private final LongAdder[] received = adders();
    private final LongAdder nodesLost = new LongAdder();
    private final LongAdder presenceLeaves = new LongAdder();

    /** What a relay message carries, as the {@code kind} tag of its meters. */
    private enum Kind { BROADCAST, PRESENCE, HEARTBEAT, SYNC }

    private static LongAdder[] adders() {
        LongAdder[] a = new LongAdder[Kind.values().length];
        for (int i = 0; i < a.length; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    private RelayedRooms(Address address, Connection nats) {
        this.prefix = address.prefix();
        this.nats = nats;
        this.dispatcher = nats.createDispatcher(this::receive);
        dispatcher.subscribe(prefix + ".>");
        this.timer = Executors.newSingleThreadScheduledExecutor(
                r -> Thread.ofPlatform().name("tidings-relay").daemon(true).unstarted(r));
        timer.scheduleAtFixedRate(this::beat, 0, HEARTBEAT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Connects to the relay (retrying forever when it goes away later) and starts the heartbeat. */
    private static RelayedRooms connect(Address address) throws IOException, InterruptedException {
        Options options = new Options.Builder().server(address.server()).maxReconnects(-1)
                .connectionName("tidings-relay").build();
        RelayedRooms rooms = new RelayedRooms(address, Nats.connect(options));
        log.info("broadcast relay: node {} on {} subjects {}.>", rooms.node, address.server(), address.prefix());
        return rooms;
    }

    /** This node's rooms: relayed when {@code address} is set, else local only. */
    public static Rooms open(Address address) throws IOException, InterruptedException {
        return address == null ? new LocalRooms() : connect(address);
    }

    @Override
    public void join(Member member) {
        local.join(member);
    }

    @Override
    public void leave(Member member) {
        local.leave(member);
        Tracked t = tracked.remove(member);
        if (t != null) {
            publishPresence("untrack", t);
        }
    }

    @Override
    public int broadcast(BroadcastMessage message) {
        int n = local.broadcast(message);
        Headers h = new Headers().add("Tidings-Node", node).add("Tidings-Event", message.event())
                .add("Tidings-Kind", message.isUser() ? (message.binaryPayload() ? "binary" : "json") : "envelope");
        if (message.isPrivate()) {
            h.add("Tidings-Private", "true");
        }
        if (message.meta() != null) {
            h.add("Tidings-Meta", new String(message.meta(), StandardCharsets.UTF_8));
        }
        nats.publish(prefix + ".b." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(message.topic().getBytes(StandardCharsets.UTF_8)), h, message.payload());
        sent[Kind.BROADCAST.ordinal()].increment();
        return n;
    }

    @Override
    public int broadcastHere(BroadcastMessage message) {
        return local.broadcast(message);
    }

    @Override
    public boolean track(Member member, byte[] meta) {
        if (!local.track(member, meta)) {
            return false;
        }
        Tracked old = tracked.get(member);
        Tracked t;
        try {
            t = new Tracked(new Place(member.subTopic(), member.isPrivate()), old == null ? UUID.randomUUID().toString() : old.id(),
                    member.options().presenceKey(), JSON.readTree(meta));
        } catch (IOException e) {
            throw new IllegalArgumentException("Presence track payload must be a map");
        }
        tracked.put(member, t);
        publishPresence("track", t);
        return true;
    }

    @Override
    public boolean untrack(Member member) {
        boolean was = local.untrack(member);
        Tracked t = tracked.remove(member);
        if (t != null) {
            publishPresence("untrack", t);
        }
        return was;
    }

    @Override
    public int members() {
        return local.members();
    }

    @Override
    public int presences() {
        return local.presences();
    }

    private void publishPresence(String op, Tracked t) {
        ObjectNode body = JSON.createObjectNode().put("op", op).put("topic", t.place().topic())
                .put("private", t.place().isPrivate()).put("id", t.id())
                .put("key", t.key());
        body.set("meta", t.meta());
        nats.publish(prefix + ".presence", new Headers().add("Tidings-Node", node), body.toString().getBytes(StandardCharsets.UTF_8));
        sent[Kind.PRESENCE.ordinal()].increment();
    }

    private void beat() {
        try {
            nats.publish(prefix + ".heartbeat", new Headers().add("Tidings-Node", node), new byte[0]);
            sent[Kind.HEARTBEAT.ordinal()].increment();
            long now = System.nanoTime();
            synchronized (peers) { // not while a message of that node is being applied
                peers.forEach((id, peer) -> {
                    if (now - peer.heardNanos > SILENT.toNanos()) {
                        log.warn("broadcast relay: node {} silent for {} s, its {} presences leave", id, SILENT.toSeconds(),
                                peer.topics.size());
                        peers.remove(id);
                        nodesLost.increment();
                        presenceLeaves.add(peer.topics.size());
                        peer.topics.forEach((who, place) -> local.untrackRemote(place.topic(), place.isPrivate(), who));
                    }
                });
            }
        } catch (RuntimeException e) {
            log.warn("broadcast relay heartbeat failed: {}", e.toString());
        }
    }

    private void receive(Message m) {
        String from = m.getHeaders() == null ? null : m.getHeaders().getFirst("Tidings-Node");
        if (from == null || from.equals(node)) {
            return;
        }
        synchronized (peers) {
            apply(from, m);
        }
    }

    private void apply(String from, Message m) {
        try {
            Peer peer = peers.get(from);
            if (peer == null) {
                peer = peers.computeIfAbsent(from, f -> new Peer());
                republish();
                nats.publish(prefix + ".sync", new Headers().add("Tidings-Node", node), new byte[0]);
                sent[Kind.SYNC.ordinal()].increment();
            }
            peer.heardNanos = System.nanoTime();
            String subject = m.getSubject().substring(prefix.length() + 1);
            if (subject.startsWith("b.")) {
                received[Kind.BROADCAST.ordinal()].increment();
                deliver(subject.substring(2), m);
            } else if (subject.equals("presence")) {
                received[Kind.PRESENCE.ordinal()].increment();
                presence(from, peer, JSON.readTree(m.getData()));
            } else if (subject.equals("sync")) {
                received[Kind.SYNC.ordinal()].increment();
                republish();
            } else if (subject.equals("heartbeat")) {
                received[Kind.HEARTBEAT.ordinal()].increment();
            }
        } catch (IOException | RuntimeException e) {
            log.warn("broadcast relay: dropped a message on {} from node {}: {}", m.getSubject(), from, e.toString());
        }
    }

    private void deliver(String encodedTopic, Message m) {
        String topic = new String(Base64.getUrlDecoder().decode(encodedTopic), StandardCharsets.UTF_8);
        Headers h = m.getHeaders();
        String kind = h.getFirst("Tidings-Kind");
        String meta = h.getFirst("Tidings-Meta");
        BroadcastMessage message = "envelope".equals(kind) ? BroadcastMessage.envelope(topic, m.getData(), null)
                : BroadcastMessage.user(topic, h.getFirst("Tidings-Event"), m.getData(), "binary".equals(kind),
                        meta == null ? null : meta.getBytes(StandardCharsets.UTF_8), null);
        local.broadcast(message.toPrivate("true".equals(h.getFirst("Tidings-Private"))));
    }

    private void presence(String from, Peer peer, JsonNode body) {
        Remote who = new Remote(from, body.path("id").asText());
        Place place = new Place(body.path("topic").asText(), body.path("private").asBoolean(false));
        if ("track".equals(body.path("op").asText()) && body.get("meta") instanceof ObjectNode meta) {
            peer.topics.put(who, place);
            local.trackRemote(place.topic(), place.isPrivate(), who, body.path("key").asText(), meta);
        } else {
            peer.topics.remove(who);
            local.untrackRemote(place.topic(), place.isPrivate(), who);
        }
    }

    /** Publishes every presence of this node again (an unchanged one is no diff on the others). */
    private void republish() {
        tracked.values().forEach(t -> publishPresence("track", t));
    }

    /**
     * <pre>
     * tidings_relay_messages_{sent,received}_total{kind}  kind: broadcast, presence, heartbeat, sync
     * tidings_relay_connected  tidings_relay_reconnects_total  tidings_relay_nodes
     * tidings_relay_nodes_lost_total  tidings_relay_presence_leaves_total
     * </pre>
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        for (Kind k : Kind.values()) {
            String kind = k.name().toLowerCase(java.util.Locale.ROOT);
            FunctionCounter.builder("tidings.relay.messages.sent", sent[k.ordinal()], LongAdder::sum).tag("kind", kind)
                    .description("messages this node published on the broadcast relay").register(registry);
            FunctionCounter.builder("tidings.relay.messages.received", received[k.ordinal()], LongAdder::sum).tag("kind", kind)
                    .description("messages of other nodes received from the broadcast relay").register(registry);
        }
        Gauge.builder("tidings.relay.connected", nats, c -> c.getStatus() == Connection.Status.CONNECTED ? 1 : 0)
                .description("1 while the connection to the relay's NATS server is up").strongReference(true).register(registry);
        FunctionCounter.builder("tidings.relay.reconnects", nats, c -> c.getStatistics().getReconnects())
                .description("times the connection to the relay's NATS server was reopened").register(registry);
        Gauge.builder("tidings.relay.nodes", peers, Map::size)
                .description("other nodes heard on the relay within the last " + SILENT.toSeconds() + " s")
                .strongReference(true).register(registry);
        FunctionCounter.builder("tidings.relay.nodes.lost", nodesLost, LongAdder::sum)
                .description("nodes dropped after " + SILENT.toSeconds() + " s of silence").register(registry);
        FunctionCounter.builder("tidings.relay.presence.leaves", presenceLeaves, LongAdder::sum)
                .description("presences removed because their node went silent").register(registry);
    }

    /** Leaves the relay: the other nodes remove this node's presences once its heartbeat is missed. */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            nats.closeDispatcher(dispatcher);
            nats.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
