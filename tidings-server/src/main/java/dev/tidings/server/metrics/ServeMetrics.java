package dev.tidings.server.metrics;

import dev.tidings.backfill.Backfiller;
import dev.tidings.Tidings;
import dev.tidings.base.TableName;
import dev.tidings.server.consumers.ConsumerGroups;
import dev.tidings.server.consumers.GroupStatus;
import dev.tidings.server.live.LiveCounters;
import dev.tidings.server.log.GroupCommit;
import dev.tidings.server.stream.ServeDelivery;
import dev.tidings.server.stream.SlotLag;
import dev.tidings.server.stream.StreamStats;
import dev.tidings.sink.SinkMetrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;
import java.util.function.ToDoubleFunction;

/**
 * {@code tidings serve}'s metrics, in a Micrometer registry scraped as Prometheus text. Micrometer
 * lives only here, in the server: the core exposes plain counters ({@link Tidings#reconnects()},
 * {@link SinkMetrics}, …) and this class binds them as function counters and gauges, read at
 * scrape time — nothing is counted twice and the hot path does no Micrometer work.
 *
 * <pre>
 * tidings_events_read_total{schema,table}             changes read from the stream
 * tidings_sink_delivered_total{sink,schema,table}     changes a durable sink confirmed
 * tidings_sink_retried_total{sink}  tidings_sink_failed_total{sink}
 * tidings_sink_in_flight{sink}  tidings_sink_queued{sink}
 * tidings_sink_latency_{last,mean,max}_seconds{sink}  commit in PostgreSQL → sink confirmation
 * tidings_sink_state{sink}                            0 ok, 1 retrying, 2 failing
 * tidings_replication_lag_bytes  tidings_replication_lag_seconds  tidings_replication_confirmed_lsn
 * tidings_replication_retained_wal_bytes              WAL kept for the slot (from restart_lsn)
 * tidings_replication_streaming  tidings_replication_reconnects_total  tidings_decode_errors_total
 * tidings_live_paused  tidings_websocket_clients  tidings_websocket_messages_sent_total
 * tidings_sse_clients  tidings_sse_messages_sent_total
 * tidings_backfill_rows{backfill,schema,table}       rows a backfill delivered (and acknowledged)
 * tidings_backfill_rows_per_second{…}  tidings_backfill_seconds_left{…}  (-1: unknown)
 * tidings_log_events  tidings_log_bytes                events and bytes the change log retains (with log.dir)
 * tidings_log_syncs_total  tidings_log_sync_seconds_total  group commits (fsyncs) of the log, time spent in them
 * tidings_log_durable_lsn                             commit LSN of the newest event the log made durable
 * tidings_consumer_pending{group}  tidings_consumer_in_flight{group}  events read and not acknowledged, with a worker now
 * tidings_consumer_acked_total{group}                 events a consumer group acknowledged (since the start)
 * tidings_consumer_lag_seconds{group}                 age of the oldest event the group has not acknowledged
 * jvm_*, process_*, system_*                          memory, GC, threads, classes, CPU, uptime
 * </pre>
 *
 * Per-table meters appear with the first change of a table: they are registered at scrape time.
 */
public final class ServeMetrics implements AutoCloseable {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private final StreamStats stats;
    private final List<SinkMetrics> sinks;
    private final Tidings tidings;
    private volatile Map<String, Backfiller.Progress> backfills = Map.of();
    private volatile Map<String, GroupStatus> consumers = Map.of();
    private ConsumerGroups groups;
    /** The groups whose meters are registered (on the scraping thread; scrapes do not overlap: {@link #scrape} is synchronized). */
    private final java.util.Set<String> consumerMeters = new java.util.HashSet<>();

    /** What a sink's state is, as {@code /api/status} and {@code /ready} see it. */
    public interface SinkStates {
        /** 0 ok, 1 retrying, 2 failing. */
        int level(SinkMetrics sink);
    }

    public ServeMetrics(Tidings tidings, StreamStats stats, SlotLag lag, ServeDelivery delivery, List<SinkMetrics> sinks,
                        SinkStates states, LiveCounters live, IntSupplier websocketClients) {
        this.stats = stats;
        this.sinks = sinks;
        this.tidings = tidings;
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);

