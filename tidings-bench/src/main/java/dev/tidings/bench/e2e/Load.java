package dev.tidings.bench.e2e;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The loads of the end-to-end benchmark, each repeatable (values are functions of the row id). {@code scale} divides
 * the row counts for the smoke test; the full benchmark runs at scale 1.
 *
 * @param name   short name used in tables
 * @param kind   what the load does
 * @param events change events it produces, which is what every consumer must receive
 * @param txSize rows per transaction; for a BROADCAST load, the clients per topic (the room size)
 * @param via    the clients of a load served to clients
 */
record Load(String name, Kind kind, int events, int txSize, String description, int txPerSecond, int clients, Via via) {
    /**
     * FANOUT: a paced live load like LIVE, delivered by tidings serve to WebSocket clients.
     * BROADCAST: the WebSocket clients, joined in rooms, send each other {@code events} broadcasts
     * at {@code txPerSecond} through tidings serve (no database load).
     * FILTERED: like FANOUT, but client {@code k} subscribes with {@code id=eq.k} and the load
     * updates random rows among {@code 1..clients}, so each change matches one client.
     * EDGE: FANOUT through an edge node: tidings serve with a NATS sink into a JetStream stream,
     * and {@code tidings serve --from nats://…} reading it, which the WebSocket clients connect to.
     * IDLE: the clients join as in FILTERED and then stay idle for {@code events} seconds, sending
     * only their heartbeats (each client one every 25 s, spread evenly); no database load.
     */
    enum Kind { INSERT, UPDATE, LIVE, FANOUT, BROADCAST, FILTERED, EDGE, IDLE }

    /**
     * WEBSOCKET: the bench's own raw NIO WebSocket clients ({@link WebSocketClients}) in a JVM.
     * REALTIME_JS: published realtime-js 2.x clients in one Node process ({@code src/main/js}),
     * measured in the same repetition beside WEBSOCKET at the same count. SSE: {@code GET /events}
     * streams, also run by {@link WebSocketClients}.
     */
    enum Via {
        WEBSOCKET("raw NIO WebSocket clients"),
        REALTIME_JS("realtime-js " + RealtimeJsClients.VERSION + " clients (Node)"),
        SSE("SSE streams (raw NIO)");

        final String label;

        Via(String label) {
            this.label = label;
        }
    }

    /** Whether clients of tidings serve measure this load (FanOutRun), not a consumer of the slot. */
    boolean servedToClients() {
        return kind == Kind.FANOUT || kind == Kind.BROADCAST || kind == Kind.FILTERED || kind == Kind.EDGE
                || kind == Kind.IDLE;
    }

    Load(String name, Kind kind, int events, int txSize, String description) {
        this(name, kind, events, txSize, description, LIVE_TX_PER_SECOND, 0);
    }

    Load(String name, Kind kind, int events, int txSize, String description, int txPerSecond, int clients) {
        this(name, kind, events, txSize, description, txPerSecond, clients, Via.WEBSOCKET);
    }

    /** The same load with other clients (the reference run of a REALTIME_JS load). */
    Load via(Via other) {
        return new Load(name, kind, events, txSize, description, txPerSecond, clients, other);
    }

    /** The live load's pace. */
    static final int LIVE_TX_PER_SECOND = 2_000;

    static Load a(int scale) {
        return new Load("a", Kind.INSERT, 200_000 / scale, 100, "inserts, 100 rows/tx");
    }

    static Load b(int scale) {
        return new Load("b", Kind.INSERT, 50_000 / scale, 1, "single-row insert tx");
    }

    static Load c(int scale) {
        return new Load("c", Kind.UPDATE, 100_000 / scale, 100, "updates, 100 rows/tx");
    }

    static Load d(int scale) {
        return new Load("d", Kind.LIVE, LIVE_TX_PER_SECOND * 10 / scale, 1, "live, 2,000 tx/s for 10 s");
    }

    /** Live latency to one WebSocket client of tidings serve, at the pace of (d). */
    static Load f(int scale) {
        return new Load("f", Kind.FANOUT, LIVE_TX_PER_SECOND * 10 / scale, 1,
                "live, 2,000 tx/s for 10 s → tidings serve → 1 WebSocket client", LIVE_TX_PER_SECOND, 1);
    }

