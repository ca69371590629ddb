package dev.tidings.server.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tidings.base.Identifiers;
import dev.tidings.base.TableName;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.util.JSONObjectUtils;
import dev.tidings.server.auth.AccessPolicy;
import dev.tidings.server.auth.TokenRules;
import dev.tidings.server.broadcast.ClientLimits;
import dev.tidings.server.broadcast.RelayedRooms;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.LinkedHashSet;
import java.util.Set;
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
 * SECURE_CHANNELS API_JWT_SECRET API_JWT_SECRET_NEXT → token checks (also JWT_SECRET, JWKS_URL)
 * API_JWT_JWKS JWT_CLAIM_VALIDATORS                   → a JWK set and required claims, both as JSON
 * MAX_REPLICATION_LAG_MB                              → a warning when the slot lags more (and, if
 *                                                       replication.pause_on_max_lag, live clients pause)
 * LOG_FORMAT                                          → plain (default) or json
 * HOSTNAME SECRET_KEY_BASE                            → accepted and ignored (Phoenix endpoint settings)
 * </pre>
 *
 * <p>Every other Realtime variable is either refused at start or accepted as meaningless for
 * Tidings, as {@link RealtimeEnvironment} lists; two variables of one setting set to different
 * values are refused too. Tokens need {@code exp} and {@code role} unless
 * {@code auth.require_exp}/{@code auth.require_role} say otherwise.
 *
 * <p>The slot follows the Realtime image: without {@code SLOT_NAME} a temporary slot with a
 * generated name (a live server needs nothing kept while it is down); with one, a persistent slot
 * of that name, unless {@code TEMPORARY_SLOT=true}. {@code SECURE_CHANNELS} defaults to true when
 * a key ({@code API_JWT_SECRET}, {@code API_JWT_JWKS} or {@code JWKS_URL}) is configured, else false — so a Realtime
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
 * <p>Values stay as given (YAML nodes, or text from the environment and flags) until each is read
 * once, by {@link ConfigValue}, into the typed {@link ServeConfig}. A setting that cannot be read,
 * a YAML key or {@code TIDINGS_*} variable that is not known, and contradictions (secure channels
 * without a key) fail at start with a message naming the setting and where it was given.
 *
 * <p>A new setting is a row of {@link #SETTINGS} (YAML path, flag, environment variables), a
 * component of its section's record in {@link ServeConfig}, read once in {@code build} through
 * {@link ConfigValue}, and a row in docs/configuration.md (ConfigurationDocsTest checks it). A new
 * sink key is a key of {@link SinkConfig#COMMON} read into {@code SinkSettings}, or a key of one
 * kind's {@code KEYS} read by its {@code read}.
 */
public final class ServeConfigLoader {

    /**
     * A setting: its YAML path, its command-line flag (null: none), its environment variables, what it is.
     * docs/configuration.md is checked against this list.
     */
    public record Setting(String path, String flag, List<String> env, String help) {
        /** A setting without a command-line flag. */
        public Setting(String path, List<String> env, String help) {
            this(path, null, env, help);
        }
    }

    public static final List<Setting> SETTINGS = List.of(
            new Setting("db.url", "--db", List.of("DATABASE_URL", "TIDINGS_DB_URL"), "postgresql://user:password@host:5432/db"),
            new Setting("db.host", List.of("DB_HOST"), "database host"),
            new Setting("db.port", List.of("DB_PORT"), "database port (5432)"),
            new Setting("db.name", List.of("DB_NAME"), "database name (postgres)"),
            new Setting("db.user", List.of("DB_USER"), "database user (postgres)"),
            new Setting("db.password", List.of("DB_PASSWORD"), "database password"),
            new Setting("db.ssl", List.of("DB_SSL"), "true: require TLS"),
            new Setting("server.port", "--port", List.of("PORT", "TIDINGS_PORT"), "HTTP port (4000)"),
            new Setting("server.bind", "--bind", List.of("TIDINGS_BIND"), "listen address (0.0.0.0)"),
            new Setting("server.hostname", List.of("HOSTNAME"), "accepted for the Realtime image; not used"),
            new Setting("server.secret_key_base", List.of("SECRET_KEY_BASE"), "accepted for the Realtime image; not used"),
            new Setting("replication.slot", "--slot", List.of("SLOT_NAME", "TIDINGS_SLOT"), "slot name; unset: a temporary slot"),
            new Setting("replication.temporary", "--temporary", List.of("TEMPORARY_SLOT", "TIDINGS_TEMPORARY_SLOT"), "true/false"),
            new Setting("replication.publication", "--publication", List.of("PUBLICATIONS", "TIDINGS_PUBLICATION"),
                    "publication (supabase_realtime); a JSON list of one name is accepted"),
            new Setting("replication.tables", "--tables", List.of("TIDINGS_TABLES"), "tables of a publication created here"),
            new Setting("replication.skip_origins", List.of("TIDINGS_SKIP_ORIGINS"),
                    "replication origins whose changes are skipped, comma-separated (* = any)"),
            new Setting("replication.max_lag_mb", List.of("MAX_REPLICATION_LAG_MB"), "positive integer: warn above this lag"),
            new Setting("replication.pause_on_max_lag", List.of("TIDINGS_PAUSE_ON_MAX_LAG"),
                    "true: pause live clients while over max_lag_mb (false)"),
            new Setting("replication.lag_check_seconds", List.of("TIDINGS_LAG_CHECK_SECONDS"), "seconds between lag checks (5)"),
            new Setting("replication.failover", List.of("TIDINGS_REPLICATION_FAILOVER"),
                    "true: create the slot as a failover slot, PostgreSQL 17+ (false)"),
            new Setting("ha.enabled", "--ha", List.of("TIDINGS_HA"),
                    "true: several serve processes share the slot, one leads, the others stand by (false)"),
            new Setting("ha.lease_seconds", List.of("TIDINGS_HA_LEASE_SECONDS"),
                    "seconds a silent leader is trusted before a standby replaces it (6)"),
            new Setting("auth.secure_channels", "--secure-channels", List.of("SECURE_CHANNELS", "TIDINGS_SECURE_CHANNELS"), "true/false"),
            new Setting("auth.jwt_secret", "--jwt-secret", List.of("API_JWT_SECRET", "JWT_SECRET", "TIDINGS_JWT_SECRET"),
                    "HMAC secret, 32+ bytes"),
            new Setting("auth.jwt_secret_next", List.of("API_JWT_SECRET_NEXT", "TIDINGS_JWT_SECRET_NEXT"),
                    "a second HMAC secret also accepted, for rotation"),
            new Setting("auth.jwks", List.of("API_JWT_JWKS", "TIDINGS_JWKS"), "a JWK set as JSON (YAML: a map)"),
            new Setting("auth.jwks_url", "--jwks-url", List.of("JWKS_URL", "TIDINGS_JWKS_URL"), "URL of a JWK set"),
            new Setting("auth.claim_validators", List.of("JWT_CLAIM_VALIDATORS", "TIDINGS_JWT_CLAIM_VALIDATORS"),
                    "JSON map: claim → the value it must have"),
            new Setting("auth.require_exp", List.of("TIDINGS_JWT_REQUIRE_EXP"), "false: accept tokens without exp (true)"),
            new Setting("auth.require_role", List.of("TIDINGS_JWT_REQUIRE_ROLE"), "false: accept tokens without role (true)"),
            new Setting("auth.roles", List.of(), "YAML map: role → [schema.table | schema.* | *]"),
            new Setting("auth.rows", List.of(), "YAML map: schema.table → filter with {claim}s"),
            new Setting("auth.rls", List.of("TIDINGS_AUTH_RLS"),
                    "true: deliver each change only to subscribers whose role and claims may SELECT the row (false)"),
            new Setting("limits.send_queue_bytes", List.of("TIDINGS_SEND_QUEUE_BYTES"), "size (4MiB)"),
            new Setting("limits.send_queue_messages", List.of("TIDINGS_SEND_QUEUE_MESSAGES"), "messages (10000)"),
            new Setting("limits.max_frame_bytes", List.of("TIDINGS_MAX_FRAME_BYTES"), "size (1MiB)"),
            new Setting("limits.channels_per_client", List.of("TENANT_MAX_CHANNELS_PER_CLIENT"),
                    "channels one connection may join (100; 0: no limit)"),
            new Setting("limits.joins_per_second", List.of("TENANT_MAX_JOINS_PER_SECOND"),
                    "joins per second per connection (100)"),
            new Setting("limits.events_per_second", List.of("TENANT_MAX_EVENTS_PER_SECOND"),
                    "broadcasts per second per connection (100)"),
            new Setting("limits.bytes_per_second", List.of("TENANT_MAX_BYTES_PER_SECOND"),
                    "broadcast bytes per second per connection (100000)"),
            new Setting("limits.client_presence_max_calls", List.of("CLIENT_PRESENCE_MAX_CALLS"),
                    "presence messages per connection per window (5)"),
            new Setting("limits.client_presence_window_ms", List.of("CLIENT_PRESENCE_WINDOW_MS"),
                    "that window in ms (30000)"),
            new Setting("limits.presence_events_per_second", List.of("TIDINGS_MAX_PRESENCE_EVENTS_PER_SECOND"),
                    "presence messages per second, whole server (1000)"),
            new Setting("limits.payload_kb", List.of("TIDINGS_MAX_PAYLOAD_SIZE_KB"),
                    "largest broadcast/presence payload in kB (3000)"),
            new Setting("limits.server_joins_per_second", List.of("TIDINGS_MAX_SERVER_JOINS_PER_SECOND"),
                    "joins per second, whole server (0: off)"),
            new Setting("limits.server_events_per_second", List.of("TIDINGS_MAX_SERVER_EVENTS_PER_SECOND"),
                    "broadcasts per second, whole server (0: off)"),
            new Setting("broadcast.relay", List.of("TIDINGS_BROADCAST_RELAY"),
                    "nats://host:port[/subject.prefix] shared by every node: client Broadcast and Presence reach all nodes' clients"),
            new Setting("sse.keepalive_seconds", List.of("TIDINGS_SSE_KEEPALIVE_SECONDS"), "seconds (15)"),
            new Setting("backfill.chunk_rows", List.of("TIDINGS_BACKFILL_CHUNK_ROWS"), "rows per backfill chunk (4096)"),
            new Setting("backfill.rows_per_second", List.of("TIDINGS_BACKFILL_ROWS_PER_SECOND"),
                    "most backfill rows per second; 0: no limit (0)"),
            new Setting("metrics.public", List.of("TIDINGS_METRICS_PUBLIC"),
                    "true: /metrics and /api/status need no token even with secure channels (false)"),
            new Setting("log.format", "--log-format", List.of("LOG_FORMAT", "TIDINGS_LOG_FORMAT"), "plain or json (plain)"),
            new Setting("log.level", List.of("LOG_LEVEL", "TIDINGS_LOG_LEVEL"),
                    "debug, info, warning or error, and Realtime's notice/critical/alert/emergency (info)"),
            new Setting("log.dir", "--log-dir", List.of("TIDINGS_LOG_DIR"),
                    "directory of the retained change log; unset: no log, live clients cannot resume"),
            new Setting("log.retention", List.of("TIDINGS_LOG_RETENTION"), "how long the log keeps events (24h)"),
            new Setting("log.max_bytes", List.of("TIDINGS_LOG_MAX_BYTES"), "the most bytes the log keeps (1GiB)"),
            new Setting("sinks", List.of("TIDINGS_SINKS"), "durable sinks: a YAML list, or a JSON list in the environment"),
            new Setting("edge.from", "--from", List.of("TIDINGS_EDGE_FROM"),
                    "run as an edge node reading nats://host[:port][,host…]/STREAM or kafka://host:port[,host…]/TOPIC "
                            + "(the leader's NATS or Kafka sink), not PostgreSQL"),
            new Setting("edge.window", List.of("TIDINGS_EDGE_WINDOW"),
                    "events an edge node keeps in memory for resumes; older ones are read from the broker (20000)"));

    private static final ObjectMapper JSON = new ObjectMapper();

    private ServeConfigLoader() {}

    /**
     * @param flags settings given on the command line, by canonical path (null values: not given)
     * @param env   the environment
     * @param file  a YAML file, or null
     */
    public static ServeConfig load(Map<String, String> flags, Map<String, String> env, Path file) {
        Map<String, ConfigValue> values = new LinkedHashMap<>();
        if (file != null) {
            readYaml(file, values);
        }
        RealtimeEnvironment.check(env);
        for (Setting s : SETTINGS) {
            String first = null;
            for (String var : s.env()) {
                String v = env.get(var);
                if (v == null || v.isEmpty()) {
                    continue;
                }
                if (first == null) {
                    first = var;
                    values.put(s.path(), fromEnv(var, s.path(), v));
                } else if (!v.equals(env.get(first))) {
                    throw new IllegalArgumentException(first + " and " + var + " are both set, to different values, and "
                            + "mean the same setting (" + s.path() + "); unset one of them");
                }
            }
        }
        for (String var : env.keySet()) {
            if (var.startsWith("TIDINGS_") && SETTINGS.stream().noneMatch(s -> s.env().contains(var))
                    && !var.equals("TIDINGS_JAVA_OPTS")) {
                throw new IllegalArgumentException("unknown environment variable " + var + "; known: " + knownEnv());
            }
        }
        flags.forEach((path, v) -> {
            if (v != null) {
                Setting s = setting(path);
                values.put(path, ConfigValue.text((s == null || s.flag() == null ? path : s.flag()) + " (" + path + ")", v));
            }
        });
        return build(new Values(values));
    }

    /** The values given, by setting path; each read by the caller into its type. */
    private record Values(Map<String, ConfigValue> byPath) {
        ConfigValue get(String path) {
            return byPath.get(path);
        }

        String text(String path, String otherwise) {
            ConfigValue v = byPath.get(path);
            return v == null ? otherwise : v.text();
        }

        boolean bool(String path, boolean otherwise) {
            ConfigValue v = byPath.get(path);
            return v == null ? otherwise : v.bool();
        }

        int intIn(String path, int otherwise, int min, int max) {
            ConfigValue v = byPath.get(path);
            return v == null ? otherwise : v.intIn(min, max);
        }

        long bytes(String path, long otherwise, long min, long max) {
            ConfigValue v = byPath.get(path);
            return v == null ? otherwise : v.bytes(min, max);
        }

        Duration seconds(String path, int otherwise, int min, int max) {
            ConfigValue v = byPath.get(path);
            return Duration.ofSeconds(v == null ? otherwise : v.intIn(min, max));
        }
    }

    private static ServeConfig build(Values v) {
        ServeConfig.Edge edge = edge(v);
        DatabaseUrl database = edge != null && v.get("db.url") == null && v.get("db.host") == null ? null : database(v);
        JsonNode sinkTree = sinkTree(v.get("sinks"));
        List<SinkConfig> sinks = sinkTree == null ? List.of() : SinkConfig.parseAll(sinkTree, "in " + v.get("sinks").name());
        ServeConfig.Replication replication = replication(v, sinks);
        ServeConfig.Server server = new ServeConfig.Server(v.text("server.bind", "0.0.0.0"),
                v.intIn("server.port", 4000, 0, 65535), v.seconds("sse.keepalive_seconds", 15, 1, 3600),
                v.bool("metrics.public", false), logFormat(v), logLevel(v));
        ServeConfig.Limits limits = new ServeConfig.Limits(
                v.bytes("limits.send_queue_bytes", 4 << 20, 1024, Integer.MAX_VALUE),
                v.intIn("limits.send_queue_messages", 10_000, 1, Integer.MAX_VALUE),
                (int) v.bytes("limits.max_frame_bytes", 1 << 20, 256, 64 << 20), clientLimits(v));
        SourceConfig.Snapshot backfill = new SourceConfig.Snapshot(v.intIn("backfill.chunk_rows", 4096, 1, 1_000_000),
                v.intIn("backfill.rows_per_second", 0, 0, Integer.MAX_VALUE),
                sinkTree == null ? List.of() : SinkConfig.initialBackfills(sinkTree));
        return new ServeConfig(database, replication, server, auth(v), limits, sinks, backfill, ha(v, replication), changeLog(v), edge,
                relay(v));
    }

    /** The Broadcast/Presence relay, or null: they stay on this node. */
    private static RelayedRooms.Address relay(Values v) {
        ConfigValue relay = v.get("broadcast.relay");
        if (relay == null) {
            return null;
        }
        try {
            return RelayedRooms.Address.parse(relay.text());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(relay.name() + ": " + e.getMessage(), e);
        }
    }

    /** An edge node's source, or null: this process reads PostgreSQL. */
    private static ServeConfig.Edge edge(Values v) {
        ConfigValue from = v.get("edge.from");
        if (from == null) {
            if (v.get("edge.window") != null) {
                throw new IllegalArgumentException(v.get("edge.window").name() + " is set but edge.from is not: "
                        + "set edge.from (--from, TIDINGS_EDGE_FROM) to run an edge node");
            }
            return null;
        }
        for (String leaderOnly : List.of("sinks", "ha.enabled", "log.dir")) {
            if (v.get(leaderOnly) != null) {
                throw new IllegalArgumentException(v.get(leaderOnly).name() + " is set on an edge node (" + from.name()
                        + "): an edge reads the broker and serves clients only; set it on the leader, which reads PostgreSQL");
            }
        }
        ConfigValue rls = v.get("auth.rls");
        if (rls != null && rls.text().equalsIgnoreCase("true")) {
            throw new IllegalArgumentException(rls.name() + " is set on an edge node (" + from.name() + "): RLS checks query "
                    + "PostgreSQL, which an edge does not connect to; serve RLS clients from the leader (or a standby), "
                    + "or use the YAML row policies of auth on edges");
        }
        EdgeSource source;
        try {
            source = EdgeSource.parse(from.text());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(from.name() + ": " + e.getMessage(), e);
        }
        return new ServeConfig.Edge(source, v.intIn("edge.window", 20_000, 1, 10_000_000));
    }

    /** The retained change log, or null without {@code log.dir}. */
    private static ServeConfig.ChangeLogSettings changeLog(Values v) {
        ConfigValue dir = v.get("log.dir");
        if (dir == null) {
            for (String path : List.of("log.retention", "log.max_bytes")) {
                if (v.get(path) != null) {
                    throw new IllegalArgumentException(v.get(path).name() + " is set but log.dir is not: "
                            + "set log.dir (--log-dir, TIDINGS_LOG_DIR) to a directory to keep a change log");
                }
            }
            return null;
        }
        ConfigValue retention = v.get("log.retention");
        Duration age = retention == null ? Duration.ofHours(24) : retention.duration(ChronoUnit.SECONDS);
        if (age.isNegative() || age.isZero()) {
            throw retention.expected("a positive duration, e.g. 24h");
        }
        return new ServeConfig.ChangeLogSettings(Path.of(dir.text()), age, v.bytes("log.max_bytes", 1L << 30, 1L << 20, Long.MAX_VALUE));
    }

    /** The Realtime client limits: Supabase's defaults, each 0 (off) or more. */
    private static ClientLimits clientLimits(Values v) {
        ClientLimits d = ClientLimits.SUPABASE;
        return new ClientLimits(v.intIn("limits.channels_per_client", d.channelsPerClient(), 0, Integer.MAX_VALUE),
                v.intIn("limits.joins_per_second", d.joinsPerSecond(), 0, Integer.MAX_VALUE),
                v.intIn("limits.events_per_second", d.eventsPerSecond(), 0, Integer.MAX_VALUE),
                v.intIn("limits.bytes_per_second", d.bytesPerSecond(), 0, Integer.MAX_VALUE),
                v.intIn("limits.client_presence_max_calls", d.presenceEventsPerWindow(), 0, Integer.MAX_VALUE),
                v.intIn("limits.client_presence_window_ms", d.presenceWindowMillis(), 1, Integer.MAX_VALUE),
                v.intIn("limits.presence_events_per_second", d.serverPresenceEventsPerSecond(), 0, Integer.MAX_VALUE),
                v.intIn("limits.payload_kb", d.payloadBytes() / 1000, 0, 2_000_000) * 1000,
                v.intIn("limits.server_joins_per_second", d.serverJoinsPerSecond(), 0, Integer.MAX_VALUE),
                v.intIn("limits.server_events_per_second", d.serverEventsPerSecond(), 0, Integer.MAX_VALUE));
    }

    private static ServeConfig.Replication replication(Values v, List<SinkConfig> sinks) {
        ConfigValue slotValue = v.get("replication.slot");
        String slot = slotValue == null ? null : slotValue.text();
        ConfigValue temporaryValue = v.get("replication.temporary");
        boolean temporary = temporaryValue != null ? temporaryValue.bool() : slot == null && sinks.isEmpty();
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
            throw new IllegalArgumentException("slot name '" + slot + "' (" + slotValue.name() + ") may only have "
                    + "lower-case letters, digits and underscores, at most 63");
        }
        List<TableName> tables = new ArrayList<>();
        ConfigValue t = v.get("replication.tables");
        for (String name : t == null ? List.<String>of() : t.list()) {
            tables.add(Identifiers.parseTable(name));
        }
        ConfigValue lag = v.get("replication.max_lag_mb");
        Integer maxLag = lag == null ? null : lag.intIn(1, Integer.MAX_VALUE);
        boolean pause = v.bool("replication.pause_on_max_lag", false);
        if (pause && maxLag == null) {
            throw new IllegalArgumentException("replication.pause_on_max_lag needs MAX_REPLICATION_LAG_MB (replication.max_lag_mb)");
        }
        ConfigValue origins = v.get("replication.skip_origins");
        Set<String> skipOrigins = new LinkedHashSet<>(origins == null ? List.<String>of() : origins.list());
        return new ServeConfig.Replication(slot, temporary, publication(v.get("replication.publication")), tables, maxLag,
                pause, v.seconds("replication.lag_check_seconds", 5, 1, 3600), skipOrigins, v.bool("replication.failover", false));
    }

    private static ServeConfig.Ha ha(Values v, ServeConfig.Replication replication) {
        boolean enabled = v.bool("ha.enabled", false);
        if (enabled && replication.temporary()) {
            throw new IllegalArgumentException(v.get("ha.enabled").name() + " needs a persistent replication slot that "
                    + "every process shares, and a temporary one is configured: set SLOT_NAME (replication.slot) to the "
                    + "same name on every process, and TEMPORARY_SLOT=false");
        }
        return new ServeConfig.Ha(enabled, v.seconds("ha.lease_seconds", 6, 3, 600));
    }

    private static ServeConfig.Auth auth(Values v) {
        TokenRules tokens = tokenRules(v);
        boolean secure = v.bool("auth.secure_channels", tokens.hasKey());
        if (secure && !tokens.hasKey()) {
            throw new IllegalArgumentException("SECURE_CHANNELS is true but no key is configured: set API_JWT_SECRET "
                    + "(HS256/384/512), API_JWT_JWKS (a JWK set as JSON) or JWKS_URL, or SECURE_CHANNELS=false");
        }
        Map<String, List<String>> roles = new LinkedHashMap<>();
        ConfigValue r = v.get("auth.roles");
        if (r != null) {
            if (!r.node().isObject()) {
                throw r.expected("a map of role → [schema.table | schema.* | *]");
            }
            r.node().properties().forEach(e -> roles.put(e.getKey(), new ConfigValue(r.name() + "." + e.getKey(), e.getValue()).list()));
        }
        Map<String, String> rows = new LinkedHashMap<>();
        ConfigValue p = v.get("auth.rows");
        if (p != null) {
            if (!p.node().isObject()) {
                throw p.expected("a map of schema.table → filter");
            }
            p.node().properties().forEach(e -> {
                Identifiers.parseTable(e.getKey());
                rows.put(e.getKey(), new ConfigValue(p.name() + "." + e.getKey(), e.getValue()).text());
            });
        }
        new AccessPolicy(roles, rows); // fails on a bad row policy
        return new ServeConfig.Auth(secure, tokens, roles, rows, v.bool("auth.rls", false));
    }

    /** The keys and claim rules of token checks; every key is read and checked here, at start. */
    private static TokenRules tokenRules(Values v) {
        if (v.get("auth.jwt_secret") == null && v.get("auth.jwt_secret_next") != null) {
            throw new IllegalArgumentException(v.get("auth.jwt_secret_next").name() + " is the next secret of a rotation; "
                    + "set API_JWT_SECRET too");
        }
        List<String> secrets = new ArrayList<>();
        for (String path : List.of("auth.jwt_secret", "auth.jwt_secret_next")) {
            ConfigValue secret = v.get(path);
            if (secret == null) {
                continue;
            }
            if (secret.text().getBytes(StandardCharsets.UTF_8).length < 32) {
                throw new IllegalArgumentException(secret.name() + " is shorter than 32 bytes, too short for HS256; "
                        + "use a random string of 32 or more characters, as Supabase does");
            }
            secrets.add(secret.text());
        }
        ConfigValue urlValue = v.get("auth.jwks_url");
        URL jwksUrl = null;
        if (urlValue != null) {
            try {
                URI uri = new URI(urlValue.text().strip());
                if (!"https".equals(uri.getScheme()) && !"http".equals(uri.getScheme())) {
                    throw new URISyntaxException(urlValue.text(), "not http or https");
                }
                jwksUrl = uri.toURL();
            } catch (URISyntaxException | MalformedURLException | IllegalArgumentException e) {
                throw urlValue.expected("an http(s) URL of a JWK set, e.g. https://project.supabase.co/auth/v1/.well-known/jwks.json");
            }
        }
        ConfigValue validators = v.get("auth.claim_validators");
        Map<String, Object> claims = validators == null ? Map.of() : claimValidators(validators);
        return new TokenRules(secrets, jwks(v.get("auth.jwks")), jwksUrl, claims, v.bool("auth.require_exp", true),
                v.bool("auth.require_role", true));
    }

    /** An inline JWK set ({@code API_JWT_JWKS}): signature keys Tidings can check tokens with, and nothing else. */
    private static JWKSet jwks(ConfigValue value) {
        if (value == null) {
            return null;
        }
        JWKSet set;
        try {
            set = JWKSet.parse(jsonObject(value, "a JWK set as JSON, {\"keys\": [...]}"));
        } catch (ParseException e) {
            throw new IllegalArgumentException(value.name() + " is not a JWK set (" + e.getMessage()
                    + "); give it as JSON: {\"keys\": [{\"kty\": \"RSA\", \"kid\": …, \"n\": …, \"e\": …}]}");
        }
        if (set.getKeys().isEmpty()) {
            throw new IllegalArgumentException(value.name() + " has no keys: give {\"keys\": [...]} with at least one key");
        }
        for (JWK key : set.getKeys()) {
            String name = key.getKeyID() == null ? "a key without kid" : "key '" + key.getKeyID() + "'";
            boolean usable = key.getKeyType().equals(KeyType.RSA) || key.getKeyType().equals(KeyType.EC)
                    || key.getKeyType().equals(KeyType.OCT)
                    || key instanceof OctetKeyPair okp && okp.getCurve().equals(Curve.Ed25519);
            if (!usable) {
                throw new IllegalArgumentException(value.name() + ": " + name + " is a " + key.getKeyType()
                        + (key instanceof OctetKeyPair okp ? " " + okp.getCurve() : "") + " key, which cannot check "
                        + "token signatures here; use oct (HS256/384/512), RSA (RS256), EC (ES256) or OKP Ed25519 (EdDSA) keys");
            }
            if (key.getKeyType().equals(KeyType.OCT) && key.getKeyID() == null) {
                throw new IllegalArgumentException(value.name() + ": an oct key needs a kid (tokens choose it by kid; "
                        + "for one shared secret set API_JWT_SECRET instead)");
            }
        }
        return set;
    }

    /** {@code JWT_CLAIM_VALIDATORS}: a JSON map of claim → required value, read as Nimbus reads claims. */
    private static Map<String, Object> claimValidators(ConfigValue value) {
        try {
            return JSONObjectUtils.parse(jsonObject(value, "a JSON map of claim → required value, e.g. {\"iss\": \"supabase\"}"));
        } catch (ParseException e) {
            throw value.expected("a JSON map of claim → required value, e.g. {\"iss\": \"supabase\"}");
        }
    }

    /** A JSON object given as JSON text (the environment) or as a YAML map; errors do not repeat the value. */
    private static String jsonObject(ConfigValue value, String expected) {
        JsonNode node = value.node();
        if (node.isTextual()) {
            try {
                node = JSON.readTree(node.asText());
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException(value.name() + " must be " + expected + "; it is not valid JSON ("
                        + e.getOriginalMessage() + ")");
            }
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(value.name() + " must be " + expected);
        }
        return node.toString();
    }

    /** Realtime's (Erlang's) level names, mapped to logback's. */
    private static String logLevel(Values v) {
        ConfigValue l = v.get("log.level");
        if (l == null) {
            return "INFO";
        }
        return switch (l.text().strip().toLowerCase(Locale.ROOT)) {
            case "debug" -> "DEBUG";
            case "info", "notice" -> "INFO";
            case "warning", "warn" -> "WARN";
            case "error", "critical", "alert", "emergency" -> "ERROR";
            default -> throw l.expected("debug, info, notice, warning, error, critical, alert or emergency");
        };
    }

    private static String logFormat(Values v) {
        ConfigValue f = v.get("log.format");
        String format = f == null ? "plain" : f.text().strip().toLowerCase(Locale.ROOT);
        if (!format.equals("plain") && !format.equals("json")) {
            throw f.expected("plain or json");
        }
        return format;
    }

    /** The sink list as a tree (the environment gives it as JSON text); null when there is none. */
    private static JsonNode sinkTree(ConfigValue value) {
        if (value == null) {
            return null;
        }
        JsonNode list = value.node();
        if (list.isTextual()) {
            if (list.asText().isBlank()) {
                return null;
            }
            try {
                list = JSON.readTree(list.asText());
            } catch (IOException e) {
                throw new IllegalArgumentException(value.name() + " is not a JSON list of sinks: " + e.getMessage());
            }
        }
        return list;
    }

    private static DatabaseUrl database(Values v) {
        ConfigValue url = v.get("db.url");
        if (url != null) {
            return DatabaseUrl.parse(url.text());
        }
        ConfigValue host = v.get("db.host");
        if (host == null) {
            throw new IllegalArgumentException("no database given: pass --db postgresql://user:password@host:5432/db, "
                    + "set DATABASE_URL, or set DB_HOST (with DB_PORT, DB_NAME, DB_USER, DB_PASSWORD) as for the Realtime image");
        }
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", v.text("db.user", "postgres"));
        String password = v.text("db.password", null);
        if (password != null) {
            params.put("password", password);
        }
        if (v.bool("db.ssl", false)) {
            params.put("sslmode", "require");
        }
        return new DatabaseUrl(host.text(), v.intIn("db.port", 5432, 1, 65535), v.text("db.name", "postgres"), params);
    }

    /** A publication name, or a JSON/YAML list of exactly one (the Realtime image's {@code PUBLICATIONS}). */
    private static String publication(ConfigValue value) {
        if (value == null) {
            return "supabase_realtime";
        }
        JsonNode list = value.node();
        if (list.isTextual() && list.asText().strip().startsWith("[")) {
            try {
                list = JSON.readTree(list.asText().strip());
            } catch (IOException e) {
                throw value.expected("a publication name or a JSON list of one");
            }
        }
        String name;
        if (list.isArray()) {
            if (list.size() != 1 || !list.get(0).isTextual()) {
                throw new IllegalArgumentException(value.name() + " must name exactly one publication, e.g. "
                        + "[\"supabase_realtime\"] (Tidings streams one publication; make one that covers every table you need)");
            }
            name = list.get(0).asText().strip();
        } else {
            name = value.text().strip();
        }
        if (name.isEmpty()) {
            throw value.expected("a publication name");
        }
        return name;
    }

    private static ConfigValue fromEnv(String var, String path, String text) {
        return ConfigValue.text(var + " (" + path + ")", text);
    }

    private static Setting setting(String path) {
        for (Setting s : SETTINGS) {
            if (s.path().equals(path)) {
                return s;
            }
        }
        return null;
    }

    private static String knownEnv() {
        return String.join(" ", SETTINGS.stream().flatMap(s -> s.env().stream()).toList());
    }

    /** Puts each setting of the YAML file into {@code values}, as the node it is. */
    private static void readYaml(Path file, Map<String, ConfigValue> values) {
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
                values.put("sinks", new ConfigValue("sinks in " + file, section.getValue()));
                return;
            }
            if (!section.getValue().isObject()) {
                throw unknown(file, section.getKey());
            }
            section.getValue().properties().forEach(e -> {
                String path = section.getKey() + "." + e.getKey();
                if (setting(path) == null) {
                    throw unknown(file, path);
                }
                if (!e.getValue().isNull()) {
                    values.put(path, new ConfigValue(path + " in " + file, e.getValue()));
                }
            });
        });
    }

    private static IllegalArgumentException unknown(Path file, String path) {
        return new IllegalArgumentException("unknown setting '" + path + "' in " + file + "; known: "
                + String.join(", ", SETTINGS.stream().map(Setting::path).toList()));
    }
}