        gauge("tidings.replication.lag.bytes", lag, l -> l.lagBytes(), "WAL bytes the slot has not confirmed (-1: unknown)");
        gauge("tidings.replication.retained.wal.bytes", lag, l -> l.retainedBytes(),
                "WAL bytes PostgreSQL keeps for the slot, from its restart_lsn (-1: unknown)");
        gauge("tidings.replication.lag.seconds", lag, l -> stats.lagSeconds(l.lagBytes()),
                "seconds since the commit of the oldest change not yet acknowledged (0: caught up)");
        gauge("tidings.replication.confirmed.lsn", tidings, t -> (double) t.confirmed().value(),
                "the LSN last confirmed to PostgreSQL, as a number");
        gauge("tidings.replication.streaming", tidings, t -> t.streaming() ? 1 : 0, "1 while the replication stream is open");
        counter("tidings.replication.reconnects", tidings, Tidings::reconnects, "replication connections lost and reopened");
        counter("tidings.decode.errors", tidings, Tidings::decodeErrors, "pgoutput messages that could not be decoded");
        gauge("tidings.live.paused", delivery, d -> d.livePaused() ? 1 : 0, "1 while live clients are paused for lag");
        gauge("tidings.websocket.clients", websocketClients, IntSupplier::getAsInt, "open WebSocket connections");
        counter("tidings.websocket.messages.sent", live, LiveCounters::websocketMessages, "frames written to WebSocket clients");
        gauge("tidings.sse.clients", live, LiveCounters::sseClients, "open Server-Sent Events streams");
        counter("tidings.sse.messages.sent", live, LiveCounters::sseMessages, "events written to SSE streams");

