package dev.tidings.bench.e2e;

/**
 * One consumer's run through one load. Times are wall-clock microseconds; {@code first} is 0 when
 * the consumer cannot report its first event (pg_recvlogical writes to /dev/null).
 * {@code latencyMicros} is {@code [p50, p99, max]} for a live load, and for a fan-out load
 * {@code [p50, p99, max, p95, deliveries, disconnected clients, clients]} ({@code events} is then the
 * deliveries to all clients together); {@code served} has what was measured besides, for loads
 * served to clients (null for others and for failed runs).
 */
record Measurement(Peer peer, Load load, int rep, long events, long start, long first, long last, ProcStats stats,
                   long[] latencyMicros, double liveRate, String error, Served served) {

    /**
     * A load served to clients: how long the clients took to connect and join (from their process's
     * start to the last join answered), and the CPU that the server and the clients' process used
     * while the load ran (from its start, or that of the idle period, to a second after its last
     * change; connecting and joining not included), and the clients' process's peak RSS.
     */
    record Served(long joinMillis, long serverLoadCpuMillis, long clientLoadCpuMillis, long clientPeakRssKb) {}

    Measurement(Peer peer, Load load, int rep, long events, long start, long first, long last, ProcStats stats,
                long[] latencyMicros, double liveRate, String error) {
        this(peer, load, rep, events, start, first, last, stats, latencyMicros, liveRate, error, null);
    }

    static Measurement failed(Peer peer, Load load, int rep, String error, ProcStats stats) {
        return new Measurement(peer, load, rep, 0, 0, 0, 0, stats, null, 0, error);
    }

    boolean ok() {
        return error == null;
    }

    /** Events per second from the consumer's start to its last event (start-up included). */
    double throughput() {
        return events / ((last - start) / 1e6);
    }

    /** Events per second from its first to its last event (start-up excluded); NaN when unknown. */
    double streamingThroughput() {
        return first == 0 || last == first ? Double.NaN : (events - 1) / ((last - first) / 1e6);
    }

    /** Seconds from start to first event; NaN when unknown. */
    double startupSeconds() {
        return first == 0 ? Double.NaN : (first - start) / 1e6;
    }
}
