package dev.tidings.server.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The environment variables the Supabase Realtime server reads (its {@code config/runtime.exs},
 * {@code priv/repo/seeds.exs} and ENVS.md, server 2.129) that Tidings does not map to a setting of
 * its own: each is either refused at start, naming the variable and what to do instead, or
 * accepted because it has no meaning for Tidings. A deployment of the Realtime image therefore
 * never has a setting silently ignored that would change what a client receives or who may
 * connect: that is what fails closed.
 *
 * <p>Accepted without effect ({@link #NOT_APPLICABLE}): what only Realtime's machinery has, none of
 * which Tidings runs — the Erlang cluster and its RPC, the multi-tenant database of tenants (its
 * encryption keys, pools, replicas, regions, janitor, seeding), the admin dashboard, and BEAM
 * tuning. Refused ({@link #REFUSED}): everything else, with the fix.
 *
 * <p>The variables Tidings implements are rows of {@link ServeConfigLoader#SETTINGS}. Stateless.
 */
public final class RealtimeEnvironment {
    private RealtimeEnvironment() {}

    /** Realtime variables with no meaning for one Tidings process serving one database. */
    static final Set<String> NOT_APPLICABLE = Set.of(
            "APP_NAME", "AWS_EXECUTION_ENV", "BROADCAST_POOL_SIZE", "CLUSTER_STRATEGIES", "CONNECT_PARTITION_SLOTS",
            "DASHBOARD_AUTH", "DASHBOARD_USER", "DASHBOARD_PASSWORD", "CF_TEAM_DOMAIN",
            "DB_AFTER_CONNECT_QUERY", "DB_ENC_KEY", "DB_ENC_KEY_GCM", "DB_ENC_WRITE_GCM", "DB_MASTER_REGION",
            "DB_POOL_SIZE", "DB_QUEUE_INTERVAL", "DB_QUEUE_TARGET", "DB_REPLICA_HOST", "DB_REPLICA_POOL_SIZE",
            "DB_HOST_REPLICA_FRA", "DB_HOST_REPLICA_IAD", "DB_HOST_REPLICA_SIN", "DB_HOST_REPLICA_SJC",
            "DISABLE_HEALTHCHECK_LOGGING", "DNS_NODES", "ERL_AFLAGS", "RLIMIT_NOFILE",
            "GEN_RPC_CACERTFILE", "GEN_RPC_CERTFILE", "GEN_RPC_COMPRESS", "GEN_RPC_COMPRESSION_THRESHOLD_IN_BYTES",
            "GEN_RPC_CONNECT_TIMEOUT_IN_MS", "GEN_RPC_IPV6_ONLY", "GEN_RPC_KEYFILE", "GEN_RPC_MAX_BATCH_SIZE",
            "GEN_RPC_SEND_TIMEOUT_IN_MS", "GEN_RPC_SOCKET_BUFFER", "GEN_RPC_SOCKET_IP", "GEN_RPC_SOCKET_RECEIVE_BUFFER",
            "GEN_RPC_SOCKET_SEND_BUFFER", "GEN_RPC_SSL_CLIENT_PORT", "GEN_RPC_SSL_SERVER_PORT", "GEN_RPC_TCP_CLIENT_PORT",
            "GEN_RPC_TCP_SERVER_PORT", "MAX_GEN_RPC_CLIENTS", "MAX_GEN_RPC_CALL_CLIENTS",
            "HTTP_DYNAMIC_BUFFER_MIN", "HTTP_DYNAMIC_BUFFER_MAX", "NUM_ACCEPTORS", "WEBSOCKET_MAX_HEAP_SIZE",
            "JANITOR_CHILDREN_TIMEOUT", "JANITOR_CHUNK_SIZE", "JANITOR_MAX_CHILDREN", "JANITOR_RUN_AFTER_IN_MS",
            "JANITOR_SCHEDULE_RANDOMIZE", "JANITOR_SCHEDULE_TIMER_IN_MS", "RUN_JANITOR",
            "LOG_THROTTLE_JANITOR_INTERVAL_IN_MS", "MEASURE_TRAFFIC_INTERVAL_IN_MS",
            "METRICS_CLEANER_SCHEDULE_TIMER_IN_MS", "METRICS_RPC_TIMEOUT_IN_MS", "MIGRATION_PARTITION_SLOTS",
            "MUSTER_SCOPE_SHARDS", "NODE_BALANCE_UPTIME_THRESHOLD_IN_MS", "POSTGRES_CDC_SCOPE_SHARDS",
            "PRESENCE_BROADCAST_PERIOD_IN_MS", "PRESENCE_PERMDOWN_PERIOD_IN_MS", "PRESENCE_POOL_SIZE", "PROM_POLL_RATE",
            "REBALANCE_CHECK_INTERVAL_IN_MS", "REGION", "REGION_MAPPING", "REQUEST_ID_BAGGAGE_KEY", "RPC_TIMEOUT",
            "SEED_SELF_HOST", "SELF_HOST_TENANT_NAME", "TENANT_CACHE_EXPIRATION_IN_MS", "USERS_SCOPE_SHARDS");

    /** Realtime variables Tidings does not implement, each with what to do instead. */
    static final Map<String, String> REFUSED = refused();

    private static Map<String, String> refused() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("API_TOKEN_BLOCKLIST", "token blocklists are not implemented; rotate the secret instead "
                + "(API_JWT_SECRET_NEXT, then API_JWT_SECRET) and unset API_TOKEN_BLOCKLIST");
        m.put("METRICS_TOKEN_BLOCKLIST", "token blocklists are not implemented; unset METRICS_TOKEN_BLOCKLIST");
        m.put("METRICS_JWT_SECRET", "/metrics takes the clients' tokens (API_JWT_SECRET), or none with "
                + "TIDINGS_METRICS_PUBLIC=true; unset METRICS_JWT_SECRET");
        m.put("CHANNEL_ERROR_BACKOFF_MS", "join errors are answered at once; unset CHANNEL_ERROR_BACKOFF_MS");
        m.put("CONNECT_ERROR_BACKOFF_MS", "connection errors are answered at once; unset CONNECT_ERROR_BACKOFF_MS");
        m.put("DB_SSL_CA_CERT", "give the CA in the database URL instead: "
                + "DATABASE_URL=postgresql://…?sslmode=verify-full&sslrootcert=/path/ca.pem");
        m.put("DB_IP_VERSION", "the database host name is resolved by the JVM; give an IP address in DB_HOST "
                + "to choose IPv4 or IPv6, and unset DB_IP_VERSION");
        m.put("REALTIME_IP_VERSION", "choose the listen address with TIDINGS_BIND (0.0.0.0 or ::) and unset REALTIME_IP_VERSION");
        m.put("SLOT_NAME_SUFFIX", "name the slot with SLOT_NAME instead");
        m.put("MAX_CONNECTIONS", "there is no connection cap; limit connections in front of Tidings and unset MAX_CONNECTIONS");
        m.put("TENANT_MAX_CONCURRENT_USERS", "there is no cap on concurrent users; limit connections in front of "
                + "Tidings and unset TENANT_MAX_CONCURRENT_USERS");
        m.put("MAX_HEADER_LENGTH", "request headers up to 8 KiB are accepted; unset MAX_HEADER_LENGTH");
        m.put("NO_CHANNEL_TIMEOUT_IN_MS", "connections without channels are not closed by a timer; unset NO_CHANNEL_TIMEOUT_IN_MS");
        for (String logs : List.of("LOGS_ENGINE", "LOGFLARE_API_KEY", "LOGFLARE_SOURCE_ID", "LOGFLARE_LOGGER_BACKEND_URL")) {
            m.put(logs, "logs go to stderr (LOG_FORMAT=json for a collector); unset " + logs);
        }
        for (String pusher : List.of("ENABLED", "URL", "USER", "AUTH", "INTERVAL_MS", "TIMEOUT_MS", "COMPRESS", "EXTRA_LABELS")) {
            m.put("METRICS_PUSHER_" + pusher, "metrics are scraped from /metrics, not pushed; unset METRICS_PUSHER_*");
        }
        return Map.copyOf(m);
    }

    /** The Realtime variables of {@code env} that are accepted without effect, sorted, for a line in the log. */
    public static List<String> notApplicable(Map<String, String> env) {
        return env.entrySet().stream().filter(e -> NOT_APPLICABLE.contains(e.getKey()) && !e.getValue().isEmpty())
                .map(Map.Entry::getKey).sorted().toList();
    }

    /**
     * Fails on the Realtime variables of of {@code env} that Tidings does not implement.
     *
     * @throws IllegalArgumentException naming every such variable and what to do instead
     */
    static void check(Map<String, String> env) {
        Set<String> refused = new TreeSet<>();
        env.forEach((var, value) -> {
            if (REFUSED.containsKey(var) && !value.isEmpty()) {
                refused.add(var);
            }
        });
        if (refused.isEmpty()) {
            return;
        }
        List<String> lines = refused.stream().map(var -> var + " is a Supabase Realtime setting that Tidings does not "
                + "implement: " + REFUSED.get(var)).toList();
        throw new IllegalArgumentException(String.join("\n", lines));
    }
}
