package dev.tidings.server.config;

import dev.tidings.base.TableName;
import dev.tidings.server.broadcast.Limits;
import dev.tidings.server.sinks.SinkConfig;
import dev.tidings.source.DatabaseUrl;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Everything {@code tidings serve} needs, validated. Built by {@link ServeConfigLoader} from
 * flags, environment variables (including those of the Supabase Realtime image) and a YAML file.
 *
 * @param database         where to stream from
 * @param bind             the address to listen on
 * @param port             the HTTP port (0: any free port)
 * @param slot             the replication slot
 * @param temporarySlot    whether the slot lives only as long as the connection
 * @param publication      the publication (created when missing)
 * @param tables           tables for a publication created here; empty: all tables
 * @param secureChannels   whether clients must present a valid JWT
 * @param jwtSecret        HMAC secret for HS256/384/512 tokens, or null
 * @param jwksUrl          where RS256/ES256 public keys are published, or null
 * @param roles            JWT role → table patterns it may subscribe to; empty: all tables open
 * @param rowPolicies      {@code schema.table} → filter template bound to claims, e.g. {@code user_id=eq.{sub}}
 * @param sendQueueBytes   the most bytes waiting for one slow connection before it is dropped
 * @param sendQueueFrames  the most messages waiting for one slow connection before it is dropped
 * @param maxFrameBytes    the largest frame a client may send
 * @param maxReplicationLagMb the Realtime image's MAX_REPLICATION_LAG_MB, or null: a warning when exceeded
 * @param pauseOnMaxLag  whether live clients are paused while the lag exceeds {@code maxReplicationLagMb}
 * @param lagCheck       how often the slot's lag is asked from PostgreSQL
 * @param sseKeepAlive   how often an idle SSE stream gets a comment line
 * @param sinks          durable sinks; empty: live clients only
 * @param metricsPublic  whether /metrics and /api/status are open to anyone even with secure channels
 * @param logFormat      {@code plain} or {@code json}
 * @param limits         the limits of Realtime clients (channels, joins, broadcasts, presence, payloads)
 */
public record ServeConfig(DatabaseUrl database, String bind, int port, String slot, boolean temporarySlot,
                          String publication, List<TableName> tables, boolean secureChannels, String jwtSecret,
                          String jwksUrl, Map<String, List<String>> roles, Map<String, String> rowPolicies,
                          long sendQueueBytes, int sendQueueFrames, int maxFrameBytes, Integer maxReplicationLagMb,
                          boolean pauseOnMaxLag, Duration lagCheck, Duration sseKeepAlive, List<SinkConfig> sinks,
                          boolean metricsPublic, String logFormat, Limits limits) {

    public ServeConfig {
        tables = List.copyOf(tables);
        roles = Map.copyOf(roles);
        rowPolicies = Map.copyOf(rowPolicies);
        sinks = List.copyOf(sinks);
    }
}
