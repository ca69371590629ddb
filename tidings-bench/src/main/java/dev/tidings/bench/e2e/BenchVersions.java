package dev.tidings.bench.e2e;

/** Versions learned while running, for the report. */
final class BenchVersions {
    static volatile String postgres = "?";
    /** /proc/loadavg when the run started: other work on the machine skews every figure. */
    static volatile String loadAtStart = loadAverage();

    static String loadAverage() {
        try {
            String[] f = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    private BenchVersions() {}
}
