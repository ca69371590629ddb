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

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void realtime_js_clients_sse_streams_and_idle_clients_each_report_every_delivery_and_their_own_cpu() throws Exception {
        Benchmark.Options options = options(List.of("q", "s", "v"), List.of(Peer.SERVE));

        List<Measurement> results = Benchmark.run(options);

        assertThat(results).allSatisfy(m -> {
            assertThat(m.error()).as(m.load().name() + " via " + m.load().via()).isNull();
            assertThat(m.served().clientLoadCpuMillis()).isNotNegative();
            assertThat(m.served().serverLoadCpuMillis()).isPositive();
            assertThat(m.latencyMicros()[5]).as("disconnected").isZero();
        });
        // q: the realtime-js clients and, in the same repetition, the raw NIO ones; s: SSE streams
        assertThat(results).filteredOn(m -> m.load().name().equals("q")).extracting(m -> m.load().via())
                .containsExactlyInAnyOrder(Load.Via.WEBSOCKET, Load.Via.REALTIME_JS);
        assertThat(results).filteredOn(m -> !m.load().name().equals("v"))
                .allSatisfy(m -> assertThat(m.events()).isEqualTo(m.load().expectedDeliveries()));
        assertThat(results).filteredOn(m -> m.load().name().equals("s")).extracting(m -> m.load().via())
                .containsExactly(Load.Via.SSE);
        // v: 100 clients idle for 5 s send 20 heartbeats, each answered
        assertThat(results).filteredOn(m -> m.load().name().equals("v"))
                .allSatisfy(m -> assertThat(m.latencyMicros()[4]).isGreaterThanOrEqualTo(15));
        assertThat(new Report(results, options).markdownTables())
                .contains("realtime-js 2.119.1 clients (Node)", "SSE streams", "server CPU % of a core");
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