        for (SinkMetrics s : sinks) {
            sinkCounter("tidings.sink.retried", s, SinkMetrics::retried, "batch attempts that failed and were retried");
            sinkCounter("tidings.sink.failed", s, SinkMetrics::failed, "messages given up on");
            sinkGauge("tidings.sink.in.flight", s, SinkMetrics::inFlight, "messages sent, not yet confirmed");
            sinkGauge("tidings.sink.queued", s, SinkMetrics::queued, "messages waiting to be sent");
            sinkGauge("tidings.sink.latency.last.seconds", s, m -> m.lastLatencyMillis() / 1000.0, "latency of the last batch");
            sinkGauge("tidings.sink.latency.mean.seconds", s, m -> m.meanLatencyMillis() / 1000.0, "mean latency");
            sinkGauge("tidings.sink.latency.max.seconds", s, m -> m.maxLatencyMillis() / 1000.0, "highest latency");
            sinkGauge("tidings.sink.state", s, states::level, "0 ok, 1 retrying, 2 failing");
        }
    }

    /** Adds the change log's meters. */
    public void bind(GroupCommit changeLog) {
        gauge("tidings.log.events", changeLog, c -> c.changeLog().size().events(), "events the change log retains");
        gauge("tidings.log.bytes", changeLog, c -> c.changeLog().size().bytes(), "bytes of events the change log retains");
        counter("tidings.log.syncs", changeLog, GroupCommit::syncs, "group commits (fsyncs) of the change log");
        counter("tidings.log.sync.seconds", changeLog, c -> c.syncNanos() / 1e9, "time spent in group commits of the change log");
        gauge("tidings.log.durable.lsn", changeLog, c -> c.durable() == null ? 0 : (double) c.durable().lsn(),
                "commit LSN of the newest event the change log made durable, as a number");
    }

    /** Adds the meters of the consumer groups, registered per group at scrape time (and removed with the group). */
    public void bind(ConsumerGroups groups) {
        this.groups = groups;
    }

    /** Adds the meters of another part of the server (e.g. Broadcast and Presence). */
    public void bind(MeterBinder binder) {
        binder.bindTo(registry);
    }

    /** The metrics in the Prometheus text format. */
    public synchronized String scrape() {
        for (Map.Entry<TableName, Long> e : stats.eventsByTable().entrySet()) {
            TableName t = e.getKey();
            FunctionCounter.builder("tidings.events.read", stats, s -> s.events(t))
                    .tags("schema", t.schema(), "table", t.table()).description("changes read from the replication stream")
                    .register(registry);
        }
        for (SinkMetrics s : sinks) {
            for (TableName t : s.deliveredByTable().keySet()) {
                FunctionCounter.builder("tidings.sink.delivered", s, m -> m.deliveredByTable().getOrDefault(t, 0L))
                        .tags("sink", s.sink(), "schema", t.schema(), "table", t.table())
                        .description("changes the sink confirmed").register(registry);
            }
        }
        scrapeBackfills();
        scrapeConsumers();
        return registry.scrape();
    }

    /** Reads the backfills' progress (one query) and registers the gauges of new ones. */
    private void scrapeBackfills() {
        List<Backfiller.Progress> now;
        try {
            now = tidings.backfills();
        } catch (Exception e) {
            return; // the gauges keep their last values
        }
        Map<String, Backfiller.Progress> byKey = new java.util.HashMap<>();
        for (Backfiller.Progress p : now) {
            byKey.put(p.backfill() + "/" + p.table(), p);
        }
        backfills = byKey;
        for (Map.Entry<String, Backfiller.Progress> e : byKey.entrySet()) {
            String key = e.getKey();
            Backfiller.Progress p = e.getValue();
            String[] tags = {"backfill", p.backfill(), "schema", p.table().schema(), "table", p.table().table()};
            Gauge.builder("tidings.backfill.rows", this, m -> value(m, key, Backfiller.Progress::rows)).tags(tags)
                    .description("rows the backfill delivered").register(registry);
            Gauge.builder("tidings.backfill.rows.per.second", this, m -> value(m, key, Backfiller.Progress::rowsPerSecond))
                    .tags(tags).description("rows per second in this process").register(registry);
            Gauge.builder("tidings.backfill.seconds.left", this, m -> value(m, key, Backfiller.Progress::secondsLeft))
                    .tags(tags).description("estimated seconds left (-1: unknown)").register(registry);
        }
    }

    private void scrapeConsumers() {
        if (groups == null) {
            return;
        }
        Map<String, GroupStatus> byName = new java.util.HashMap<>();
        groups.list().forEach(s -> byName.put(s.spec().name(), s));
        consumers = byName;
        for (Meter m : registry.getMeters()) {
            String group = m.getId().getTag("group");
            if (m.getId().getName().startsWith("tidings.consumer.") && group != null && !byName.containsKey(group)) {
                registry.remove(m);
                consumerMeters.remove(group);
            }
        }
        for (String group : byName.keySet()) {
            if (!consumerMeters.add(group)) {
                continue;
            }
            Gauge.builder("tidings.consumer.pending", this, m -> consumer(m, group, GroupStatus::pending)).tag("group", group)
                    .description("events the group read and has not acknowledged").register(registry);
            Gauge.builder("tidings.consumer.in.flight", this, m -> consumer(m, group, GroupStatus::inFlight)).tag("group", group)
                    .description("events of the group with a worker now").register(registry);
            FunctionCounter.builder("tidings.consumer.acked", this, m -> consumer(m, group, GroupStatus::acked)).tag("group", group)
                    .description("events the group acknowledged").register(registry);
            Gauge.builder("tidings.consumer.lag.seconds", this, m -> consumer(m, group, GroupStatus::lagSeconds))
                    .tag("group", group).description("age of the oldest event the group has not acknowledged").register(registry);
        }
    }

    private static double consumer(ServeMetrics m, String group, ToDoubleFunction<GroupStatus> f) {
        GroupStatus s = m.consumers.get(group);
        return s == null ? Double.NaN : f.applyAsDouble(s);
    }

    private static double value(ServeMetrics m, String key, ToDoubleFunction<Backfiller.Progress> f) {
        Backfiller.Progress p = m.backfills.get(key);
        return p == null ? Double.NaN : f.applyAsDouble(p);
    }

    private <T> void gauge(String name, T obj, ToDoubleFunction<T> f, String help) {
        Gauge.builder(name, obj, f).description(help).strongReference(true).register(registry);
    }

    private <T> void counter(String name, T obj, ToDoubleFunction<T> f, String help) {
        FunctionCounter.builder(name, obj, f).description(help).register(registry);
    }

    private void sinkGauge(String name, SinkMetrics s, ToDoubleFunction<SinkMetrics> f, String help) {
        Gauge.builder(name, s, f).tag("sink", s.sink()).description(help).register(registry);
    }

    private void sinkCounter(String name, SinkMetrics s, ToDoubleFunction<SinkMetrics> f, String help) {
        FunctionCounter.builder(name, s, f).tag("sink", s.sink()).description(help).register(registry);
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
