package dev.tidings.server.config;

import dev.tidings.base.TableName;
import dev.tidings.server.auth.TokenRules;
import dev.tidings.server.broadcast.ClientLimits;
import dev.tidings.server.broadcast.RelayedRooms;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.source.SourceConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything {@code tidings serve} needs, typed and validated, one record per section of the YAML
 * file. Built by {@link ServeConfigLoader} from flags, environment variables (including those of
 * the Supabase Realtime image) and a YAML file; immutable.
 *
 * @param db          where to stream from ({@code db.*})
 * @param replication slot, publication and lag ({@code replication.*})
 * @param server      the HTTP side ({@code server.*}, {@code sse.*}, {@code metrics.*}, {@code log.format})
 * @param auth        tokens, roles and row policies ({@code auth.*})
 * @param limits      what one live client may cost ({@code limits.*})
 * @param sinks       durable sinks; empty: live clients only ({@code sinks})
 * @param backfill    chunk size, rate, and the sinks with {@code backfill: initial} ({@code backfill.*})
 * @param ha          several processes for one slot: one leads, the others stand by ({@code ha.*})
 * @param changeLog   the retained change log ({@code log.dir}, {@code log.retention}, {@code log.max_bytes}),
 *                    or null: no log, live clients cannot resume
 * @param edge        an edge node's broker ({@code edge.*}), or null: this process reads PostgreSQL
 * @param relay       where Broadcast and Presence are shared with the other nodes ({@code broadcast.relay}), or null
 *                    ({@code db} is then null unless given, and unused)
 */
public record ServeConfig(DatabaseUrl db, Replication replication, Server server, Auth auth, Limits limits,
                          List<SinkConfig> sinks, SourceConfig.Snapshot backfill, Ha ha, ChangeLogSettings changeLog, Edge edge,
                          RelayedRooms.Address relay) {

    /**
     * @param enabled whether this process competes for the slot's leadership (reads only while it leads)
     * @param lease   how long a silent leader is trusted: a standby replaces it after this
     */
    public record Ha(boolean enabled, Duration lease) {
        public static final Ha OFF = new Ha(false, Duration.ofSeconds(6));
    }

    public ServeConfig {
        sinks = List.copyOf(sinks);
    }

    /**
     * @param slot          the replication slot
     * @param temporary     whether the slot lives only as long as the connection
     * @param publication   the publication (created when missing)
     * @param tables        tables for a publication created here; empty: all tables
     * @param maxLagMb      the Realtime image's MAX_REPLICATION_LAG_MB, or null: a warning when exceeded
     * @param pauseOnMaxLag whether live clients are paused while the lag exceeds {@code maxLagMb}
     * @param lagCheck      how often the slot's lag is asked from PostgreSQL
     * @param skipOrigins   replication origins whose changes are not streamed ({@code *}: any)
     * @param failover      create a missing slot as a failover slot (PostgreSQL 17+)
     */
    public record Replication(String slot, boolean temporary, String publication, List<TableName> tables, Integer maxLagMb,
                              boolean pauseOnMaxLag, Duration lagCheck, Set<String> skipOrigins, boolean failover) {
        public Replication {
            tables = List.copyOf(tables);
            skipOrigins = Set.copyOf(skipOrigins);
        }
    }

    /**
     * @param bind          the address to listen on
     * @param port          the HTTP port (0: any free port)
     * @param sseKeepAlive  how often an idle SSE stream gets a comment line
     * @param metricsPublic whether /metrics and /api/status are open to anyone even with secure channels
     * @param logFormat     {@code plain} or {@code json}
     * @param logLevel      the lowest level logged: {@code DEBUG}, {@code INFO}, {@code WARN} or {@code ERROR}
     */
    public record Server(String bind, int port, Duration sseKeepAlive, boolean metricsPublic, String logFormat,
                         String logLevel) {}

    /**
     * @param secureChannels whether clients must present a valid JWT
     * @param tokens         the keys tokens may be signed with and the claims they must carry
     * @param roles          JWT role → table patterns it may subscribe to; empty: all tables open
     * @param rows           {@code schema.table} → filter template bound to claims, e.g. {@code user_id=eq.{sub}}
     * @param rls            RLS mode: a change reaches a subscriber only when its role and claims may SELECT the row
     */
    public record Auth(boolean secureChannels, TokenRules tokens, Map<String, List<String>> roles,
                       Map<String, String> rows, boolean rls) {
        public Auth {
            roles = Map.copyOf(roles);
            rows = Map.copyOf(rows);
        }
    }

    /**
     * @param sendQueueBytes    the most bytes waiting for one slow connection before it is dropped
     * @param sendQueueMessages the most messages waiting for one slow connection before it is dropped
     * @param maxFrameBytes     the largest frame a client may send
     * @param clients           channels, joins, broadcasts, presence and payloads of one Realtime client
     */
    public record Limits(long sendQueueBytes, int sendQueueMessages, int maxFrameBytes, ClientLimits clients) {}

    /**
     * @param dir       the directory of the log's file
     * @param retention events older than this are removed
     * @param maxBytes  the most bytes of events kept; the oldest go first
     */
    /**
     * @param from   the broker and the stream or topic the leader's sink publishes to
     * @param window the newest events kept in memory for resumes
     */
    public record Edge(EdgeSource from, int window) {}

    public record ChangeLogSettings(Path dir, Duration retention, long maxBytes) {}
}
