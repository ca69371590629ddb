package dev.tidings.server.live;

import dev.tidings.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The outbox and its writer as a unit, with a transport that records writes and completes them
 * when the test says so (the real sockets are in SlowClientTest, RealtimeClientsTest and SseTest).
 */
@Tag("unit")
class OutboxTest {
    private final OutboxWriter writer = new OutboxWriter();
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        writer.close();
        timers.shutdownNow();
    }

    /** Records each write; holds its completion until {@link #complete} unless inline. */
    static final class RecordingTransport implements Outbox.Transport {
        final List<List<String>> writes = new CopyOnWriteArrayList<>();
        final List<Runnable> pending = new CopyOnWriteArrayList<>();
        final List<String> closes = new CopyOnWriteArrayList<>();
        final List<String> threads = new CopyOnWriteArrayList<>();
        volatile boolean inline;
        volatile boolean aborted;

        @Override
        public void write(List<byte[]> messages, Runnable done, Consumer<Throwable> failed) {
            threads.add(Thread.currentThread().getName());
            List<String> texts = new ArrayList<>();
            for (byte[] m : messages) {
                texts.add(new String(m, StandardCharsets.UTF_8));
            }
            writes.add(texts);
            if (inline) {
                done.run();
            } else {
                pending.add(done);
            }
        }

        void complete() {
            Runnable done = pending.remove(0);
            done.run();
        }

        List<String> written() {
            return writes.stream().flatMap(List::stream).toList();
        }

        @Override
        public void close(String reason) {
            closes.add(reason);
        }

        @Override
        public void abort() {
            aborted = true;
        }
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void messagesQueuedWhileAWriteIsInFlightGoOutTogetherInTheNextWriteInOrder() {
        RecordingTransport t = new RecordingTransport();
        Outbox box = new Outbox(t, 1 << 20, 1000, writer, timers);
        box.offer(text("m0"), null, null);
        await(() -> t.writes.size() == 1);
        for (int i = 1; i <= 50; i++) {
            box.offer(text("m" + i), null, null);
        }
        assertThat(t.writes).hasSize(1);
        t.complete();
        await(() -> t.writes.size() == 2);
        assertThat(t.writes.get(1)).hasSize(50);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i <= 50; i++) {
            expected.add("m" + i);
        }
        assertThat(t.written()).isEqualTo(expected);
        assertThat(box.queuedBytes()).isZero();
    }

    @Test
    void aReplyOnAnIdleConnectionIsWrittenByTheThreadThatRepliesWithoutTheWriter() {
        RecordingTransport t = new RecordingTransport();
        t.inline = true;
        Outbox box = new Outbox(t, 1 << 20, 1000, writer, timers);
        assertThat(box.reply(text("pong"), null, null)).isTrue();
        assertThat(t.written()).containsExactly("pong");
        assertThat(t.threads).containsExactly(Thread.currentThread().getName());
    }

    @Test
    void aReplyWhileAWriteIsInFlightWaitsBehindWhatIsQueued() {
        RecordingTransport t = new RecordingTransport();
        Outbox box = new Outbox(t, 1 << 20, 1000, writer, timers);
        box.offer(text("m0"), null, null);
        await(() -> t.writes.size() == 1);
        box.offer(text("m1"), null, null);
        assertThat(box.reply(text("pong"), null, null)).isTrue();
        assertThat(t.writes).hasSize(1);
        t.complete();
        await(() -> t.writes.size() == 2);
        assertThat(t.written()).containsExactly("m0", "m1", "pong");
    }

    @Test
    void oneWriteCarriesAtMostTheWriteLimitAndTheRestFollows() {
        RecordingTransport t = new RecordingTransport();
        t.inline = true;
        Outbox box = new Outbox(t, 64L << 20, 100_000, writer, timers);
        String part = "x".repeat(Outbox.MAX_WRITE_BYTES * 3 / 10);
        String huge = "y".repeat(Outbox.MAX_WRITE_BYTES * 2);
        CountDownLatch hold = new CountDownLatch(1);
        // keep the writer busy so that every message below is queued before the first flush
        blocker(hold).offer(text("block"), null, null);
        for (int i = 0; i < 10; i++) {
            box.offer(text(part), null, null);
        }
        box.offer(text(huge), null, null);
        box.offer(text(part), null, null);
        hold.countDown();
        await(() -> t.written().size() == 12);
        // three parts fit in a write; the message bigger than the limit goes alone
        assertThat(t.writes).extracting(List::size).containsExactly(3, 3, 3, 1, 1, 1);
        assertThat(t.writes.get(4)).containsExactly(huge);
    }

    @Test
    void aConnectionOverItsLimitGetsOnlyTheFarewellAndIsClosedAfterIt() {
        RecordingTransport t = new RecordingTransport();
        Outbox box = new Outbox(t, 1 << 20, 3, writer, timers);
        box.offer(text("first"), null, null);
        await(() -> t.writes.size() == 1);
        assertThat(box.offer(text("a"), null, null)).isTrue();
        assertThat(box.offer(text("b"), null, null)).isTrue();
        assertThat(box.offer(text("c"), null, null)).isTrue();
        assertThat(box.offer(text("d"), () -> text("bye"), "too slow")).isFalse();
        assertThat(box.overflowed()).isTrue();
        assertThat(box.offer(text("e"), null, null)).isFalse();
        t.complete();
        await(() -> t.writes.size() == 2);
        t.complete();
        await(() -> !t.closes.isEmpty());
        assertThat(t.written()).containsExactly("first", "bye");
        assertThat(t.closes).containsExactly("too slow");
    }

    @Test
    void aClientThatNeverCompletesItsWriteIsAbortedAfterTheGracePeriod() {
        RecordingTransport t = new RecordingTransport();
        Outbox box = new Outbox(t, 10, 100, writer, timers);
        box.offer(text("12345678"), null, null);
        await(() -> t.writes.size() == 1);
        assertThat(box.offer(text("12345678"), null, "too slow")).isTrue();
        assertThat(box.offer(text("12345678"), null, "too slow")).isFalse();
        await(() -> t.aborted);
    }

    @Test
    void aSlowConnectionDoesNotHoldUpTheOthers() {
        RecordingTransport slow = new RecordingTransport();
        RecordingTransport fast = new RecordingTransport();
        fast.inline = true;
        Outbox slowBox = new Outbox(slow, 1 << 20, 1000, writer, timers);
        Outbox fastBox = new Outbox(fast, 1 << 20, 1000, writer, timers);
        slowBox.offer(text("first"), null, null);
        await(() -> slow.writes.size() == 1);
        for (int i = 0; i < 100; i++) {
            slowBox.offer(text("s" + i), null, null);
            fastBox.offer(text("f" + i), null, null);
        }
        await(() -> fast.written().size() == 100);
        assertThat(slow.writes).hasSize(1);
        assertThat(slowBox.queuedBytes()).isEqualTo(290);
    }

    @Test
    void connectionsSpreadOverSeveralWriterThreadsEachGetEverythingInOrder() throws Exception {
        try (OutboxWriter lanes = new OutboxWriter(3)) {
            List<RecordingTransport> transports = new ArrayList<>();
            List<Outbox> boxes = new ArrayList<>();
            for (int c = 0; c < 30; c++) {
                RecordingTransport t = new RecordingTransport();
                t.inline = true;
                transports.add(t);
                boxes.add(new Outbox(t, 1 << 20, 10_000, lanes, timers));
            }
            Thread[] producers = new Thread[2];
            for (int p = 0; p < producers.length; p++) {
                int half = p;
                producers[p] = Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < 2_000; i++) {
                        for (int c = half; c < boxes.size(); c += 2) {
                            boxes.get(c).offer(text(Integer.toString(i)), null, null);
                        }
                    }
                });
            }
            for (Thread t : producers) {
                t.join();
            }
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 2_000; i++) {
                expected.add(Integer.toString(i));
            }
            for (RecordingTransport t : transports) {
                await(() -> t.written().size() == 2_000);
                assertThat(t.written()).isEqualTo(expected);
            }
        }
    }

    @Test
    void aFailedWriteDropsTheConnectionAndWhatItHadQueued() {
        Outbox[] box = new Outbox[1];
        boolean[] aborted = new boolean[1];
        List<Consumer<Throwable>> failures = new CopyOnWriteArrayList<>();
        box[0] = new Outbox(new Outbox.Transport() {
            @Override
            public void write(List<byte[]> messages, Runnable done, Consumer<Throwable> failed) {
                failures.add(failed);
            }

            @Override
            public void close(String reason) {
            }

            @Override
            public void abort() {
                aborted[0] = true;
            }
        }, 1 << 20, 1000, writer, timers);
        box[0].offer(text("one"), null, null);
        await(() -> failures.size() == 1);
        box[0].offer(text("two"), null, null);
        failures.get(0).accept(new java.io.IOException("broken pipe"));
        assertThat(aborted[0]).isTrue();
        assertThat(box[0].queuedBytes()).isZero();
        assertThat(box[0].offer(text("three"), null, null)).isFalse();
    }

    /** An outbox whose flush waits for {@code hold}: occupies the writer thread. */
    private Outbox blocker(CountDownLatch hold) {
        return new Outbox(new Outbox.Transport() {
            @Override
            public void write(List<byte[]> messages, Runnable done, Consumer<Throwable> failed) {
                try {
                    hold.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }

            @Override
            public void close(String reason) {
            }

            @Override
            public void abort() {
            }
        }, 1 << 20, 10, writer, timers);
    }

    private static void await(Await.Condition condition) {
        Await.until(Duration.ofSeconds(10), "the outbox to get there", condition);
    }
}
