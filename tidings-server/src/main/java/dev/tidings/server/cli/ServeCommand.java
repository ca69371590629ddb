package dev.tidings.server.cli;

import dev.tidings.server.config.RealtimeEnvironment;
import dev.tidings.server.config.ServeConfig;
import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.server.http.EdgeServer;
import dev.tidings.server.http.TidingsServer;
import dev.tidings.sink.SinkFailedException;
import dev.tidings.source.LeadershipLostException;
import dev.tidings.source.SourceException;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code tidings serve}: the Supabase Realtime–compatible WebSocket server, Server-Sent Events,
 * durable sinks, health, status and metrics, on one port. Settings come from flags, environment
 * variables (those of the Realtime image too) and a YAML file; see {@link ServeConfigLoader}.
 *
 * <p>SIGTERM and SIGINT shut down gracefully ({@link TidingsServer#close()}): stop reading,
 * drain to the durable sinks, confirm, close the connections; then exit 0. The JVM's default for
 * SIGTERM is exit code 143 after the shutdown hooks, which process supervisors read as a failure,
 * hence a signal handler ({@code sun.misc.Signal}, in the JDK's {@code jdk.unsupported} module).
 * Exit 2 when the stream stops for a reason the user must fix (a sink gave up, the slot is gone);
 * exit 3 when a leader lost its leadership (with {@code ha.enabled}): restarted, it stands by.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve changes over Realtime WebSockets (/socket/websocket, /realtime/v1/websocket) and SSE (/events).",
                "Environment: DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD DB_SSL PORT SLOT_NAME TEMPORARY_SLOT PUBLICATIONS "
                        + "SECURE_CHANNELS API_JWT_SECRET API_JWT_JWKS JWT_CLAIM_VALIDATORS JWKS_URL MAX_REPLICATION_LAG_MB "
                        + "LOG_FORMAT DATABASE_URL TIDINGS_SINKS",
                "Endpoints: /health /ready /api/status /metrics; durable sinks: the sinks: list of the YAML file"})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML settings file")
    Path config;

    @Mixin
    DatabaseOption database;

    @Mixin
    PortOption port;

    @Option(names = "--bind", paramLabel = "ADDRESS", description = "Listen address (default 0.0.0.0)")
    String bind;

    @Mixin
    SlotOptions slot;

    @Mixin
    TableOptions tables;

    @Option(names = "--secure-channels", arity = "0..1", fallbackValue = "true", description = "Require JWTs: true/false")
    String secure;

    @Option(names = "--jwt-secret", paramLabel = "SECRET", description = "HS256/384/512 secret")
    String jwtSecret;

    @Option(names = "--jwks-url", paramLabel = "URL", description = "JWK set URL for RS/PS/ES/EdDSA tokens")
    String jwksUrl;

    @Option(names = "--ha", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            description = "Share the slot with other serve processes: one leads, the others stand by and take over")
    String ha;

    @Option(names = "--log-format", paramLabel = "plain|json", description = "Log lines as plain text (default) or JSON")
    String logFormat;

    @Option(names = "--from", paramLabel = "URL",
            description = "Run as an edge node: read nats://host[:port][,host…]/STREAM or kafka://host:port[,host…]/TOPIC "
                    + "(the leader's NATS or Kafka sink), not PostgreSQL")
    String from;

    @Option(names = "--log-dir", paramLabel = "DIR", description = "Keep a retained change log here, so live clients can resume")
    String logDir;

    /** Starts the server; a port taken between the preflight check and the bind is reported the same way. */
    static TidingsServer start(ServeConfig settings) throws Exception {
        try {
            return TidingsServer.start(settings);
        } catch (IOException e) {
            if (Preflight.isBindFailure(e)) {
                throw Preflight.portInUse(settings.server().bind(), settings.server().port());
            }
            throw e;
        }
    }

    /** An edge node (see {@link EdgeServer}): no database, no preflight of it; runs until stopped. */
    private static Integer edge(ServeConfig settings) throws Exception {
        Preflight.port(settings.server().bind(), settings.server().port());
        EdgeServer server = EdgeServer.start(settings);
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "tidings-serve-shutdown"));
        for (String signal : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(signal),
                    s -> Thread.ofPlatform().name("tidings-serve-stop").start(server::close));
        }
        server.await();
        return 0;
    }

    @Override
    public Integer call() throws Exception {
        Map<String, String> flags = new LinkedHashMap<>();
        flags.put("db.url", database.url);
        flags.put("server.port", port.port == null ? null : port.port.toString());
        flags.put("server.bind", bind);
        flags.put("replication.slot", slot.slot);
        flags.put("replication.temporary", tables.temporary == null ? null : tables.temporary.toString());
        flags.put("replication.publication", slot.publication);
        flags.put("replication.tables", tables.tables.isEmpty() ? null : String.join(",", tables.tables));
        flags.put("auth.secure_channels", secure);
        flags.put("auth.jwt_secret", jwtSecret);
        flags.put("auth.jwks_url", jwksUrl);
        flags.put("log.format", logFormat);
        flags.put("ha.enabled", ha);
        flags.put("log.dir", logDir);
        flags.put("edge.from", from);
        ServeConfig settings = ServeConfigLoader.load(flags, System.getenv(), config);
        LogFormat.use(settings.server().logFormat(), settings.server().logLevel());
        List<String> unused = RealtimeEnvironment.notApplicable(System.getenv());
        if (!unused.isEmpty()) {
            LoggerFactory.getLogger(ServeCommand.class).info("Supabase Realtime settings with no meaning for Tidings, "
                    + "not used: {}", String.join(" ", unused));
        }
        if (settings.edge() != null) {
            return edge(settings);
        }
        Preflight.database(settings.db());
        Preflight.port(settings.server().bind(), settings.server().port());
        TidingsServer server = start(settings);
        Thread hook = new Thread(server::close, "tidings-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        for (String signal : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(signal),
                    s -> Thread.ofPlatform().name("tidings-serve-stop").start(server::close));
        }
        try {
            server.await();
            return 0;
        } catch (LeadershipLostException e) {
            LoggerFactory.getLogger(ServeCommand.class).error("stopped: {}", e.getMessage());
            return 3;
        } catch (SinkFailedException | SourceException e) {
            LoggerFactory.getLogger(ServeCommand.class).error("stopped: {}", e.getMessage());
            return 2;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
                server.close();
            } catch (IllegalStateException shuttingDown) {
                // the hook closes the server
            }
        }
    }
}
