package dev.tidings.server.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.base.TableName;
import dev.tidings.server.config.SinkConfig;
import dev.tidings.server.stream.SlotLag;
import dev.tidings.sink.SinkMetrics;
import dev.tidings.source.Leadership;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The answers of {@code /api/status} (the web console's one source) and {@code /ready}.
 *
 * <p>A sink's state: {@code ok}; {@code retrying} from its first failed attempt until a batch is
 * delivered again; {@code failing} once it has retried for {@value #FAILING_AFTER_MS} ms without
 * success, or gave up (which stops the stream). Ready means: this process leads its slot (always,
 * without {@code ha.enabled}), the replication stream is open and no sink is failing. {@code role}
 * is {@code leader}, {@code standby} or {@code lost}; a standby also reports the session that leads.
 */
final class StatusReport {
    static final long FAILING_AFTER_MS = 30_000;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] STATES = {"ok", "retrying", "failing"};

    private StatusReport() {}

    /** 0 ok, 1 retrying, 2 failing. */
    static int level(SinkMetrics m) {
        return switch (m.state()) {
            case OK -> 0;
            case STOPPED -> 2;
            case RETRYING -> System.currentTimeMillis() - m.retryingSinceMillis() >= FAILING_AFTER_MS ? 2 : 1;
        };
    }

    static byte[] status(ServeState s) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("version", TidingsServer.VERSION);
        out.put("uptime_seconds", Math.round(s.uptimeMillis() / 100.0) / 10.0);
        out.put("role", s.role());
        Leadership.Holder holder = s.leadership() == null ? null : s.leadership().leader();
        if (holder != null) {
            Map<String, Object> leader = new LinkedHashMap<>();
            leader.put("backend_pid", holder.pid());
            leader.put("client_address", holder.clientAddress());
            leader.put("silent_seconds", holder.silentSeconds() < 0 ? null : Math.round(holder.silentSeconds() * 10) / 10.0);
            out.put("leader", leader);
        }
        long lagBytes = s.lag().lagBytes();
        Map<String, Object> slot = new LinkedHashMap<>();
        slot.put("name", s.config().replication().slot());
        slot.put("temporary", s.config().replication().temporary());
        slot.put("streaming", s.streaming());
        slot.put("confirmed_lsn", s.tidings().confirmed().toString());
        slot.put("lag_bytes", lagBytes < 0 ? null : lagBytes);
        slot.put("lag_seconds", Math.round(s.stats().lagSeconds(lagBytes) * 10) / 10.0);
        out.put("slot", slot);
        SlotLag.CatchUp c = s.lag().catchUp();
        if (c == null) {
            out.put("catch_up", null);
        } else {
            Map<String, Object> catchUp = new LinkedHashMap<>();
            catchUp.put("behind_bytes", c.behindBytes());
            catchUp.put("rate_bytes_per_s", Math.round(c.rateBytesPerSecond() * 10) / 10.0);
            catchUp.put("eta_seconds", c.etaSeconds() == null ? null : Math.round(c.etaSeconds() * 10) / 10.0);
            out.put("catch_up", catchUp);
        }
        Map<String, Object> clients = new LinkedHashMap<>();
        clients.put("websocket", s.websocketClients().getAsInt());
        clients.put("sse", s.counters().sseClients());
        out.put("clients", clients);
        List<Map<String, Object>> tables = new ArrayList<>();
        for (Map.Entry<TableName, Long> e : s.stats().eventsByTable().entrySet()) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("schema", e.getKey().schema());
            t.put("table", e.getKey().table());
            t.put("events", e.getValue());
            tables.add(t);
        }
        out.put("tables", tables);
        try {
            out.put("backfills", BackfillsHandler.progress(s.tidings().backfills()));
        } catch (java.sql.SQLException e) {
            out.put("backfills", null); // the database did not answer; the rest of the status still helps
        }
        List<Map<String, Object>> sinks = new ArrayList<>();
        List<SinkMetrics> metrics = s.sinkMetrics();
        for (int i = 0; i < metrics.size(); i++) {
            SinkMetrics m = metrics.get(i);
            SinkConfig config = s.config().sinks().get(i);
            Map<String, Object> sink = new LinkedHashMap<>();
            sink.put("name", m.sink());
            sink.put("type", config.type());
            sink.put("state", STATES[level(m)]);
            sink.put("delivered", m.delivered());
            sink.put("retried", m.retried());
            sink.put("failed", m.failed());
            sink.put("in_flight", m.inFlight());
            sink.put("last_error", m.lastError());
            sinks.add(sink);
        }
        out.put("sinks", sinks);
        return JSON.writeValueAsBytes(out);
    }

    /** Null when ready, else why not (without details that belong behind a token). */
    static String notReady(ServeState s) {
        String role = s.role();
        if (!role.equals("leader")) {
            return role.equals("standby") ? "standby: another process leads slot " + s.config().replication().slot()
                    : "lost the leadership of slot " + s.config().replication().slot();
        }
        if (!s.streaming()) {
            return s.tidings().failure() != null ? "the replication stream stopped" : "the replication stream is not open";
        }
        List<String> failing = new ArrayList<>();
        for (SinkMetrics m : s.sinkMetrics()) {
            if (level(m) == 2) {
                failing.add(m.sink());
            }
        }
        return failing.isEmpty() ? null : "failing sink" + (failing.size() > 1 ? "s: " : ": ") + String.join(", ", failing);
    }
}
