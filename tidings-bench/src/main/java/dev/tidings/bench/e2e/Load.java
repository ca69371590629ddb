package dev.tidings.bench.e2e;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
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
 * @param table  the shape of the bench table it writes
 * @param via    the clients of a load served to clients
 */
record Load(String name, Kind kind, int events, int txSize, String description, int txPerSecond, int clients,
            Table table, Via via) {
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

    Load(String name, Kind kind, int events, int txSize, String description, int txPerSecond, int clients) {
        this(name, kind, events, txSize, description, txPerSecond, clients, Table.NARROW, Via.WEBSOCKET);
    }

    Load(String name, Kind kind, int events, int txSize, String description, int txPerSecond, int clients, Table table) {
        this(name, kind, events, txSize, description, txPerSecond, clients, table, Via.WEBSOCKET);
    }

    Load(String name, Kind kind, int events, int txSize, String description, int txPerSecond, int clients, Via via) {
        this(name, kind, events, txSize, description, txPerSecond, clients, Table.NARROW, via);
    }

    Load(String name, Kind kind, int events, int txSize, String description) {
        this(name, kind, events, txSize, description, LIVE_TX_PER_SECOND, 0, Table.NARROW, Via.WEBSOCKET);
    }

    /**
     * The shape of the bench table a load writes. Values are functions of the row id {@code g}.
     * NARROW: an int key, an int, a short text, a timestamptz and a small jsonb (about 120 bytes).
     * WIDE: 30 columns of mixed types, about 2 KB a row, inline (no TOAST).
     * TOASTED: a key, an int and a 10 KB text stored out of line ({@code STORAGE EXTERNAL}, so not
     * compressed inline); each row is updated twice, first {@code n} only (pgoutput then sends the
     * unchanged TOAST value as 'u', without its data), then {@code body} (the 10 KB value in full).
     *
     * @param columns the column list of {@code CREATE TABLE bench}
     * @param values  the select list producing a row from {@code g}
     * @param updates the statements of an update load, one per transaction in turn, each for the
     *                rows {@code id BETWEEN ? AND ?}; every row is updated once by each
     */
    enum Table {
        NARROW("id int PRIMARY KEY, n int NOT NULL, label text NOT NULL, at timestamptz NOT NULL, attrs jsonb NOT NULL",
                "g, g % 1000, 'row-' || g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', "
                        + "jsonb_build_object('k', g, 'tag', 'abc', 'ok', true)",
                List.of("UPDATE bench SET n = n + 1, label = 'upd-' || id, at = at + interval '1 millisecond', "
                        + "attrs = attrs || '{\"u\": 1}' WHERE id BETWEEN ? AND ?")),
        WIDE("id int PRIMARY KEY, n int NOT NULL, big bigint, small smallint, price numeric(12,2), ratio float8, "
                + "score real, ok boolean, flag boolean, label text, title text, summary text, note text, body text, "
                + "code varchar(16), tag char(4), at timestamptz, local_at timestamp, day date, clock time, "
                + "span interval, uid uuid, attrs jsonb, meta json, ints int[], words text[], raw bytea, addr inet, "
                + "amount numeric, seq bigint",
                "g, g % 1000, g::bigint * 1000003, (g % 30000)::smallint, (g % 100000) / 100.0, g / 7.0, "
                        + "(g % 1000) / 3.0, g % 2 = 0, g % 3 = 0, 'label-' || g, 'A title for row ' || g, "
                        + "repeat('summary ' || g || ' ', 20), repeat(md5(g::text), 8), repeat('body of the row ' || g || '. ', 20), "
                        + "'code-' || (g % 9999), 'tg' || (g % 10), timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', "
                        + "timestamp '2024-01-01 00:00:00' + g * interval '1 minute', date '2024-01-01' + (g % 3650), "
                        + "time '00:00:00' + (g % 86400) * interval '1 second', (g % 1000) * interval '1 minute', "
                        + "md5(g::text)::uuid, jsonb_build_object('k', g, 'tag', 'abc', 'ok', true, 'list', jsonb_build_array(g, g + 1, 'x')), "
                        + "json_build_object('k', g, 'name', 'row ' || g), ARRAY[g, g + 1, g + 2, g + 3], "
                        + "ARRAY['alpha', 'beta', 'row-' || g], decode(md5(g::text) || md5((g + 1)::text), 'hex'), "
                        + "('10.' || (g % 250) || '.' || (g % 200) || '.1')::inet, g * 12345.6789, g::bigint * 7",
                List.of()),
        TOASTED("id int PRIMARY KEY, n int NOT NULL, body text NOT NULL",
                "g, g % 1000, repeat(md5(g::text), 320)",
                List.of("UPDATE bench SET n = n + 1 WHERE id BETWEEN ? AND ?",
                        "UPDATE bench SET n = n + 1, body = repeat(md5('v2-' || id), 320) WHERE id BETWEEN ? AND ?"));

        final String columns;
        final String values;
        final List<String> updates;

        Table(String columns, String values, List<String> updates) {
            this.columns = columns;
            this.values = values;
            this.updates = updates;
        }

        /** The statements that create the table, after which the publication is created. */
        List<String> ddl() {
            return this == TOASTED
                    ? List.of("CREATE TABLE bench (" + columns + ")", "ALTER TABLE bench ALTER COLUMN body SET STORAGE EXTERNAL")
                    : List.of("CREATE TABLE bench (" + columns + ")");
        }
    }

    /** The same load with other clients (the reference run of a REALTIME_JS load). */
    Load via(Via other) {
        return new Load(name, kind, events, txSize, description, txPerSecond, clients, table, other);
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

    /** Wide rows: 30 columns of mixed types, about 2 KB each, inserted 100 rows/tx. */
    static Load o(int scale) {
        return new Load("o", Kind.INSERT, 100_000 / scale, 100, "wide rows (30 columns, ~2 KB), inserts, 100 rows/tx",
                LIVE_TX_PER_SECOND, 0, Table.WIDE);
    }

    /** TOAST: 20,000 rows with a 10 KB text each, each updated twice, 100 rows/tx: n only, then the text. */
    static Load p(int scale) {
        return new Load("p", Kind.UPDATE, 40_000 / scale, 100,
                "10 KB TOAST values: updates, 100 rows/tx, half leave the value unchanged ('u'), half replace it",
                LIVE_TX_PER_SECOND, 0, Table.TOASTED);
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

    /** Rows each update statement touches: every row is updated once per statement of {@link Table#updates}. */
    private int updatedRows() {
        return events / table.updates.size();
    }

    /** What must be in the table before the slots are created (updates need rows to update). */
    void prepare(Connection c) throws SQLException {
        if (kind == Kind.FILTERED || kind == Kind.IDLE) {
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO bench SELECT " + table.values + " FROM generate_series(1, " + clients + ") g");
            }
        }
        if (kind == Kind.UPDATE) {
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO bench SELECT " + table.values + " FROM generate_series(1, " + updatedRows() + ") g");
            }
        }
    }

    /** Runs the catch-up load (a, b, c, e, o, p). */
    void run(Connection c) throws SQLException {
        c.setAutoCommit(false);
        switch (kind) {
            case INSERT -> {
                try (PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO bench SELECT " + table.values + " FROM generate_series(?, ?) g")) {
                    for (int from = 1; from <= events; from += txSize) {
                        ps.setInt(1, from);
                        ps.setInt(2, Math.min(events, from + txSize - 1));
                        ps.executeUpdate();
                        c.commit();
                    }
                }
            }
            case UPDATE -> {
                // each statement in turn per range of rows, so both kinds of update are spread over the load
                int rows = updatedRows();
                List<PreparedStatement> statements = new ArrayList<>();
                try {
                    for (String sql : table.updates) {
                        statements.add(c.prepareStatement(sql));
                    }
                    for (int from = 1; from <= rows; from += txSize) {
                        for (PreparedStatement ps : statements) {
                            ps.setInt(1, from);
                            ps.setInt(2, Math.min(rows, from + txSize - 1));
                            ps.executeUpdate();
                            c.commit();
                        }
                    }
                } finally {
                    for (PreparedStatement ps : statements) {
                        ps.close();
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
                : "INSERT INTO bench SELECT " + table.values + " FROM generate_series(?, ?) g")) {
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
