package dev.tidings.bench.e2e;

import java.util.Arrays;

/** Latency samples in microseconds, summarised as count, p50, p99 and max (nearest rank). */
final class Latencies {
    private long[] samples;
    private int n;

    Latencies(int expected) {
        samples = new long[Math.max(16, expected)];
    }

    void add(long micros) {
        if (n == samples.length) {
            samples = Arrays.copyOf(samples, n * 2);
        }
        samples[n++] = micros;
    }

    /** {@code "<n> <p50> <p99> <max>"}, microseconds. */
    String summary() {
        long[] s = Arrays.copyOf(samples, n);
        Arrays.sort(s);
        return n + " " + rank(s, 0.50) + " " + rank(s, 0.99) + " " + (n == 0 ? 0 : s[n - 1]);
    }

    static long rank(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
