package dev.tidings.server.consumers;

import dev.tidings.event.EventFormat;
import dev.tidings.pipeline.Delivery.Acknowledgement;
import dev.tidings.server.log.ChangeLog;
import dev.tidings.server.log.EventId;
import dev.tidings.server.log.GroupCommit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Consumer groups over the change log: named readers that workers pull events from, each event
 * acknowledged once per group ({@code /api/consumers}, docs/consumers.md).
 *
 * <p>Storage: the definitions ({@code consumer.groups}), cursors ({@code consumer.cursors}) and
 * pending events of every group live in maps of the change log's own file, so the log's group
 * commit makes them durable with the events, and a version on disk never has a cursor past an
 * event it lacks. An acknowledgement, and a receive that hands out events, is answered only
 * after the next group commit ({@link GroupCommit#commit}): acknowledged means acknowledged
 * across a kill -9, a delivery number is never reused, and concurrent requests share one fsync.
 *
 * <p>The {@code tidings-consumers} thread reads new events into the groups when the stream
 * commits a transaction, expires visibility timeouts, answers long polls that time out, and
 * settles the durable groups' part in the slot's confirmation: a transaction is acknowledged once
 * every durable group is done with everything up to its last event ({@link #commit}). The log
 * keeps every event a durable group still needs ({@link GroupCommit#keepFrom}); other groups read
 * within the retention and are told to reset when they fall behind it.
 */
public final class ConsumerGroups implements Groups, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConsumerGroups.class);
    private static final long TICK_MILLIS = 50;
    /** Keeps every event: for a durable group that has not read anything yet. */
    private static final EventId EVERYTHING = new EventId(0, EventId.MESSAGE);

    private final GroupCommit commits;
    private final ChangeLog changeLog;
    private final ConcurrentMap<String, String> definitions;
    private final ConcurrentMap<String, String> cursors;
    private final Map<String, Group> groups = new ConcurrentHashMap<>();
    private final ArrayDeque<Transaction> transactions = new ArrayDeque<>();
    private final List<Waiter> waiters = new ArrayList<>();
    private final Object signal = new Object();
    private final Thread thread;
    private boolean signalled;
    private volatile boolean closed;

    private record Transaction(EventId through, Acknowledgement ack) {}

    private record Waiter(Group group, int max, long deadline, CompletableFuture<Receipt> answer) {}

    /** Opens the groups stored in the log and starts their thread. */
    public ConsumerGroups(GroupCommit commits) {
        this.commits = commits;
        this.changeLog = commits.changeLog();
        this.definitions = changeLog.textMap("consumer.groups");
        this.cursors = changeLog.textMap("consumer.cursors");
        for (Map.Entry<String, String> d : definitions.entrySet()) {
            GroupSpec spec = GroupSpec.parse(d.getValue());
            String cursor = cursors.get(spec.name());
            Group g = new Group(spec, cursor == null || cursor.isEmpty() ? null : EventId.parse(cursor),
                    changeLog.idMap(pendingMap(spec.name())), cursors);
            g.restore(changeLog);
            groups.put(spec.name(), g);
        }
        commits.keepFrom(this::keepFrom);
        thread = Thread.ofPlatform().name("tidings-consumers").daemon(true).unstarted(this::run);
        thread.start();
    }

    /**
     * Creates a group reading from now on ({@code fromOldest}: from the oldest event the log holds).
     * An existing group of the same definition is left as it is.
     *
     * @return true when created
     * @throws IllegalStateException when a group of that name exists with another definition
     */
    @Override
    public boolean create(GroupSpec spec, boolean fromOldest) {
        synchronized (groups) {
            Group existing = groups.get(spec.name());
            if (existing != null) {
                if (existing.spec.equals(spec)) {
                    return false;
                }
                throw new IllegalStateException("a consumer group " + spec.name() + " exists with another definition; "
                        + "DELETE /api/consumers/" + spec.name() + " first, or pick another name");
            }
            EventId start = fromOldest ? null : changeLog.last();
            cursors.put(spec.name(), start == null ? "" : start.toString());
            definitions.put(spec.name(), spec.json().toString());
            groups.put(spec.name(), new Group(spec, start, changeLog.idMap(pendingMap(spec.name())), cursors));
        }
        wake();
        return true;
    }

    /** Deletes a group and its state; its long polls end with {@link UnknownGroup}. */
    @Override
    public void delete(String name) {
        synchronized (groups) {
            if (groups.remove(name) == null) {
                throw new UnknownGroup(name);
            }
            definitions.remove(name);
            cursors.remove(name);
            changeLog.removeMap(pendingMap(name));
        }
        wake(); // a durable group no longer holds transactions back
    }

    @Override
    public List<GroupStatus> list() {
        long now = System.currentTimeMillis();
        return groups.values().stream().map(g -> g.status(now))
                .sorted(Comparator.comparing(s -> s.spec().name())).toList();
    }

    @Override
    public GroupStatus status(String name) {
        return group(name).status(System.currentTimeMillis());
    }

    /**
     * Up to {@code max} events, each now with the caller until the group's visibility timeout;
     * when none are ready, waits up to {@code wait} for some (a long poll).
     */
    @Override
    public CompletableFuture<Receipt> receive(String name, int max, Duration wait) {
        Group g = group(name);
        g.fill(changeLog);
        if (g.behind() != null) {
            return CompletableFuture.completedFuture(new Receipt.Reset(g.behind().oldest()));
        }
        long now = System.nanoTime();
        List<Delivery> taken = g.take(max, now);
        if (!taken.isEmpty() || wait.isZero()) {
            CompletableFuture<Receipt> answer = new CompletableFuture<>();
            answerDurably(answer, new Receipt.Events(taken, EventFormat.named(g.spec.format())));
            return answer;
        }
        CompletableFuture<Receipt> answer = new CompletableFuture<>();
        synchronized (waiters) {
            waiters.add(new Waiter(g, max, now + wait.toNanos(), answer));
        }
        wake(); // an event may have become ready between take and now
        return answer;
    }

    /** Acknowledges; the answer completes once the acknowledgements are durable. */
    @Override
    public CompletableFuture<Answer> ack(String name, List<String> ackIds) {
        List<AckId> ids = parse(ackIds);
        List<String> refused = group(name).ack(ids);
        CompletableFuture<Answer> answer = new CompletableFuture<>();
        answerDurably(answer, new Answer(ids.size() - refused.size(), refused));
        wake(); // rows freed, room for more events, durable transactions to settle
        return answer;
    }

    /**
     * Completes {@code future} with {@code value} after the next group commit of the log's file:
     * an acknowledgement is not lost once answered, and a delivery number is never handed out
     * twice (after a kill -9 the next delivery of an event counts on from what its worker got).
     */
    private <T> void answerDurably(CompletableFuture<? super T> future, T value) {
        if (value instanceof Receipt.Events events && events.deliveries().isEmpty()) {
            future.complete(value);
            return;
        }
        commits.commit(new Acknowledgement() {
            @Override
            public void acknowledge() {
                future.complete(value);
            }

            @Override
            public void fail(Exception cause) {
                future.completeExceptionally(cause);
            }
        });
    }

    /** Hands events back to the group: again at once, or after {@code delay}. */
    @Override
    public Answer nack(String name, List<String> ackIds, Duration delay) {
        List<AckId> ids = parse(ackIds);
        List<String> refused = group(name).nack(ids, delay.toNanos(), System.nanoTime());
        wake();
        return new Answer(ids.size() - refused.size(), refused);
    }

    /** Moves a group to the oldest event the log holds, or ({@code latest}) to its newest; what it had pending stays pending. */
    @Override
    public void reset(String name, boolean latest) {
        group(name).reset(latest ? changeLog.last() : null);
        wake();
    }

    /**
     * The durable groups' part in the acknowledgement rule, on the delivery thread after a
     * transaction's events were appended to the log: acknowledges once every durable group is
     * done with them.
     */
    public void commit(Acknowledgement ack) {
        synchronized (transactions) {
            transactions.add(new Transaction(changeLog.last(), ack));
        }
        wake();
    }

    private Group group(String name) {
        Group g = groups.get(name);
        if (g == null) {
            throw new UnknownGroup(name);
        }
        return g;
    }

    private static List<AckId> parse(List<String> ackIds) {
        return ackIds.stream().map(AckId::parse).toList();
    }

    private static String pendingMap(String name) {
        return "consumer.pending." + name;
    }

    /** The oldest event a durable group still needs (null: none does). */
    private EventId keepFrom() {
        EventId keep = null;
        for (Group g : groups.values()) {
            if (g.spec.durable()) {
                EventId k = g.keepFrom();
                if (k == null) {
                    return EVERYTHING;
                }
                keep = keep == null || keep.isAfter(k) ? k : keep;
            }
        }
        return keep;
    }

    private void wake() {
        synchronized (signal) {
            signalled = true;
            signal.notifyAll();
        }
    }

    private void run() {
        while (!closed) {
            synchronized (signal) {
                if (!signalled) {
                    try {
                        signal.wait(TICK_MILLIS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                signalled = false;
            }
            try {
                long now = System.nanoTime();
                for (Group g : groups.values()) {
                    g.expire(now);
                    g.fill(changeLog);
                }
                answerWaiters(now);
                settle();
            } catch (RuntimeException e) {
                log.error("consumer groups: {}", e.toString(), e);
            }
        }
    }

    /** Answers long polls that have events now, that timed out, or whose group is gone or behind. */
    private void answerWaiters(long now) {
        List<Runnable> answers = new ArrayList<>();
        synchronized (waiters) {
            for (var it = waiters.iterator(); it.hasNext(); ) {
                Waiter w = it.next();
                Group g = w.group();
                if (groups.get(g.spec.name()) != g) {
                    answers.add(() -> w.answer().completeExceptionally(new UnknownGroup(g.spec.name())));
                } else if (g.behind() != null) {
                    answers.add(() -> w.answer().complete(new Receipt.Reset(g.behind().oldest())));
                } else if (g.hasReady() || w.deadline() - now <= 0) {
                    List<Delivery> taken = g.take(w.max(), now);
                    if (taken.isEmpty() && w.deadline() - now > 0) {
                        continue; // another waiter took them
                    }
                    answers.add(() -> answerDurably(w.answer(), new Receipt.Events(taken, EventFormat.named(g.spec.format()))));
                } else {
                    continue;
                }
                it.remove();
            }
        }
        answers.forEach(Runnable::run);
    }

    /** Acknowledges, oldest first, the transactions every durable group is done with. */
    private void settle() {
        List<Acknowledgement> done = new ArrayList<>();
        synchronized (transactions) {
            while (!transactions.isEmpty() && settled(transactions.peek().through())) {
                done.add(transactions.poll().ack());
            }
        }
        done.forEach(Acknowledgement::acknowledge);
    }

    private boolean settled(EventId through) {
        if (through == null) {
            return true;
        }
        for (Group g : groups.values()) {
            if (g.spec.durable() && !g.doneThrough(through)) {
                return false;
            }
        }
        return true;
    }

    /** Stops the thread; open long polls end empty. The log is closed by its owner. */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (waiters) {
            waiters.forEach(w -> w.answer().complete(new Receipt.Events(List.of(), EventFormat.named(w.group().spec.format()))));
            waiters.clear();
        }
    }
}
