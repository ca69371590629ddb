package dev.tidings.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.base.Identifiers;
import dev.tidings.base.TableFilter;
import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.event.Op;
import dev.tidings.pipeline.SinkFanOut;
import dev.tidings.server.sinks.DeadLetterFile;
import dev.tidings.server.sinks.FileSink;
import dev.tidings.server.sinks.KafkaSink;
import dev.tidings.server.sinks.NatsSink;
import dev.tidings.server.sinks.RabbitMqSink;
import dev.tidings.server.sinks.RedisSink;
import dev.tidings.server.sinks.WebhookSigner;
import dev.tidings.server.sinks.WebhookSink;
import dev.tidings.sink.RetryPolicy;
import dev.tidings.sink.RouteTemplate;
import dev.tidings.sink.Sink;
import dev.tidings.sink.SinkSettings;
import dev.tidings.source.SourceConfig;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * One configured durable sink: one record per kind, each with its own keys, defaults and
 * validation, all read from a YAML/JSON list such as:
 *
 * <pre>
 * sinks:
 *   - name: orders-to-kafka
 *     type: kafka                       # file | webhook | kafka | redis | nats | rabbitmq
 *     tables: [public.orders]           # default: every table
 *     ops: [insert, update, delete]     # default: every op
 *     skip_origins: [node_b]            # replication origins whose changes this sink skips (* = any)
 *     format: tidings                   # tidings | debezium | cloudevents | supabase
 *     batch: 500                        # messages per send (webhook 1)
 *     in_flight: 1                      # batches sent and not yet confirmed (kafka 4)
 *     queue: 8192                       # messages waiting before WAL reading pauses
 *     retry: {max_attempts: 0, max_time: 0s, initial_backoff: 100ms, max_backoff: 30s, give_up: stop}
 *     dead_letter_file: /var/lib/tidings/orders.dead.jsonl   # with give_up: dead_letter
 *     bootstrap_servers: localhost:9092
 *     topic: tidings.${schema}.${table}
 * </pre>
 *
 * The keys every kind shares become its {@link SinkSettings} (defaults in {@link SinkSettings}
 * unless the kind says otherwise: a webhook posts one event per request, Kafka's idempotent
 * producer keeps order with 4 batches in flight). An unknown key is an error: a typo must not
 * silently fall back to a default. Everything is checked when the configuration is read; only
 * {@link #open} connects.
 */
public sealed interface SinkConfig {
    /** The keys every sink accepts, whatever its kind. docs/configuration.md is checked against these lists. */
    Set<String> COMMON = Set.of("name", "type", "tables", "ops", "skip_origins", "format", "batch", "in_flight", "queue",
            "retry", "dead_letter_file", "backfill");
    /** The keys of the {@code retry} map. */
    Set<String> RETRY_KEYS = Set.of("max_attempts", "max_time", "initial_backoff", "max_backoff", "give_up");
    /** Each kind's {@code type} and the keys it accepts beside {@link #COMMON}. */
    Map<String, Set<String>> PER_TYPE = Map.of(
            File.TYPE, File.KEYS,
            Webhook.TYPE, Webhook.KEYS,
            Kafka.TYPE, Kafka.KEYS,
            Redis.TYPE, Redis.KEYS,
            Nats.TYPE, Nats.KEYS,
            RabbitMq.TYPE, RabbitMq.KEYS);
    Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    /** How the fan-out drives this sink: name, filter, format, batch, in flight, queue, retry. */
    SinkSettings settings();

    /** The {@code type} key of this kind. */
    String type();

    /** Makes the sink (connecting where its client connects eagerly). */
    Sink open() throws Exception;

    /** JSON lines, fsynced per batch, rotated past {@code maxBytes} (0: never). */
    record File(SinkSettings settings, Path path, long maxBytes) implements SinkConfig {
        static final String TYPE = "file";
        static final Set<String> KEYS = Set.of("path", "max_bytes");

        static File read(SinkSettings settings, SinkFields f) {
            return new File(settings, Path.of(f.required("path")), f.bytes("max_bytes", 0));
        }

        public String type() {
            return TYPE;
        }

        public Sink open() throws Exception {
            return new FileSink(path, maxBytes);
        }
    }

    /** HTTP POST per event, or a JSON array per batch ({@code array}: {@code batch} was given). */
    record Webhook(SinkSettings settings, URI url, String secret, Duration timeout, boolean array) implements SinkConfig {
        static final String TYPE = "webhook";
        static final Set<String> KEYS = Set.of("url", "secret", "timeout");

        static Webhook read(SinkSettings settings, SinkFields f) {
            URI url;
            try {
                url = URI.create(f.required("url"));
            } catch (IllegalArgumentException e) {
                throw f.get("url").expected("an http(s) URL");
            }
            if (url.getScheme() == null || !url.getScheme().startsWith("http")) {
                throw f.get("url").expected("an http(s) URL");
            }
            return new Webhook(settings, url, f.text("secret", null), f.duration("timeout", DEFAULT_TIMEOUT), f.has("batch"));
        }

        public String type() {
            return TYPE;
        }

        public Sink open() {
            return new WebhookSink(url, secret == null ? null : new WebhookSigner(secret), timeout, array);
        }
    }

    /** Kafka topics by template; {@code properties} override the producer's settings. */
    record Kafka(SinkSettings settings, String bootstrapServers, RouteTemplate topic, Duration deliveryTimeout,
                 Map<String, String> properties) implements SinkConfig {
        static final String TYPE = "kafka";
        static final Set<String> KEYS = Set.of("bootstrap_servers", "topic", "delivery_timeout", "properties");

        static Kafka read(SinkSettings settings, SinkFields f) {
            return new Kafka(settings, f.required("bootstrap_servers"),
                    template(f, "topic", "tidings.${schema}.${table}"),
                    f.duration("delivery_timeout", Duration.ofMinutes(2)), Map.copyOf(f.textMap("properties")));
        }

        public String type() {
            return TYPE;
        }

        public Sink open() {
            return new KafkaSink(bootstrapServers, topic, deliveryTimeout, properties);
        }
    }

    /** Redis Streams ({@code XADD}, trimmed to {@code maxLen}, 0: never) or pub/sub channels. */
    record Redis(SinkSettings settings, String uri, RedisSink.Mode mode, RouteTemplate route, long maxLen, Duration timeout)
            implements SinkConfig {
        static final String TYPE = "redis";
        static final Set<String> KEYS = Set.of("uri", "stream", "channel", "mode", "maxlen", "timeout");

        static Redis read(SinkSettings settings, SinkFields f) {
            String modeText = f.text("mode", "stream").toLowerCase(Locale.ROOT);
            RedisSink.Mode mode = switch (modeText) {
                case "stream" -> RedisSink.Mode.STREAM;
                case "pubsub" -> RedisSink.Mode.PUBSUB;
                default -> throw f.get("mode").expected("stream or pubsub");
            };
            RouteTemplate route = template(f, mode == RedisSink.Mode.STREAM ? "stream" : "channel", "tidings:${schema}.${table}");
            return new Redis(settings, f.text("uri", "redis://127.0.0.1:6379"), mode, route,
                    f.longIn("maxlen", 0, 0, Long.MAX_VALUE), f.duration("timeout", DEFAULT_TIMEOUT));
        }

        public String type() {
            return TYPE;
        }

        public Sink open() {
            return new RedisSink(uri, route, mode, maxLen, timeout);
        }
    }

    /** NATS JetStream subjects by template. */
    record Nats(SinkSettings settings, String url, RouteTemplate subject, Duration timeout) implements SinkConfig {
        static final String TYPE = "nats";
        static final Set<String> KEYS = Set.of("url", "subject", "timeout");

        static Nats read(SinkSettings settings, SinkFields f) {
            return new Nats(settings, f.text("url", "nats://127.0.0.1:4222"), template(f, "subject", "tidings.${schema}.${table}"),
                    f.duration("timeout", DEFAULT_TIMEOUT));
        }

        public String type() {
            return TYPE;
        }

        public Sink open() throws Exception {
            return new NatsSink(url, subject, timeout);
        }
    }

    /** RabbitMQ: publisher-confirmed messages to an exchange, routing keys by template. */
    record RabbitMq(SinkSettings settings, String uri, String exchange, RouteTemplate routingKey, Duration timeout)
            implements SinkConfig {
        static final String TYPE = "rabbitmq";
        static final Set<String> KEYS = Set.of("uri", "exchange", "routing_key", "timeout");

        static RabbitMq read(SinkSettings settings, SinkFields f) {
            return new RabbitMq(settings, f.text("uri", "amqp://guest:guest@127.0.0.1:5672"), f.text("exchange", "tidings"),
                    template(f, "routing_key", "${schema}.${table}"), f.duration("timeout", DEFAULT_TIMEOUT));
        }

        public String type() {
            return TYPE;
        }

        public Sink open() throws Exception {
            return new RabbitMqSink(uri, exchange, routingKey, timeout);
        }
    }

    /** The sink with its settings, as the durable fan-out takes it. */
    default SinkFanOut.Target target() throws Exception {
        return new SinkFanOut.Target(open(), settings());
    }

    /** Opens every sink; closes the ones already open when one fails. */
    static List<SinkFanOut.Target> openAll(List<SinkConfig> configs) throws Exception {
        List<SinkFanOut.Target> targets = new ArrayList<>();
        try {
            for (SinkConfig c : configs) {
                targets.add(c.target());
            }
        } catch (Exception e) {
            for (SinkFanOut.Target t : targets) {
                t.sink().close();
            }
            throw e;
        }
        return targets;
    }

    /**
     * Reads a sink list: the list itself or a map with it under {@code sinks}.
     *
     * @param origin where it came from, for errors: {@code in tidings.yaml}, {@code in TIDINGS_SINKS}
     */
    static List<SinkConfig> parseAll(JsonNode tree, String origin) {
        JsonNode list = tree != null && tree.isObject() ? tree.get("sinks") : tree;
        if (list == null || !list.isArray()) {
            throw new IllegalArgumentException("sinks " + origin + ": expected a list of sinks (each a map with name, type, …)");
        }
        List<SinkConfig> sinks = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (JsonNode item : list) {
            SinkConfig c = parse(item, origin);
            if (!names.add(c.settings().name())) {
                throw new IllegalArgumentException("sinks " + origin + ": two sinks are named " + c.settings().name());
            }
            sinks.add(c);
        }
        return sinks;
    }

    /** The names of the sinks of a list (as {@link #parseAll} reads it) with {@code backfill: initial}. */
    static List<String> initialBackfills(JsonNode tree) {
        JsonNode list = tree != null && tree.isObject() ? tree.get("sinks") : tree;
        List<String> names = new ArrayList<>();
        for (JsonNode item : list == null ? List.<JsonNode>of() : (Iterable<JsonNode>) list::elements) {
            if ("initial".equals(item.path("backfill").asText(null))) {
                names.add(item.path("name").asText());
            }
        }
        return names;
    }

    /** Reads a sink list given as plain maps and lists (what a JSON mapper gives for {@code Object}). */
    static List<SinkConfig> parseAll(Object tree) {
        return parseAll(new ObjectMapper().valueToTree(tree), "in the sink list");
    }

    /** Reads one sink given as a plain map. */
    static SinkConfig parse(Map<String, Object> map) {
        return parse(new ObjectMapper().valueToTree(map), "in the sink list");
    }

    private static SinkConfig parse(JsonNode map, String origin) {
        if (!map.isObject()) {
            throw new IllegalArgumentException("sinks " + origin + ": each sink is a map with at least name and type, not " + map);
        }
        SinkFields f = new SinkFields(map, "sink", origin);
        String name = f.required("name");
        f = new SinkFields(map, "sink " + name, origin);
        String type = f.required("type").toLowerCase(Locale.ROOT);
        Set<String> allowed = PER_TYPE.get(type);
        if (allowed == null) {
            throw f.problem("unknown type '" + type + "'; use one of " + new TreeSet<>(PER_TYPE.keySet()));
        }
        for (var it = map.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!COMMON.contains(key) && !allowed.contains(key)) {
                TreeSet<String> known = new TreeSet<>(COMMON);
                known.addAll(allowed);
                throw f.problem("unknown key '" + key + "' for type " + type + "; known: " + known);
            }
        }
        String backfill = f.text("backfill", "none");
        if (!backfill.equals("initial") && !backfill.equals("none")) {
            throw f.problem("backfill is 'initial' (the sink gets the current rows of its tables first, once) or 'none', "
                    + "not '" + backfill + "'");
        }
        RetryPolicy retry = retry(f);
        String deadLetterFile = f.text("dead_letter_file", null);
        if (retry.giveUp() == RetryPolicy.GiveUp.DEAD_LETTER && deadLetterFile == null) {
            throw f.problem("give_up: dead_letter needs dead_letter_file: PATH");
        }
        SinkSettings settings = new SinkSettings(name, filter(f), EventFormat.named(f.text("format", "tidings")),
                f.intIn("batch", type.equals(Webhook.TYPE) ? 1 : SinkSettings.DEFAULT_BATCH, 1, Integer.MAX_VALUE),
                f.intIn("in_flight", type.equals(Kafka.TYPE) ? 4 : SinkSettings.DEFAULT_IN_FLIGHT, 1, Integer.MAX_VALUE),
                f.intIn("queue", SinkSettings.DEFAULT_QUEUE, 1, Integer.MAX_VALUE), retry,
                deadLetterFile == null ? null : new DeadLetterFile(Path.of(deadLetterFile)));
        return switch (type) {
            case File.TYPE -> File.read(settings, f);
            case Webhook.TYPE -> Webhook.read(settings, f);
            case Kafka.TYPE -> Kafka.read(settings, f);
            case Redis.TYPE -> Redis.read(settings, f);
            case Nats.TYPE -> Nats.read(settings, f);
            case RabbitMq.TYPE -> RabbitMq.read(settings, f);
            default -> throw new IllegalStateException(type);
        };
    }

    private static RouteTemplate template(SinkFields f, String key, String otherwise) {
        try {
            return RouteTemplate.parse(f.text(key, otherwise));
        } catch (IllegalArgumentException e) {
            throw f.problem(key + ": " + e.getMessage());
        }
    }

    private static Predicate<ChangeEvent> filter(SinkFields f) {
        Set<TableName> tables = new HashSet<>();
        ConfigValue t = f.get("tables");
        for (String name : t == null ? List.<String>of() : t.list()) {
            tables.add(Identifiers.parseTable(name));
        }
        Set<Op> ops = new HashSet<>();
        ConfigValue o = f.get("ops");
        for (String op : o == null ? List.<String>of() : o.list()) {
            try {
                ops.add(Op.valueOf(op.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw o.expected("a list of insert, update, delete, truncate, message, read");
            }
        }
        TableFilter tableFilter = TableFilter.of(tables);
        Predicate<ChangeEvent> filter = e -> true;
        if (!tableFilter.all()) {
            filter = e -> tableFilter.matches(e.schema(), e.table());
        }
        if (!ops.isEmpty()) {
            // a snapshot read is the row's current state: it reaches a sink that takes inserts
            boolean reads = ops.contains(Op.READ) || ops.contains(Op.INSERT);
            filter = filter.and(e -> ops.contains(e.op()) || reads && e.op() == Op.READ);
        }
        ConfigValue so = f.get("skip_origins");
        Set<String> origins = new HashSet<>(so == null ? List.<String>of() : so.list());
        if (!origins.isEmpty()) {
            boolean any = origins.contains(SourceConfig.ANY_ORIGIN);
            filter = filter.and(e -> e.tx().origin() == null || !(any || origins.contains(e.tx().origin())));
        }
        return filter;
    }

    private static RetryPolicy retry(SinkFields f) {
        ConfigValue value = f.get("retry");
        if (value == null) {
            return RetryPolicy.FOREVER;
        }
        if (!value.node().isObject()) {
            throw value.expected("a map (max_attempts, max_time, initial_backoff, max_backoff, give_up)");
        }
        for (var it = value.node().fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!RETRY_KEYS.contains(k)) {
                throw f.problem("unknown retry key '" + k + "'; known: " + new TreeSet<>(RETRY_KEYS));
            }
        }
        SinkFields r = new SinkFields(value.node(), f.sink() + ": retry", f.origin());
        RetryPolicy d = RetryPolicy.FOREVER;
        RetryPolicy.GiveUp action = switch (r.text("give_up", "stop").toLowerCase(Locale.ROOT)) {
            case "stop" -> RetryPolicy.GiveUp.STOP;
            case "dead_letter" -> RetryPolicy.GiveUp.DEAD_LETTER;
            default -> throw r.get("give_up").expected("stop or dead_letter");
        };
        return new RetryPolicy(r.intIn("max_attempts", 0, 0, Integer.MAX_VALUE), r.duration("max_time", d.maxTime()),
                r.duration("initial_backoff", d.initialBackoff()), r.duration("max_backoff", d.maxBackoff()), action);
    }
}
