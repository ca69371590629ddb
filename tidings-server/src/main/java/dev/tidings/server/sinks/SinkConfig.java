package dev.tidings.server.sinks;

import dev.tidings.base.Identifiers;
import dev.tidings.base.TableFilter;
import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.event.Op;
import dev.tidings.pipeline.FanOutDelivery;
import dev.tidings.sink.RetryPolicy;
import dev.tidings.sink.RouteTemplate;
import dev.tidings.sink.Sink;
import dev.tidings.sink.SinkSettings;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * One configured sink, read from a plain tree (what a JSON or YAML mapper gives: maps, lists,
 * strings, numbers), e.g.:
 *
 * <pre>
 * sinks:
 *   - name: orders-to-kafka
 *     type: kafka                       # file | webhook | kafka | redis | nats | rabbitmq
 *     tables: [public.orders]           # default: every table
 *     ops: [insert, update, delete]     # default: every op
 *     format: tidings                   # tidings | debezium | cloudevents | supabase
 *     batch: 500                        # messages per send
 *     in_flight: 4                      # batches sent and not yet confirmed (default 1; kafka 4)
 *     queue: 8192                       # messages waiting before WAL reading pauses
 *     retry: {max_attempts: 0, max_time: 0s, initial_backoff: 100ms, max_backoff: 30s, give_up: stop}
 *     dead_letter_file: /var/lib/tidings/orders.dead.jsonl   # with give_up: dead_letter
 *     bootstrap_servers: localhost:9092
 *     topic: tidings.${schema}.${table}
 * </pre>
 *
 * Per type: {@code file}: {@code path}, {@code max_bytes}. {@code webhook}: {@code url},
 * {@code secret}, {@code timeout}. {@code kafka}: {@code bootstrap_servers}, {@code topic},
 * {@code delivery_timeout}, {@code properties} (producer overrides). {@code redis}: {@code uri},
 * {@code stream} (or {@code channel} with {@code mode: pubsub}), {@code maxlen}, {@code timeout}.
 * {@code nats}: {@code url}, {@code subject}, {@code timeout}. {@code rabbitmq}: {@code uri},
 * {@code exchange}, {@code routing_key}, {@code timeout}. Durations: {@code 250ms}, {@code 10s},
 * {@code 2m}, or a number of milliseconds. An unknown key is an error (a typo must not silently
 * fall back to a default).
 */
public record SinkConfig(String type, SinkSettings settings, Map<String, Object> options) {
    /** The keys every sink accepts, whatever its type. docs/configuration.md is checked against these lists. */
    public static final Set<String> COMMON = Set.of("name", "type", "tables", "ops", "format", "batch", "in_flight",
            "queue", "retry", "dead_letter_file");
    /** The keys of the {@code retry} map. */
    public static final Set<String> RETRY_KEYS = Set.of("max_attempts", "max_time", "initial_backoff", "max_backoff", "give_up");
    /** Each sink type and the keys it accepts beside {@link #COMMON}. */
    public static final Map<String, Set<String>> PER_TYPE = Map.of(
            "file", Set.of("path", "max_bytes"),
            "webhook", Set.of("url", "secret", "timeout"),
            "kafka", Set.of("bootstrap_servers", "topic", "delivery_timeout", "properties"),
            "redis", Set.of("uri", "stream", "channel", "mode", "maxlen", "timeout"),
            "nats", Set.of("url", "subject", "timeout"),
            "rabbitmq", Set.of("uri", "exchange", "routing_key", "timeout"));

