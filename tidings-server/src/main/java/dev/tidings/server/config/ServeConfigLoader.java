package dev.tidings.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tidings.base.Identifiers;
import dev.tidings.base.TableName;
import dev.tidings.server.auth.AccessPolicy;
import dev.tidings.server.broadcast.Limits;
import dev.tidings.server.sinks.SinkConfig;
import dev.tidings.source.DatabaseUrl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reads the settings of {@code tidings serve} from three places, later ones winning: a YAML file,
 * environment variables, command-line flags. Every setting has one canonical name (the YAML path);
 * {@link #SETTINGS} lists them with their environment variables, among which those of the
 * Supabase Realtime image, so a deployment of that image keeps its environment:
 *
 * <pre>
 * DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD DB_SSL  → the database (or DATABASE_URL / --db)
 * PORT                                                → the HTTP port (default 4000)
 * SLOT_NAME TEMPORARY_SLOT                            → the slot (see below)
 * PUBLICATIONS                                        → the publication: a JSON list ["supabase_realtime"] or a name
 * SECURE_CHANNELS JWT_SECRET                          → token checks (also JWKS_URL)
 * MAX_REPLICATION_LAG_MB                              → a warning when the slot lags more (and, if
 *                                                       replication.pause_on_max_lag, live clients pause)
 * LOG_FORMAT                                          → plain (default) or json
 * HOSTNAME SECRET_KEY_BASE                            → accepted and ignored (Phoenix endpoint settings)
 * </pre>
 *
 * <p>The slot follows the Realtime image: without {@code SLOT_NAME} a temporary slot with a
 * generated name (a live server needs nothing kept while it is down); with one, a persistent slot
 * of that name, unless {@code TEMPORARY_SLOT=true}. {@code SECURE_CHANNELS} defaults to true when
 * a key ({@code JWT_SECRET} or {@code JWKS_URL}) is configured, else false — so a Realtime
 * {@code docker run} environment without a key serves its clients unchanged.
 *
 * <p>Durable sinks are the top-level YAML list {@code sinks:} (or {@code TIDINGS_SINKS}, the same
 * list as JSON), read by {@link SinkConfig}. They need a persistent slot: with sinks, a missing
 * {@code SLOT_NAME} means the persistent slot {@code tidings}, and a temporary slot is refused
 * (it is dropped with the connection, so what was committed while Tidings was down would be lost).
 *
 * <p>{@code /metrics} and {@code /api/status} need a token like the WebSocket when secure channels
 * are on, unless {@code metrics.public: true} (e.g. for a Prometheus on a private network);
 * {@code /health} and {@code /ready} are always open and tell nothing but up/ready and why not.
 *
 * <p>A setting that cannot be read, a YAML key or {@code TIDINGS_*} variable that is not known, and
 * contradictions (secure channels without a key) fail at start with a message naming the setting.
 */
public final class ServeConfigLoader {

    /** A setting: its YAML path, its environment variables, what it is. */
    public record Setting(String path, List<String> env, String help) {}

    public static final List<Setting> SETTINGS = List.of(
            new Setting("db.url", List.of("DATABASE_URL", "TIDINGS_DB_URL"), "postgresql://user:password@host:5432/db"),
            new Setting("db.host", List.of("DB_HOST"), "database host"),
            new Setting("db.port", List.of("DB_PORT"), "database port (5432)"),
            new Setting("db.name", List.of("DB_NAME"), "database name (postgres)"),
            new Setting("db.user", List.of("DB_USER"), "database user (postgres)"),
            new Setting("db.password", List.of("DB_PASSWORD"), "database password"),
            new Setting("db.ssl", List.of("DB_SSL"), "true: require TLS"),
            new Setting("server.port", List.of("PORT", "TIDINGS_PORT"), "HTTP port (4000)"),
            new Setting("server.bind", List.of("TIDINGS_BIND"), "listen address (0.0.0.0)"),
            new Setting("server.hostname", List.of("HOSTNAME"), "accepted for the Realtime image; not used"),
            new Setting("server.secret_key_base", List.of("SECRET_KEY_BASE"), "accepted for the Realtime image; not used"),
            new Setting("replication.slot", List.of("SLOT_NAME", "TIDINGS_SLOT"), "slot name; unset: a temporary slot"),
            new Setting("replication.temporary", List.of("TEMPORARY_SLOT", "TIDINGS_TEMPORARY_SLOT"), "true/false"),
            new Setting("replication.publication", List.of("PUBLICATIONS", "TIDINGS_PUBLICATION"),
                    "publication (supabase_realtime); a JSON list of one name is accepted"),
            new Setting("replication.tables", List.of("TIDINGS_TABLES"), "tables of a publication created here"),
            new Setting("replication.max_lag_mb", List.of("MAX_REPLICATION_LAG_MB"), "positive integer: warn above this lag"),
            new Setting("replication.pause_on_max_lag", List.of("TIDINGS_PAUSE_ON_MAX_LAG"),
                    "true: pause live clients while over max_lag_mb (false)"),
            new Setting("replication.lag_check_seconds", List.of("TIDINGS_LAG_CHECK_SECONDS"), "seconds between lag checks (5)"),
            new Setting("auth.secure_channels", List.of("SECURE_CHANNELS", "TIDINGS_SECURE_CHANNELS"), "true/false"),
            new Setting("auth.jwt_secret", List.of("JWT_SECRET", "TIDINGS_JWT_SECRET"), "HMAC secret, 32+ bytes"),
            new Setting("auth.jwks_url", List.of("JWKS_URL", "TIDINGS_JWKS_URL"), "URL of a JWK set"),
            new Setting("auth.roles", List.of(), "YAML map: role → [schema.table | schema.* | *]"),
            new Setting("auth.rows", List.of(), "YAML map: schema.table → filter with {claim}s"),
            new Setting("limits.send_queue_bytes", List.of("TIDINGS_SEND_QUEUE_BYTES"), "bytes (4194304)"),
            new Setting("limits.send_queue_messages", List.of("TIDINGS_SEND_QUEUE_MESSAGES"), "messages (10000)"),
            new Setting("limits.max_frame_bytes", List.of("TIDINGS_MAX_FRAME_BYTES"), "bytes (1048576)"),
            new Setting("limits.channels_per_client", List.of("TENANT_MAX_CHANNELS_PER_CLIENT"),
                    "channels one connection may join (100; 0: no limit)"),
            new Setting("limits.joins_per_second", List.of("TENANT_MAX_JOINS_PER_SECOND"), "joins per second per connection (100)"),
            new Setting("limits.events_per_second", List.of("TENANT_MAX_EVENTS_PER_SECOND"),
                    "broadcasts per second per connection (100)"),
            new Setting("limits.bytes_per_second", List.of("TENANT_MAX_BYTES_PER_SECOND"),
                    "broadcast bytes per second per connection (100000)"),
            new Setting("limits.client_presence_max_calls", List.of("CLIENT_PRESENCE_MAX_CALLS"),
                    "presence messages per connection per window (5)"),
            new Setting("limits.client_presence_window_ms", List.of("CLIENT_PRESENCE_WINDOW_MS"), "that window in ms (30000)"),
            new Setting("limits.presence_events_per_second", List.of("TIDINGS_MAX_PRESENCE_EVENTS_PER_SECOND"),
                    "presence messages per second, whole server (1000)"),
            new Setting("limits.payload_kb", List.of("TIDINGS_MAX_PAYLOAD_SIZE_KB"), "largest broadcast/presence payload in kB (3000)"),
            new Setting("sse.keepalive_seconds", List.of("TIDINGS_SSE_KEEPALIVE_SECONDS"), "seconds (15)"),
            new Setting("metrics.public", List.of("TIDINGS_METRICS_PUBLIC"),
                    "true: /metrics and /api/status need no token even with secure channels (false)"),
            new Setting("log.format", List.of("LOG_FORMAT", "TIDINGS_LOG_FORMAT"), "plain or json (plain)"),
            new Setting("sinks", List.of("TIDINGS_SINKS"), "durable sinks: a YAML list, or a JSON list in the environment"));

    private ServeConfigLoader() {}

    /**
     * @param flags settings given on the command line, by canonical path
     * @param env   the environment
     * @param file  a YAML file, or null
     */
    public static ServeConfig load(Map<String, String> flags, Map<String, String> env, Path file) {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, List<String>> roles = new LinkedHashMap<>();
        Map<String, String> rows = new LinkedHashMap<>();
        if (file != null) {
            readYaml(file, values, roles, rows);
        }
        for (Setting s : SETTINGS) {
            for (String var : s.env()) {
                String v = env.get(var);
                if (v != null && !v.isEmpty()) {
                    values.put(s.path(), v);
                    break;
                }
            }
        }
        for (String var : env.keySet()) {
            if (var.startsWith("TIDINGS_") && SETTINGS.stream().noneMatch(s -> s.env().contains(var))
                    && !var.equals("TIDINGS_JAVA_OPTS")) {
                throw new IllegalArgumentException("unknown environment variable " + var + "; known: " + knownEnv());
            }
        }
        flags.forEach((k, v) -> {
            if (v != null) {
                values.put(k, v);
            }
        });
        return build(values, roles, rows);
    }

    /** The Realtime limits: Supabase's defaults, each 0 (off) or more. */
    private static Limits limits(Map<String, String> v) {
        Limits d = Limits.SUPABASE;
        return new Limits(intIn(v, "limits.channels_per_client", d.channelsPerClient(), 0, Integer.MAX_VALUE),
                intIn(v, "limits.joins_per_second", d.joinsPerSecond(), 0, Integer.MAX_VALUE),
                intIn(v, "limits.events_per_second", d.eventsPerSecond(), 0, Integer.MAX_VALUE),
                intIn(v, "limits.bytes_per_second", d.bytesPerSecond(), 0, Integer.MAX_VALUE),
                intIn(v, "limits.client_presence_max_calls", d.presenceEventsPerWindow(), 0, Integer.MAX_VALUE),
                intIn(v, "limits.client_presence_window_ms", d.presenceWindowMillis(), 1, Integer.MAX_VALUE),
                intIn(v, "limits.presence_events_per_second", d.serverPresenceEventsPerSecond(), 0, Integer.MAX_VALUE),
                intIn(v, "limits.payload_kb", d.payloadBytes() / 1000, 0, 2_000_000) * 1000);
    }

    private static ServeConfig build(Map<String, String> v, Map<String, List<String>> roles, Map<String, String> rows) {
        DatabaseUrl database = database(v);
        int port = intIn(v, "server.port", 4000, 0, 65535);
        String bind = v.getOrDefault("server.bind", "0.0.0.0");
        String slot = v.get("replication.slot");
        List<SinkConfig> sinks = sinks(v.get("sinks"));
        Boolean temporaryGiven = bool(v, "replication.temporary");
        boolean temporary = temporaryGiven != null ? temporaryGiven : slot == null && sinks.isEmpty();
        if (temporary && !sinks.isEmpty()) {
            throw new IllegalArgumentException("durable sinks need a persistent replication slot, and a temporary one is "
                    + "configured (TEMPORARY_SLOT / replication.temporary): a temporary slot is dropped with its connection, "
                    + "so changes committed while Tidings is down or reconnecting would never reach the sinks. "
                    + "Set SLOT_NAME (replication.slot) and TEMPORARY_SLOT=false");
        }
        if (slot == null) {
            slot = temporary ? "tidings_rt_" + ProcessHandle.current().pid() + "_" + ThreadLocalRandom.current().nextInt(1 << 20)
                    : sinks.isEmpty() ? "tidings_realtime" : "tidings";
        }
        if (!slot.matches("[a-z0-9_]{1,63}")) {
            throw new IllegalArgumentException("slot name '" + slot + "' (SLOT_NAME / replication.slot) may only have "
                    + "lower-case letters, digits and underscores, at most 63");
        }
        String publication = publication(v.getOrDefault("replication.publication", "supabase_realtime"));
        List<TableName> tables = new ArrayList<>();
        String t = v.get("replication.tables");
        if (t != null && !t.isBlank()) {
            for (String name : t.split(",")) {
                tables.add(Identifiers.parseTable(name.strip()));
            }
        }
        String secret = v.get("auth.jwt_secret");
        String jwks = v.get("auth.jwks_url");
        boolean haveKey = secret != null || jwks != null;
        if (secret != null && secret.getBytes(java.nio.charset.StandardCharsets.UTF_8).length < 32) {
            throw new IllegalArgumentException("JWT_SECRET (auth.jwt_secret) is shorter than 32 bytes, too short for HS256; "
                    + "use a random string of 32 or more characters, as Supabase does");
        }
        Boolean secureGiven = bool(v, "auth.secure_channels");
        boolean secure = secureGiven != null ? secureGiven : haveKey;
        if (secure && !haveKey) {
            throw new IllegalArgumentException("SECURE_CHANNELS is true but no key is configured: set JWT_SECRET "
                    + "(HS256/384/512) or JWKS_URL (RS256/ES256), or SECURE_CHANNELS=false");
        }
        new AccessPolicy(roles, rows); // fails on a bad row policy
        for (String table : rows.keySet()) {
            Identifiers.parseTable(table);
        }
        Integer lag = v.containsKey("replication.max_lag_mb") ? intIn(v, "replication.max_lag_mb", 0, 1, Integer.MAX_VALUE) : null;
        long queueBytes = intIn(v, "limits.send_queue_bytes", 4 << 20, 1024, Integer.MAX_VALUE);
        int queueFrames = intIn(v, "limits.send_queue_messages", 10_000, 1, Integer.MAX_VALUE);
        int maxFrame = intIn(v, "limits.max_frame_bytes", 1 << 20, 256, 64 << 20);
        int keepAlive = intIn(v, "sse.keepalive_seconds", 15, 1, 3600);
        boolean pause = Boolean.TRUE.equals(bool(v, "replication.pause_on_max_lag"));
        if (pause && lag == null) {
            throw new IllegalArgumentException("replication.pause_on_max_lag needs MAX_REPLICATION_LAG_MB (replication.max_lag_mb)");
        }
        int lagCheck = intIn(v, "replication.lag_check_seconds", 5, 1, 3600);
        String logFormat = v.getOrDefault("log.format", "plain").strip().toLowerCase(Locale.ROOT);
        if (!logFormat.equals("plain") && !logFormat.equals("json")) {
            throw new IllegalArgumentException(name("log.format") + " is plain or json, not '" + logFormat + "'");
        }
        return new ServeConfig(database, bind, port, slot, temporary, publication, tables, secure, secret, jwks, roles,
                rows, queueBytes, queueFrames, maxFrame, lag, pause, Duration.ofSeconds(lagCheck),
                Duration.ofSeconds(keepAlive), sinks, Boolean.TRUE.equals(bool(v, "metrics.public")), logFormat, limits(v));
    }

    private static List<SinkConfig> sinks(String json) {
        if (json == null || json.isBlank()) {
            return List.of();
        }
        Object tree;
        try {
            tree = new ObjectMapper().readValue(json, Object.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("TIDINGS_SINKS (sinks) is not a JSON list of sinks: " + e.getMessage());
        }
        return SinkConfig.parseAll(tree);
    }

    private static DatabaseUrl database(Map<String, String> v) {
        String url = v.get("db.url");
        if (url != null) {
            return DatabaseUrl.parse(url);
        }
        String host = v.get("db.host");
        if (host == null) {
            throw new IllegalArgumentException("no database given: pass --db postgresql://user:password@host:5432/db, "
                    + "set DATABASE_URL, or set DB_HOST (with DB_PORT, DB_NAME, DB_USER, DB_PASSWORD) as for the Realtime image");
        }
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", v.getOrDefault("db.user", "postgres"));
        if (v.get("db.password") != null) {
            params.put("password", v.get("db.password"));
        }
        Boolean ssl = bool(v, "db.ssl");
        if (Boolean.TRUE.equals(ssl)) {
            params.put("sslmode", "require");
        }
        return new DatabaseUrl(host, intIn(v, "db.port", 5432, 1, 65535), v.getOrDefault("db.name", "postgres"), params);
    }

    private static String publication(String text) {
        String s = text.strip();
        if (s.startsWith("[")) {
            JsonNode list;
            try {
                list = new ObjectMapper().readTree(s);
            } catch (IOException e) {
                throw new IllegalArgumentException("PUBLICATIONS is not a JSON list: " + s);
            }
            if (!list.isArray() || list.size() != 1 || !list.get(0).isTextual()) {
                throw new IllegalArgumentException("PUBLICATIONS must name exactly one publication, e.g. "
                        + "[\"supabase_realtime\"] (Tidings streams one publication; make one that covers every table you need)");
            }
            s = list.get(0).asText();
        }
        if (s.isEmpty()) {
            throw new IllegalArgumentException("the publication name is empty");
        }
        return s;
    }

    private static Boolean bool(Map<String, String> v, String path) {
        String s = v.get(path);
        if (s == null) {
            return null;
        }
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(name(path) + " must be true or false, not '" + s + "'");
        };
    }

    private static int intIn(Map<String, String> v, String path, int dflt, int min, int max) {
        String s = v.get(path);
        if (s == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(s.strip());
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name(path) + " must be a whole number from " + min + " to " + max
                    + ", not '" + s + "'");
        }
    }

    private static String name(String path) {
        for (Setting s : SETTINGS) {
            if (s.path().equals(path)) {
                return s.env().isEmpty() ? path : s.env().get(0) + " (" + path + ")";
            }
        }
        return path;
    }

    private static String knownEnv() {
        return String.join(" ", SETTINGS.stream().flatMap(s -> s.env().stream()).toList());
    }

    private static void readYaml(Path file, Map<String, String> values, Map<String, List<String>> roles,
                                 Map<String, String> rows) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(file));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the config file " + file + ": " + e.getMessage());
        }
        if (root == null || root.isNull() || root.isMissingNode()) {
            return;
        }
        if (!root.isObject()) {
            throw new IllegalArgumentException("the config file " + file + " must be a YAML map (db:, server:, replication:, auth:, …)");
        }
        root.properties().forEach(section -> {
            if (section.getKey().equals("sinks")) {
                values.put("sinks", section.getValue().toString());
                return;
            }
            if (!section.getValue().isObject()) {
                throw unknown(file, section.getKey());
            }
            section.getValue().properties().forEach(e -> {
                String path = section.getKey() + "." + e.getKey();
                JsonNode n = e.getValue();
                if (path.equals("auth.roles")) {
                    n.properties().forEach(r -> {
                        List<String> patterns = new ArrayList<>();
                        (r.getValue().isArray() ? r.getValue() : new ObjectMapper().createArrayNode().add(r.getValue()))
                                .forEach(p -> patterns.add(p.asText()));
                        roles.put(r.getKey(), patterns);
                    });
                } else if (path.equals("auth.rows")) {
                    n.properties().forEach(r -> rows.put(r.getKey(), r.getValue().asText()));
                } else if (SETTINGS.stream().anyMatch(s -> s.path().equals(path))) {
                    if (n.isArray()) {
                        List<String> items = new ArrayList<>();
                        n.forEach(x -> items.add(x.asText()));
                        values.put(path, path.equals("replication.publication")
                                ? new ObjectMapper().valueToTree(items).toString() : String.join(",", items));
                    } else if (n.isValueNode()) {
                        values.put(path, n.asText());
                    } else {
                        throw new IllegalArgumentException("setting " + path + " in " + file + " must be a value");
                    }
                } else {
                    throw unknown(file, path);
                }
            });
        });
    }

    private static IllegalArgumentException unknown(Path file, String path) {
        return new IllegalArgumentException("unknown setting '" + path + "' in " + file + "; known: "
                + String.join(", ", SETTINGS.stream().map(Setting::path).toList()));
    }
}
