package dev.tidings.bench.e2e;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Proves the harness works, not how fast anything is: a catch-up load and a live load at 1/100 of
 * their size, once, through every consumer (pg_recvlogical when installed). Every consumer must
 * see every event and report its figures.
 */
@Tag("postgres")
@Tag("process")
@Tag("slow")
class BenchmarkSmokeTest {

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void every_consumer_receives_every_event_of_a_small_catch_up_and_live_load() throws Exception {
        Benchmark.Options options = options(List.of("a", "d"), Arrays.asList(Peer.values()));

        List<Measurement> results = Benchmark.run(options);

        assertThat(results).allSatisfy(m -> {
            assertThat(m.error()).as(m.peer() + " in load " + m.load().name()).isNull();
            assertThat(m.events()).isEqualTo(m.load().events());
            assertThat(m.stats().peakRssKb()).isPositive();
        });
        assertThat(results).filteredOn(m -> m.load().kind() == Load.Kind.LIVE)
                .allSatisfy(m -> assertThat(m.latencyMicros()).hasSize(3));
        assertThat(results).extracting(Measurement::peer).contains(Peer.DEBEZIUM, Peer.TAIL, Peer.EMBEDDED);
        assertThat(new Report(results, options).markdownTables()).contains("tidings tail", "p99");
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void tailReceivesEveryEventOfTheWideRowAndToastLoads() throws Exception {
        Benchmark.Options options = options(List.of("o", "p"), List.of(Peer.TAIL, Peer.PG_RECVLOGICAL));

        List<Measurement> results = Benchmark.run(options);

        assertThat(results).filteredOn(m -> m.peer() == Peer.TAIL).extracting(m -> m.load().name())
                .containsExactly("o", "p");
        assertThat(results).allSatisfy(m -> {
            assertThat(m.error()).as(m.peer() + " in load " + m.load().name()).isNull();
            assertThat(m.events()).isEqualTo(m.load().events());
        });
    }

    /** One repetition at 1/100 of the loads, tail started from this test's class path. */
    private static Benchmark.Options options(List<String> loads, List<Peer> peers) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> jvmOpts = List.of("-Xmx256m", "-XX:TieredStopAtLevel=1");
        List<String> tail = new ArrayList<>(List.of(java));
        tail.addAll(jvmOpts);
        tail.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.tidings.server.cli.Main"));
        return new Benchmark.Options(1, loads, peers, 100, jvmOpts, tail, "java " + String.join(" ", jvmOpts), null,
                "smoke", Path.of("target/bench-logs"));
    }
}
