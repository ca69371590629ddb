package dev.tidings.testing;

import dev.tidings.ChangeListener;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Transaction;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/** A listener that keeps everything it receives, for tests to wait on and inspect. */
public final class EventCollector implements ChangeListener {
    public final List<ChangeEvent> events = new CopyOnWriteArrayList<>();
    public final List<Transaction> transactions = new CopyOnWriteArrayList<>();
    private volatile Predicate<ChangeEvent> failOn = e -> false;

    @Override
    public void onEvent(ChangeEvent event) {
        if (failOn.test(event)) {
            throw new IllegalStateException("listener refuses " + event.id());
        }
        events.add(event);
    }

    @Override
    public void onTransaction(Transaction tx) {
        transactions.add(tx);
    }

    /** Makes {@link #onEvent} throw for matching events, to test failure handling. */
    public void failOn(Predicate<ChangeEvent> predicate) {
        failOn = predicate;
    }

    /** Waits until {@code n} events arrived and returns the first {@code n}; fails after the timeout. */
    public List<ChangeEvent> await(int n) {
        return await(n, Duration.ofSeconds(30));
    }

    public List<ChangeEvent> await(int n, Duration timeout) {
        Await.until(timeout, () -> n + " events, got " + events.size() + ": " + summary(), () -> events.size() >= n);
        return new ArrayList<>(events.subList(0, n));
    }

    /** Waits until {@code n} transactions were acknowledged. */
    public void awaitTransactions(int n) {
        Await.until(Duration.ofSeconds(30), () -> n + " transactions, got " + transactions.size(),
                () -> transactions.size() >= n);
    }

    public String summary() {
        return events.stream().map(e -> e.op() + " " + e.schema() + "." + e.table()).toList().toString();
    }

    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
