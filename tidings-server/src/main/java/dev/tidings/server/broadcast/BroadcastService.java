package dev.tidings.server.broadcast;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.ToIntFunction;

/**
 * Broadcast and Presence of one server: what a channel's {@code broadcast} and {@code presence}
 * pushes do, what REST and the database publish, and the limits and counters around them. The
 * members and their presence live in a {@link Rooms} (this process's, or a cluster's).
 *
 * <p>The push handlers run on the sending connection's thread, one frame at a time, so one
 * client's broadcasts are relayed in the order it sent them. Thread-safe.
 */
public final class BroadcastService implements MeterBinder {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] EMPTY = "{}".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    /** Every limit's setting name, for {@code /metrics}. */
    private static final List<String> LIMIT_NAMES = List.of("channels_per_client", "joins_per_second",
            "events_per_second", "bytes_per_second", "client_presence_events", "server_presence_events_per_second",
            "payload_bytes", "server_joins_per_second", "server_events_per_second");

    /** Where a broadcast came from, for metrics. */
    public enum Source { CLIENT, REST, DATABASE }

    private final Rooms rooms;
    private final ClientLimits limits;
    private final LimitCounters hits = new LimitCounters();
    private final RateWindow serverPresence;
    private final RateWindow serverJoins;
    private final RateWindow serverEvents;
    private final Map<Source, LongAdder> received = Map.of(Source.CLIENT, new LongAdder(), Source.REST, new LongAdder(),
            Source.DATABASE, new LongAdder());
    private final LongAdder delivered = new LongAdder();
    private final LongAdder privateRefused = new LongAdder();

    public BroadcastService(Rooms rooms, ClientLimits limits) {
        this.rooms = rooms;
        this.limits = limits;
        this.serverPresence = new RateWindow(limits.serverPresenceEventsPerSecond(), 1000);
        this.serverJoins = new RateWindow(limits.serverJoinsPerSecond(), 1000);
        this.serverEvents = new RateWindow(limits.serverEventsPerSecond(), 1000);
    }

    public ClientLimits limits() {
        return limits;
    }

    /** The limiter of a new connection. */
    public ClientLimiter newClient() {
        return new ClientLimiter(limits, hits, serverJoins, serverEvents);
    }

    /** The member's options from a join's {@code config}; a generated presence key when none is given. */
    public static Member.Options options(JsonNode config) {
        JsonNode broadcast = config == null ? null : config.get("broadcast");
        JsonNode presence = config == null ? null : config.get("presence");
        String key = presence == null ? null : presence.path("key").asText(null);
        if (key == null || key.isEmpty()) {
            key = UUID.randomUUID().toString();
        }
        return new Member.Options(broadcast != null && broadcast.path("self").asBoolean(false),
                broadcast != null && broadcast.path("ack").asBoolean(false), key,
                presence != null && presence.path("enabled").asBoolean(false));
    }

    public void join(Member member) {
        rooms.join(member);
    }

    /**
     * Sends {@code member} the stored broadcasts its join's {@code config.broadcast.replay} asks for
     * (held until the join reply) and returns their ids; call before {@link #join}, and have the
     * member skip live copies of those ids ({@link Member#replayed}).
     *
     * @param history null when the server reads no database
     */
    public java.util.Set<String> replay(Member member, BroadcastHistory history, boolean isPrivate, BroadcastHistory.Request request)
            throws BroadcastHistory.Refused {
        if (history == null) {
            throw new BroadcastHistory.Refused("UnableToReplayMessages: this server reads no database to replay from");
        }
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (BroadcastMessage message : history.read(member.subTopic(), isPrivate, request)) {
            byte[] frame = message.frame(member.framing());
            if (frame != null) {
                member.send(frame);
                ids.add(message.storedId());
            }
        }
        return ids;
    }

    public void leave(Member member) {
        rooms.leave(member);
    }

    /** A {@code broadcast} push in JSON (vsn 1.0.0, or 2.0.0 text), {@code ref} as JSON text: {@code payload} is relayed as it came. */
    public void onBroadcast(Member from, String ref, JsonNode payload) {
        byte[] envelope;
        try {
            envelope = JSON.writeValueAsBytes(payload);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        relay(from, ref, BroadcastMessage.envelope(from.subTopic(), envelope, from));
    }

    /** A binary broadcast push (vsn 2.0.0), {@code ref} as JSON text; its metadata is not relayed, as Supabase's is not. */
    public void onBroadcast(Member from, String ref, BinaryPush push) {
        relay(from, ref, BroadcastMessage.user(from.subTopic(), push.event(), push.payload(), push.binary(), null, from));
    }

    /**
     * A member of a private channel whose policies do not allow INSERT of a broadcast row: its
     * broadcast is dropped without a reply, even with {@code ack}, as Supabase Realtime does.
     */
    private void relay(Member from, String ref, BroadcastMessage message) {
        received.get(Source.CLIENT).increment();
        if (!from.may(Member.Right.WRITE_BROADCAST)) {
            privateRefused.increment();
            return;
        }
        String over = from.limiter().broadcast(message.size());
        if (over != null) {
            from.shut(over);
            return;
        }
        if (limits.payloadBytes() > 0 && message.size() > limits.payloadBytes()) {
            hits.hit("payload_bytes");
            if (from.options().ack()) {
                from.reply(ref, false, reason(ClientLimits.PAYLOAD_TOO_LARGE));
            }
            return;
        }
        delivered.add(rooms.broadcast(message));
        if (from.options().ack()) {
            from.reply(ref, true, EMPTY);
        }
    }

    /** A {@code presence} push: {@code {type: "presence", event: "track"|"untrack", payload}}. */
    public void onPresence(Member from, String ref, JsonNode push) {
        JsonNode eventNode = push.get("event");
        if (eventNode == null || !eventNode.isTextual()) {
            from.reply(ref, true, EMPTY);
            return;
        }
        String event = eventNode.asText().toLowerCase(java.util.Locale.ROOT);
        if (!event.equals("track") && !event.equals("untrack")) {
            from.reply(ref, false, reason("unknown presence event '" + eventNode.asText() + "': track or untrack"));
            return;
        }
        String over = from.limiter().presence();
        if (over != null) {
            from.shut(over);
            return;
        }
        if (event.equals("untrack")) {
            rooms.untrack(from);
            from.reply(ref, true, EMPTY);
            return;
        }
        if (!from.may(Member.Right.WRITE_PRESENCE)) { // Supabase answers an empty error
            privateRefused.increment();
            from.reply(ref, false, EMPTY);
            return;
        }
        JsonNode meta = push.has("payload") ? push.get("payload") : JSON.createObjectNode();
        if (!meta.isObject()) {
            from.reply(ref, false, reason("Presence track payload must be a map"));
            return;
        }
        byte[] bytes = meta.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (limits.payloadBytes() > 0 && bytes.length > limits.payloadBytes()) {
            hits.hit("payload_bytes");
            from.shut(ClientLimits.TRACK_TOO_LARGE);
            return;
        }
        if (!serverPresence.take(1)) {
            hits.hit("server_presence_events_per_second");
            from.shut(ClientLimits.SERVER_PRESENCE);
            return;
        }
        rooms.track(from, bytes);
        from.reply(ref, true, EMPTY);
    }

    /**
     * Counts a broadcast from REST or the database against the server's rate; false (and counted
     * as refused) when it is over. REST answers {@link #REST_RATE_LIMITED} with 429 then.
     */
    public boolean admitServerEvent() {
        if (serverEvents.take(1)) {
            return true;
        }
        hits.hit("server_events_per_second");
        return false;
    }

    /** What REST answers (429) over the server's broadcast rate, as Supabase's API does. */
    public static final String REST_RATE_LIMITED = ClientLimits.REST_RATE;

    /**
     * A broadcast from REST or the database to the public or private channel of
     * {@code message.topic()} (authorized by the caller); returns how many members it was queued for.
     */
    public int publish(BroadcastMessage message, Source source) {
        received.get(source).increment();
        int n = source == Source.DATABASE ? rooms.broadcastHere(message) : rooms.broadcast(message);
        delivered.add(n);
        return n;
    }

    /** A REST message for a private topic that the token's policies do not let it send: counted, not delivered. */
    public void refusedPrivate(Source source) {
        received.get(source).increment();
        privateRefused.increment();
    }

    /** A payload over {@link ClientLimits#payloadBytes}, refused before it is published: counted. */
    public boolean tooLarge(int size) {
        if (limits.payloadBytes() > 0 && size > limits.payloadBytes()) {
            hits.hit("payload_bytes");
            return true;
        }
        return false;
    }

    private static byte[] reason(String reason) {
        try {
            return JSON.writeValueAsBytes(Map.of("reason", reason));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * <pre>
     * tidings_broadcast_received_total{source}   broadcasts from clients, REST and the database
     * tidings_broadcast_delivered_total          broadcast frames queued to members
     * tidings_broadcast_private_refused_total    broadcasts and tracks on private channels the policies refused
     * tidings_broadcast_members  tidings_presence_tracked
     * tidings_limit{limit}  tidings_limit_refused_total{limit}
     * tidings_relay_*                            with broadcast.relay: see {@link RelayedRooms#bindTo}
     * </pre>
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        for (Source s : Source.values()) {
            FunctionCounter.builder("tidings.broadcast.received", received.get(s), LongAdder::sum)
                    .tag("source", s.name().toLowerCase(java.util.Locale.ROOT))
                    .description("broadcasts received from clients, REST and the database").register(registry);
        }
        FunctionCounter.builder("tidings.broadcast.delivered", delivered, LongAdder::sum)
                .description("broadcast frames queued to members").register(registry);
        FunctionCounter.builder("tidings.broadcast.private.refused", privateRefused, LongAdder::sum)
                .description("broadcasts (client and REST) and presence tracks on private channels that the policies on "
                        + "realtime.messages do not allow (no INSERT)")
                .register(registry);
        Gauge.builder("tidings.broadcast.members", rooms, Rooms::members).description("joined channels in broadcast rooms")
                .strongReference(true).register(registry);
        Gauge.builder("tidings.presence.tracked", rooms, Rooms::presences).description("tracked presences")
                .strongReference(true).register(registry);
        if (rooms instanceof MeterBinder relay) {
            relay.bindTo(registry);
        }
        for (String name : LIMIT_NAMES) {
            Gauge.builder("tidings.limit", limits, l -> limit(l, name)).tag("limit", name)
                    .description("configured limit (0: off)").strongReference(true).register(registry);
            FunctionCounter.builder("tidings.limit.refused", hits, h -> h.hits(name)).tag("limit", name)
                    .description("times the limit refused a client").register(registry);
        }
    }

    private static double limit(ClientLimits l, String name) {
        ToIntFunction<ClientLimits> f = switch (name) {
            case "channels_per_client" -> ClientLimits::channelsPerClient;
            case "joins_per_second" -> ClientLimits::joinsPerSecond;
            case "events_per_second" -> ClientLimits::eventsPerSecond;
            case "bytes_per_second" -> ClientLimits::bytesPerSecond;
            case "client_presence_events" -> ClientLimits::presenceEventsPerWindow;
            case "server_presence_events_per_second" -> ClientLimits::serverPresenceEventsPerSecond;
            case "server_joins_per_second" -> ClientLimits::serverJoinsPerSecond;
            case "server_events_per_second" -> ClientLimits::serverEventsPerSecond;
            default -> ClientLimits::payloadBytes;
        };
        return f.applyAsInt(l);
    }
}