    /** Fan-out: 500 WebSocket clients subscribed to the table, 1,000 single-row tx/s for 10 s. */
    static Load g(int scale) {
        return new Load("g", Kind.FANOUT, 10_000 / scale, 1,
                "1,000 tx/s for 10 s → tidings serve → 500 WebSocket clients", 1_000, Math.max(1, 500 / scale));
    }

    /** Broadcast: 500 clients on one topic, 1,000 messages/s for 10 s, each to all 500 (the sender too). */
    static Load j(int scale) {
        return filtered("j", 100, scale);
    }

    static Load k(int scale) {
        return filtered("k", 2_000, scale);
    }

    static Load l(int scale) {
        return filtered("l", 10_000, scale);
    }

    /** Load (j) with 200 realtime-js clients in Node, beside 200 raw NIO clients. */
    static Load q(int scale) {
        int n = Math.max(1, 200 / scale);
        return new Load("q", Kind.FILTERED, LIVE_TX_PER_SECOND * 10 / scale, 1, String.format(Locale.ROOT,
                "2,000 updates/s of random rows for 10 s → tidings serve → %,d realtime-js clients, each id=eq.<its row>",
                n), LIVE_TX_PER_SECOND, n, Via.REALTIME_JS);
    }

    /** Every change to every client: 200 realtime-js clients without a filter, 100 tx/s for 10 s. */
    static Load r(int scale) {
        int n = Math.max(1, 200 / scale);
        return new Load("r", Kind.FANOUT, 1_000 / scale, 1, String.format(Locale.ROOT,
                "100 tx/s for 10 s → tidings serve → %,d realtime-js clients, each every change", n), 100, n,
                Via.REALTIME_JS);
    }

    static Load s(int scale) {
        return sse("s", 100, scale);
    }

    static Load t(int scale) {
        return sse("t", 2_000, scale);
    }

    static Load u(int scale) {
        return sse("u", 10_000, scale);
    }

    /** (j), (k), (l) with SSE streams: client k reads {@code /events?tables=public.bench&filter=id=eq.k}. */
    private static Load sse(String name, int clients, int scale) {
        int n = Math.max(1, clients / scale);
        return new Load(name, Kind.FILTERED, LIVE_TX_PER_SECOND * 10 / scale, 1, String.format(Locale.ROOT,
                "2,000 updates/s of random rows for 10 s → tidings serve → %,d SSE streams, each filter=id=eq.<its row>",
                n), LIVE_TX_PER_SECOND, n, Via.SSE);
    }

    /** 10,000 joined WebSocket clients idle for 60 s: the heartbeats' cost (400 a second). */
    static Load v(int scale) {
        int n = Math.max(1, 10_000 / scale);
        int seconds = Math.max(5, 60 / scale);
        return new Load("v", Kind.IDLE, seconds, 1, String.format(Locale.ROOT,
                "%,d WebSocket clients joined (each id=eq.<its row>), idle for %d s but their heartbeats (one per client"
                        + " every 25 s)", n, seconds), 0, n);
    }

    private static Load filtered(String name, int clients, int scale) {
        int n = Math.max(1, clients / scale);
        return new Load(name, Kind.FILTERED, LIVE_TX_PER_SECOND * 10 / scale, 1, String.format(Locale.ROOT,
                "2,000 updates/s of random rows for 10 s → tidings serve → %,d WebSocket clients, each id=eq.<its row>", n),
                LIVE_TX_PER_SECOND, n);
    }

    static Load h(int scale) {
        int clients = Math.max(1, 500 / scale);
        return new Load("h", Kind.BROADCAST, 10_000 / scale, clients,
                "broadcast: 500 WebSocket clients on one topic, 1,000 messages/s for 10 s, each to all 500", 1_000, clients);
    }

    /** Broadcast: 2,000 clients in rooms of 10, 2,000 messages/s for 10 s, each to the 10 of its room. */
    static Load i(int scale) {
        return new Load("i", Kind.BROADCAST, 20_000 / scale, 10,
                "broadcast: 2,000 WebSocket clients in rooms of 10, 2,000 messages/s for 10 s, each to its room",
                2_000, Math.max(10, 2_000 / scale));
    }

