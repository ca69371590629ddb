package dev.tidings.bench.e2e;

import java.io.PrintStream;
import java.time.Instant;

/**
 * What a consumer running in a child JVM tells the coordinator, as lines on its stdout that start
 * with {@code @@ } (anything else there is ignored, so a library that prints to stdout cannot
 * confuse it). Times are wall-clock microseconds since the epoch: the coordinator, the children and
 * PostgreSQL's commit timestamps all read the same clock, on the same machine.
 *
 * <ul>
 *   <li>{@code @@ DONE <count> <firstMicros> <lastMicros>}: the expected number of events arrived.
 *   <li>{@code @@ LATENCY <n> <p50> <p99> <max>}: commit → delivery, microseconds (live mode only).
 *   <li>{@code @@ FAIL <message>}: the consumer could not run.
 * </ul>
 * After DONE a child idles until the coordinator has read its /proc figures and kills it.
 */
final class ChildProtocol {
    static final String PREFIX = "@@ ";

    private final PrintStream out;
    private final long expected;
    private final boolean live;
    private final Latencies latencies;
    private long count;
    private long first;
    private volatile boolean done;

    ChildProtocol(PrintStream out, long expected, boolean live) {
        this.out = out;
        this.expected = expected;
        this.live = live;
        this.latencies = live ? new Latencies((int) expected) : null;
    }

    static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    /** One event arrived; {@code commitMicros} is its commit time (only read in live mode). */
    void event(long commitMicros) {
        long now = nowMicros();
        if (count == 0) {
            first = now;
        }
        if (live && count < expected) {
            latencies.add(now - commitMicros);
        }
        if (++count == expected) {
            finish(now);
        }
    }

    boolean live() {
        return live;
    }

    boolean done() {
        return done;
    }

    private void finish(long last) {
        out.println(PREFIX + "DONE " + count + " " + first + " " + last);
        if (live) {
            out.println(PREFIX + "LATENCY " + latencies.summary());
        }
        out.flush();
        done = true;
    }

    void fail(Throwable t) {
        out.println(PREFIX + "FAIL " + String.valueOf(t).replace('\n', ' '));
        out.flush();
    }

    /** Blocks until the coordinator kills this process (it reads /proc first). */
    static void idleForever() throws InterruptedException {
        Thread.sleep(Long.MAX_VALUE);
    }
}
