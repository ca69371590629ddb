package dev.tidings.pipeline;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.EventFormat;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import dev.tidings.sink.RetryPolicy;
import dev.tidings.sink.Sink;
import dev.tidings.sink.SinkException;
import dev.tidings.sink.SinkFailedException;
import dev.tidings.sink.SinkMessage;
import dev.tidings.sink.SinkSettings;
import dev.tidings.testing.Await;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static dev.tidings.testing.TypeOids.*;

/** The fan-out without a database: sinks whose confirmations the test controls. */
@Tag("unit")
class SinkFanOutTest {
    static final List<Column> COLUMNS = List.of(new Column("id", "int8", INT8, true));

    /** A sink that confirms only when the test says so. */
    static final class ManualSink implements Sink {
        final List<SinkMessage> sent = new CopyOnWriteArrayList<>();
        final List<CompletableFuture<Void>> futures = new CopyOnWriteArrayList<>();

        @Override
        public CompletableFuture<Void> send(List<SinkMessage> batch) {
            sent.addAll(batch);
            CompletableFuture<Void> f = new CompletableFuture<>();
            futures.add(f);
            return f;
        }

        /** The batches confirmed so far, by index. */
        List<Integer> confirmed() {
            List<Integer> done = new ArrayList<>();
            for (int i = 0; i < futures.size(); i++) {
                if (futures.get(i).isDone()) {
                    done.add(i);
                }
            }
            return done;
        }

        void confirm(int batch) {
            await(() -> futures.size() > batch);
            futures.get(batch).complete(null);
        }
    }

    /** A sink that fails the first {@code failures} attempts, then confirms. */
    static final class FlakySink implements Sink {
        final List<String> attempts = new CopyOnWriteArrayList<>();
        final AtomicInteger failures;

        FlakySink(int failures) {
            this.failures = new AtomicInteger(failures);
        }

        @Override
        public CompletableFuture<Void> send(List<SinkMessage> batch) {
            batch.forEach(m -> attempts.add(m.id()));
            if (failures.getAndDecrement() > 0) {
                return CompletableFuture.failedFuture(new SinkException("server said 503", null, Duration.ofMillis(1), false));
            }
            return CompletableFuture.completedFuture(null);
        }
    }

    /** Records acknowledgements and failures in order. */
    static final class Acks {
        final List<Long> acknowledged = new CopyOnWriteArrayList<>();
        /** Each acknowledgement with what {@link #state} said at that moment. */
        final List<String> acknowledgedWhen = new CopyOnWriteArrayList<>();
        volatile Supplier<String> state = () -> "";
        volatile Exception failure;

        Delivery.Acknowledgement of(long xid) {
            return new Delivery.Acknowledgement() {
                @Override
                public void acknowledge() {
                    acknowledgedWhen.add(xid + " when " + state.get());
                    acknowledged.add(xid);
                }

                @Override
                public void fail(Exception cause) {
                    failure = cause;
                }
            };
        }
    }

    static Transaction tx(long xid) {
        return new Transaction(xid, Lsn.of(xid * 1000), Instant.now());
    }

    static ChangeEvent insert(Transaction tx, int index, String table, long id) {
        return new ChangeEvent(Op.INSERT, "public", table, COLUMNS, new Row(COLUMNS, new String[] {Long.toString(id)}), null,
                List.of(), tx, index, Lsn.of(tx.commitLsn().value() - 10 + index), null);
    }

    static SinkSettings oneByOne(String name) {
        return SinkSettings.defaults(name).withWindow(1, 4, 100)
                .withRetry(new RetryPolicy(0, Duration.ZERO, Duration.ofMillis(1), Duration.ofMillis(5), RetryPolicy.GiveUp.STOP), null);
    }

    static void deliver(SinkFanOut d, Acks acks, long xid, String table, int changes) throws Exception {
        Transaction tx = tx(xid);
        d.begin(tx);
        for (int i = 0; i < changes; i++) {
            d.change(insert(tx, i, table, xid * 100 + i));
        }
        d.commit(tx, acks.of(xid));
    }

    @Test
    void a_transaction_is_acknowledged_only_when_every_sink_confirmed_all_its_events() throws Exception {
        ManualSink a = new ManualSink();
        ManualSink b = new ManualSink();
        Acks acks = new Acks();
        try (SinkFanOut d = new SinkFanOut(List.of(new SinkFanOut.Target(a, oneByOne("a")),
                new SinkFanOut.Target(b, oneByOne("b"))))) {
            deliver(d, acks, 1, "t", 2);
            deliver(d, acks, 2, "t", 1);
            await(() -> a.futures.size() == 3 && b.futures.size() == 3);
            acks.state = () -> "a confirmed " + a.confirmed() + ", b confirmed " + b.confirmed();
            a.confirm(0);
            a.confirm(1);
            a.confirm(2);
            b.confirm(0);
            b.confirm(2);
            b.confirm(1);
            await(() -> acks.acknowledged.size() == 2);
            // tx 1 needs b's batch 1 (its second change); tx 2 (batch 2) retires only after tx 1
            assertThat(acks.acknowledgedWhen).containsExactly("1 when a confirmed [0, 1, 2], b confirmed [0, 1, 2]",
                    "2 when a confirmed [0, 1, 2], b confirmed [0, 1, 2]");
        }
    }

    @Test
    void a_sink_that_filters_out_a_transaction_does_not_hold_it_back() throws Exception {
        ManualSink orders = new ManualSink();
        ManualSink everything = new ManualSink();
        Acks acks = new Acks();
        SinkSettings onlyOrders = oneByOne("orders").withFilter(e -> e.table().equals("orders"));
        try (SinkFanOut d = new SinkFanOut(List.of(new SinkFanOut.Target(orders, onlyOrders),
                new SinkFanOut.Target(everything, oneByOne("all"))))) {
            deliver(d, acks, 1, "users", 1);
            everything.confirm(0);
            await(() -> acks.acknowledged.size() == 1);
            assertThat(orders.sent).isEmpty();
        }
    }