    /** Reads the {@code sinks} list of a config tree (or the list itself). */
    @SuppressWarnings("unchecked")
    public static List<SinkConfig> parseAll(Object tree) {
        Object list = tree instanceof Map<?, ?> m ? m.get("sinks") : tree;
        if (!(list instanceof List<?> items)) {
            throw new IllegalArgumentException("sink config: expected a list of sinks under 'sinks'");
        }
        List<SinkConfig> sinks = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Object item : items) {
            if (!(item instanceof Map<?, ?>)) {
                throw new IllegalArgumentException("sink config: each sink is a map with at least name and type");
            }
            SinkConfig c = parse((Map<String, Object>) item);
            if (!names.add(c.settings().name())) {
                throw new IllegalArgumentException("sink config: two sinks are named " + c.settings().name());
            }
            sinks.add(c);
        }
        return sinks;
    }

    public static SinkConfig parse(Map<String, Object> map) {
        String name = string(map, "name", null, "sink");
        String where = "sink " + name;
        String type = string(map, "type", null, where).toLowerCase(Locale.ROOT);
        Set<String> allowed = PER_TYPE.get(type);
        if (allowed == null) {
            throw new IllegalArgumentException(where + ": unknown type '" + type + "'; use one of " + new TreeSet<>(PER_TYPE.keySet()));
        }
        for (String key : map.keySet()) {
            if (!COMMON.contains(key) && !allowed.contains(key)) {
                TreeSet<String> known = new TreeSet<>(COMMON);
                known.addAll(allowed);
                throw new IllegalArgumentException(where + ": unknown key '" + key + "' for type " + type + "; known: " + known);
            }
        }
        boolean batchedWebhook = type.equals("webhook") && map.containsKey("batch");
        int defaultBatch = type.equals("webhook") ? 1 : 500;
        // One batch in flight keeps commit order through retries: with more, a retried batch can land
        // after a later one. Kafka's idempotent producer retries inside the client and keeps order
        // (up to its delivery timeout), so it may pipeline.
        int defaultInFlight = type.equals("kafka") ? 4 : 1;
        RetryPolicy retry = retry(map.get("retry"), where);
        Object deadLetterFile = map.get("dead_letter_file");
        if (retry.giveUp() == RetryPolicy.GiveUp.DEAD_LETTER && deadLetterFile == null) {
            throw new IllegalArgumentException(where + ": give_up: dead_letter needs dead_letter_file: PATH");
        }
        SinkSettings settings = new SinkSettings(name, filter(map, where),
                EventFormat.named(string(map, "format", "tidings", where)),
                integer(map, "batch", defaultBatch, where), integer(map, "in_flight", defaultInFlight, where),
                integer(map, "queue", 8192, where), retry,
                deadLetterFile == null ? null : new DeadLetterFile(Path.of(deadLetterFile.toString())));
        Map<String, Object> options = new LinkedHashMap<>(map);
        options.keySet().removeAll(COMMON);
        if (batchedWebhook) {
            options.put("array", true);
        }
        return new SinkConfig(type, settings, options);
    }

    /** Connects (where the client connects eagerly) and returns the sink with its settings. */
    @SuppressWarnings("unchecked")
    public FanOutDelivery.Target open() throws Exception {
        String where = "sink " + settings.name();
        Duration timeout = duration(options.get("timeout"), Duration.ofSeconds(10), where);
        Sink sink = switch (type) {
            case "file" -> new FileSink(Path.of(string(options, "path", null, where)), longValue(options, "max_bytes", 0, where));
            case "webhook" -> {
                Object secret = options.get("secret");
                yield new WebhookSink(URI.create(string(options, "url", null, where)),
                        secret == null ? null : new WebhookSigner(secret.toString()), timeout, options.containsKey("array"));
            }
            case "kafka" -> {
                Map<String, String> props = new LinkedHashMap<>();
                if (options.get("properties") instanceof Map<?, ?> m) {
                    m.forEach((k, v) -> props.put(k.toString(), v.toString()));
                }
                yield new KafkaSink(string(options, "bootstrap_servers", null, where),
                        RouteTemplate.parse(string(options, "topic", "tidings.${schema}.${table}", where)),
                        duration(options.get("delivery_timeout"), Duration.ofMinutes(2), where), props);
            }
            case "redis" -> {
                RedisSink.Mode mode = RedisSink.Mode.valueOf(string(options, "mode", "stream", where).toUpperCase(Locale.ROOT));
                String route = mode == RedisSink.Mode.STREAM ? string(options, "stream", "tidings:${schema}.${table}", where)
                        : string(options, "channel", "tidings:${schema}.${table}", where);
                yield new RedisSink(string(options, "uri", "redis://127.0.0.1:6379", where), RouteTemplate.parse(route), mode,
                        longValue(options, "maxlen", 0, where), timeout);
            }
            case "nats" -> new NatsSink(string(options, "url", "nats://127.0.0.1:4222", where),
                    RouteTemplate.parse(string(options, "subject", "tidings.${schema}.${table}", where)), timeout);
            case "rabbitmq" -> new RabbitMqSink(string(options, "uri", "amqp://guest:guest@127.0.0.1:5672", where),
                    string(options, "exchange", "tidings", where),
                    RouteTemplate.parse(string(options, "routing_key", "${schema}.${table}", where)), timeout);
            default -> throw new IllegalStateException(type);
        };
        return new FanOutDelivery.Target(sink, settings);
    }

    /** Opens every sink; closes the ones already open when one fails. */
    public static List<FanOutDelivery.Target> openAll(List<SinkConfig> configs) throws Exception {
        List<FanOutDelivery.Target> targets = new ArrayList<>();
        try {
            for (SinkConfig c : configs) {
                targets.add(c.open());
            }
        } catch (Exception e) {
            for (FanOutDelivery.Target t : targets) {
                t.sink().close();
            }
            throw e;
        }
        return targets;
    }

    private static Predicate<ChangeEvent> filter(Map<String, Object> map, String where) {
        Set<TableName> tables = new HashSet<>();
        for (String t : strings(map.get("tables"), where)) {
            tables.add(Identifiers.parseTable(t));
        }
        Set<Op> ops = new HashSet<>();
        for (String o : strings(map.get("ops"), where)) {
            try {
                ops.add(Op.valueOf(o.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": unknown op '" + o + "'; use insert, update, delete, truncate, message");
            }
        }
        TableFilter tableFilter = TableFilter.of(tables);
        Predicate<ChangeEvent> filter = e -> true;
        if (!tableFilter.all()) {
            filter = e -> tableFilter.matches(e.schema(), e.table());
        }
        if (!ops.isEmpty()) {
            filter = filter.and(e -> ops.contains(e.op()));
        }
        return filter;
    }

    private static RetryPolicy retry(Object value, String where) {
        if (value == null) {
            return RetryPolicy.FOREVER;
        }
        if (!(value instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(where + ": retry is a map (max_attempts, max_time, initial_backoff, max_backoff, give_up)");
        }
        for (Object k : m.keySet()) {
            if (!RETRY_KEYS.contains(k.toString())) {
                throw new IllegalArgumentException(where + ": unknown retry key '" + k + "'");
            }
        }
        RetryPolicy d = RetryPolicy.FOREVER;
        String giveUp = m.get("give_up") == null ? "stop" : m.get("give_up").toString().toLowerCase(Locale.ROOT);
        RetryPolicy.GiveUp action = switch (giveUp) {
            case "stop" -> RetryPolicy.GiveUp.STOP;
            case "dead_letter" -> RetryPolicy.GiveUp.DEAD_LETTER;
            default -> throw new IllegalArgumentException(where + ": give_up is stop or dead_letter, not '" + giveUp + "'");
        };
        Object attempts = m.get("max_attempts");
        return new RetryPolicy(attempts == null ? 0 : toInt(attempts, where + " retry.max_attempts"),
                duration(m.get("max_time"), d.maxTime(), where), duration(m.get("initial_backoff"), d.initialBackoff(), where),
                duration(m.get("max_backoff"), d.maxBackoff(), where), action);
    }

    static Duration duration(Object value, Duration otherwise, String where) {
        if (value == null) {
            return otherwise;
        }
        if (value instanceof Number n) {
            return Duration.ofMillis(n.longValue());
        }
        String s = value.toString().trim().toLowerCase(Locale.ROOT);
        try {
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2).trim()));
            }
            if (s.endsWith("s")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1).trim()) * 1000));
            }
            if (s.endsWith("m")) {
                return Duration.ofSeconds(Math.round(Double.parseDouble(s.substring(0, s.length() - 1).trim()) * 60));
            }
            return Duration.ofMillis(Long.parseLong(s));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": not a duration: '" + value + "' (e.g. 250ms, 10s, 2m)");
        }
    }

    private static String string(Map<String, Object> map, String key, String otherwise, String where) {
        Object v = map.get(key);
        if (v == null) {
            if (otherwise == null) {
                throw new IllegalArgumentException(where + ": '" + key + "' is required");
            }
            return otherwise;
        }
        return v.toString();
    }

    private static int integer(Map<String, Object> map, String key, int otherwise, String where) {
        Object v = map.get(key);
        return v == null ? otherwise : toInt(v, where + " " + key);
    }

    private static long longValue(Map<String, Object> map, String key, long otherwise, String where) {
        Object v = map.get(key);
        if (v == null) {
            return otherwise;
        }
        try {
            return v instanceof Number n ? n.longValue() : Long.parseLong(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": " + key + " is a number, not '" + v + "'");
        }
    }

    private static int toInt(Object v, String what) {
        try {
            return v instanceof Number n ? n.intValue() : Integer.parseInt(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " is a number, not '" + v + "'");
        }
    }

    private static List<String> strings(Object value, String where) {
        if (value == null) {
            return List.of();
        }
        if (value instanceof List<?> l) {
            return l.stream().map(Object::toString).toList();
        }
        return List.of(value.toString().split(","));
    }
}
