package dev.tidings.bench.e2e;

/** The consumers measured side by side. */
enum Peer {
    PG_RECVLOGICAL("pg_recvlogical"),
    DEBEZIUM("Debezium embedded (defaults)"),
    DEBEZIUM_POLL10("Debezium embedded (poll.interval.ms=10)"),
    TAIL("tidings tail (JSON)"),
    EMBEDDED("Tidings embedded API"),
    /** tidings serve with WebSocket clients: the fan-out loads only. */
    SERVE("tidings serve → WebSocket clients");

    final String label;

    Peer(String label) {
        this.label = label;
    }

    /** The slot of this peer for one case; slot names must be lower case. */
    String slot() {
        return "bench_" + name().toLowerCase(java.util.Locale.ROOT);
    }

    boolean jvm() {
        return this != PG_RECVLOGICAL;
    }
}