    /** Edge fan-out: 500 WebSocket clients of one edge node, 1,000 single-row tx/s for 10 s (as g, one hop more). */
    static Load m(int scale) {
        return new Load("m", Kind.EDGE, 10_000 / scale, 1,
                "1,000 tx/s for 10 s → tidings serve → NATS JetStream → edge node → 500 WebSocket clients", 1_000,
                Math.max(1, 500 / scale));
    }

    /** Edge fan-out: 2,000 WebSocket clients of one edge node, 1,000 single-row tx/s for 10 s. */
    static Load n(int scale) {
        return new Load("n", Kind.EDGE, 10_000 / scale, 1,
                "1,000 tx/s for 10 s → tidings serve → NATS JetStream → edge node → 2,000 WebSocket clients", 1_000,
                Math.max(1, 2_000 / scale));
    }

    /** Every delivery the clients must receive together. */
    long expectedDeliveries() {
        return switch (kind) {
            case BROADCAST -> (long) events * txSize;
            case FILTERED -> events;
            case IDLE -> (long) clients * events / 25; // heartbeat replies
            default -> (long) events * clients;
        };
    }

    static Load e(int scale) {
        return new Load("e", Kind.INSERT, 1_000_000 / scale, 1_000_000 / scale, "one tx of 1,000,000 rows");
    }

    private static final String VALUES = "g, g %% 1000, 'row-' || g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', "
            + "jsonb_build_object('k', g, 'tag', 'abc', 'ok', true)";

    /** What must be in the table before the slots are created (updates need rows to update). */
    void prepare(Connection c) throws SQLException {
        if (kind == Kind.FILTERED || kind == Kind.IDLE) {
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO bench SELECT " + VALUES.formatted() + " FROM generate_series(1, " + clients + ") g");
            }
        }
        if (kind == Kind.UPDATE) {
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO bench SELECT " + VALUES.formatted() + " FROM generate_series(1, " + events + ") g");
            }
        }
    }

    /** Runs the catch-up load (a, b, c, e). */
    void run(Connection c) throws SQLException {
        c.setAutoCommit(false);
        switch (kind) {
            case INSERT -> {
                try (PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO bench SELECT " + VALUES.formatted() + " FROM generate_series(?, ?) g")) {
                    for (int from = 1; from <= events; from += txSize) {
                        ps.setInt(1, from);
                        ps.setInt(2, Math.min(events, from + txSize - 1));
                        ps.executeUpdate();
                        c.commit();
                    }
                }
            }
            case UPDATE -> {
                try (PreparedStatement ps = c.prepareStatement("UPDATE bench SET n = n + 1, label = 'upd-' || id, "
                        + "at = at + interval '1 millisecond', attrs = attrs || '{\"u\": 1}' WHERE id BETWEEN ? AND ?")) {
                    for (int from = 1; from <= events; from += txSize) {
                        ps.setInt(1, from);
                        ps.setInt(2, Math.min(events, from + txSize - 1));
                        ps.executeUpdate();
                        c.commit();
                    }
                }
            }
            case LIVE, FANOUT, FILTERED, IDLE -> throw new IllegalStateException("paced loads run with runLive");
            case BROADCAST -> throw new IllegalStateException("the broadcast clients send their own load");
        }
        c.setAutoCommit(true);
    }

    /**
     * Runs the live load: single-row transactions at {@link #txPerSecond}, each committed with
     * synchronous_commit on (else the WAL writer's 200 ms delay would hide the consumer's latency).
     * A transaction that falls behind schedule is sent at once, not skipped. Returns the rate achieved.
     */
    double runLive(Connection c) throws SQLException {
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
            s.execute("SET synchronous_commit = on");
        }
        long interval = TimeUnit.SECONDS.toNanos(1) / txPerSecond;
        java.util.Random rows = new java.util.Random(42);
        try (PreparedStatement ps = c.prepareStatement(kind == Kind.FILTERED
                ? "UPDATE bench SET n = n + 1 WHERE id = ? AND ? > 0"
                : "INSERT INTO bench SELECT " + VALUES.formatted() + " FROM generate_series(?, ?) g")) {
            long start = System.nanoTime();
            for (int i = 0; i < events; i++) {
                long due = start + i * interval;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
                int row = kind == Kind.FILTERED ? 1 + rows.nextInt(clients) : i + 1;
                ps.setInt(1, row);
                ps.setInt(2, row);
                ps.executeUpdate();
            }
            return events / ((System.nanoTime() - start) / 1e9);
        }
    }
}
