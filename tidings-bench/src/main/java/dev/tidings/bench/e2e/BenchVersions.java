package dev.tidings.bench.e2e;

/** Versions learned while running, for the report. */
final class BenchVersions {
    static volatile String postgres = "?";

    private BenchVersions() {}
}
