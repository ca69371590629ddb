package dev.tidings.server.http;

import dev.tidings.Tidings;
import dev.tidings.server.config.ServeConfig;
import dev.tidings.server.live.LiveCounters;
import dev.tidings.server.live.LiveFanOut;
import dev.tidings.server.metrics.ServeMetrics;
import dev.tidings.server.stream.SlotLag;
import dev.tidings.server.stream.StreamStats;
import dev.tidings.sink.SinkMetrics;
import dev.tidings.source.Leadership;

import java.util.List;
import java.util.function.IntSupplier;

/**
 * What the operations endpoints report on, for one running {@code tidings serve}: made by
 * {@link TidingsServer#start} once the stream is started, before the HTTP port opens. Every part
 * is thread-safe.
 *
 * @param leadership       with {@code ha.enabled}: whether this process leads its slot; else null
 * @param sinkMetrics      per durable sink, in configuration order; empty without sinks
 * @param websocketClients open Realtime WebSocket connections
 * @param startedMillis    when the server started (epoch millis)
 */
record ServeState(ServeConfig config, Tidings tidings, Leadership leadership, StreamStats stats, SlotLag lag, LiveFanOut fanOut,
                  LiveCounters counters, ServeMetrics metrics, List<SinkMetrics> sinkMetrics,
                  IntSupplier websocketClients, long startedMillis) {

    boolean streaming() {
        return tidings.streaming();
    }

    /** {@code leader}, {@code standby} or {@code lost}; a process without {@code ha.enabled} leads alone. */
    String role() {
        return leadership == null ? "leader" : leadership.role().name().toLowerCase(java.util.Locale.ROOT);
    }

    long uptimeMillis() {
        return System.currentTimeMillis() - startedMillis;
    }
}