    @Test
    void an_event_is_serialized_once_per_format_not_once_per_sink() throws Exception {
        ManualSink a = new ManualSink();
        ManualSink b = new ManualSink();
        ManualSink c = new ManualSink();
        try (SinkFanOut d = new SinkFanOut(List.of(new SinkFanOut.Target(a, oneByOne("a")),
                new SinkFanOut.Target(b, oneByOne("b")),
                new SinkFanOut.Target(c, oneByOne("c").withFormat(EventFormat.named("debezium")))))) {
            deliver(d, new Acks(), 1, "t", 1);
            await(() -> !a.sent.isEmpty() && !b.sent.isEmpty() && !c.sent.isEmpty());
            assertThat(a.sent.get(0).body()).isSameAs(b.sent.get(0).body());
            assertThat(c.sent.get(0).body()).isNotSameAs(a.sent.get(0).body());
        }
    }

    @Test
    void a_failed_batch_is_sent_again_with_the_same_ids_and_then_acknowledged() throws Exception {
        FlakySink flaky = new FlakySink(3);
        Acks acks = new Acks();
        try (SinkFanOut d = new SinkFanOut(List.of(new SinkFanOut.Target(flaky, oneByOne("flaky"))))) {
            deliver(d, acks, 1, "t", 1);
            deliver(d, acks, 2, "t", 1);
            await(() -> acks.acknowledged.size() == 2);
            assertThat(acks.acknowledged).containsExactly(1L, 2L);
            assertThat(flaky.attempts.subList(0, 4)).as("the first event, four times").containsOnly("0/3E8:0");
            assertThat(d.metrics().get(0).retried()).isEqualTo(3);
            assertThat(d.metrics().get(0).delivered()).isEqualTo(2);
            assertThat(acks.failure).isNull();
        }
    }

    @Test
    void a_sink_that_gives_up_fails_the_pipeline_with_what_happened_and_acknowledges_nothing_after() throws Exception {
        FlakySink down = new FlakySink(Integer.MAX_VALUE);
        Acks acks = new Acks();
        SinkSettings threeTries = oneByOne("orders-hook")
                .withRetry(new RetryPolicy(3, Duration.ZERO, Duration.ofMillis(1), Duration.ofMillis(2), RetryPolicy.GiveUp.STOP), null);
        try (SinkFanOut d = new SinkFanOut(List.of(new SinkFanOut.Target(down, threeTries)))) {
            deliver(d, acks, 1, "t", 1);
            await(() -> acks.failure != null);
            assertThat(acks.failure).isInstanceOf(SinkFailedException.class)
                    .hasMessageContaining("sink orders-hook could not deliver event 0/3E8:0 after 3 attempts")
                    .hasMessageContaining("server said 503")
                    .hasMessageContaining("start Tidings again");
            assertThat(acks.acknowledged).isEmpty();
            assertThat(down.attempts).hasSize(3);
        }
    }

    @Test
    void a_dead_lettered_batch_is_written_aside_and_the_stream_goes_on() throws Exception {
        FlakySink down = new FlakySink(2);
        Acks acks = new Acks();
        List<String> deadLetters = new ArrayList<>();
        SinkSettings settings = oneByOne("hook").withRetry(
                new RetryPolicy(2, Duration.ZERO, Duration.ofMillis(1), Duration.ofMillis(2), RetryPolicy.GiveUp.DEAD_LETTER),
                (sink, batch, cause) -> batch.forEach(m -> deadLetters.add(sink + " " + m.id() + " " + cause.getMessage())));
        try (SinkFanOut d = new SinkFanOut(List.of(new SinkFanOut.Target(down, settings)))) {
            deliver(d, acks, 1, "t", 1);
            deliver(d, acks, 2, "t", 1);
            await(() -> acks.acknowledged.size() == 2);
            assertThat(deadLetters).containsExactly("hook 0/3E8:0 server said 503");
            assertThat(d.metrics().get(0).failed()).isEqualTo(1);
            assertThat(d.metrics().get(0).delivered()).isEqualTo(1);
        }
    }

    @Test
    void a_sink_that_does_not_confirm_blocks_delivery_once_its_queue_is_full() throws Exception {
        ManualSink stuck = new ManualSink();
        SinkSettings small = oneByOne("stuck").withWindow(1, 1, 3);
        AtomicInteger delivered = new AtomicInteger();
        try (SinkFanOut d = new SinkFanOut(List.of(new SinkFanOut.Target(stuck, small)))) {
            Thread producer = Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 1; i <= 100; i++) {
                        deliver(d, new Acks(), i, "t", 1);
                        delivered.incrementAndGet();
                    }
                } catch (Exception e) {
                    // interrupted at the end of the test
                }
            });
            // the producer waits (timed, in a loop) only while the sink's queue is full
            // (the sink's worker takes the first message into flight on its own thread, possibly after the producer waits)
            Await.until(Duration.ofSeconds(10), "the producer to wait for room with one message in flight",
                    () -> producer.getState() == Thread.State.TIMED_WAITING && d.metrics().get(0).inFlight() == 1);
            assertThat(delivered.get()).as("one in flight, three queued, then blocked").isLessThan(5);
            assertThat(d.metrics().get(0).inFlight()).isEqualTo(1);
            producer.interrupt();
            producer.join();
        }
    }

    static void await(Await.Condition condition) {
        Await.until(Duration.ofSeconds(10), "the sinks and acknowledgements to get there", condition);
    }
}
