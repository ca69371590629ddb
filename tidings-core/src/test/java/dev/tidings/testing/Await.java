package dev.tidings.testing;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The one way tests wait for something to happen: poll a condition every 10 ms until it holds, or
 * fail after a timeout with a message saying what was awaited and what was last seen. Not for
 * proving that something did <em>not</em> happen: for that, make a later thing happen that must,
 * and assert on what came before it.
 */
public final class Await {
    private static final long POLL_NANOS = Duration.ofMillis(10).toNanos();

    /** A condition that may throw (a query, a request); an exception fails the wait at once. */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    /** A value to look at (a query, a request); an exception fails the wait at once. */
    @FunctionalInterface
    public interface Probe<T> {
        T get() throws Exception;
    }

    private Await() {}

    /** Waits until {@code condition} holds; fails with {@code what} after {@code timeout}. */
    public static void until(Duration timeout, String what, Condition condition) {
        until(timeout, () -> what, condition);
    }

    /** As {@link #until(Duration, String, Condition)}, the message made when it fails (to show the last state). */
    public static void until(Duration timeout, Supplier<String> what, Condition condition) {
        value(timeout, what, () -> condition.holds(), Boolean::booleanValue);
    }

    /** Waits until {@code probe} gives a value {@code done} accepts, and returns it. */
    public static <T> T value(Duration timeout, String what, Probe<T> probe, Predicate<? super T> done) {
        return value(timeout, () -> what, probe, done);
    }

    public static <T> T value(Duration timeout, Supplier<String> what, Probe<T> probe, Predicate<? super T> done) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            T value;
            try {
                value = probe.get();
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Exception e) {
                throw new AssertionError("while waiting for " + what.get() + ": " + e, e);
            }
            if (done.test(value)) {
                return value;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("waited " + timeout.toMillis() + " ms for " + what.get() + "; last seen: " + value);
            }
            LockSupport.parkNanos(POLL_NANOS);
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + what.get());
            }
        }
    }
}
