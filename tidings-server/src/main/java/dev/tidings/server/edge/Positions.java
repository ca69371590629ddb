package dev.tidings.server.edge;

import dev.tidings.event.ChangeEvent;
import dev.tidings.server.log.EventId;
import dev.tidings.server.log.LogReader;

import java.util.ArrayList;
import java.util.List;

/**
 * Resuming from a broker by position (a stream sequence, a partition offset): the event ids grow
 * with the positions, so a binary search over {@code [first, end)} finds the first event after an
 * id in about log2(n) reads, and a page is read from there. Positions may have holes (deleted
 * messages, transaction markers): {@link Messages#next} returns the first message at or after one.
 * A broker without deduplication across producers (Kafka) holds the events a new leader sent
 * again twice, a short run of older ids: a page skips any id not after the one before it.
 *
 * @param <M> a message of the broker's client
 */
final class Positions {
    /**
     * The most messages one fetch from the broker returns. A read returns up to its {@code max}
     * whatever this is: a replay's last read asks for everything up to the end, and a shorter
     * answer would leave a gap before live delivery.
     */
    static final int PAGE = 512;

    private Positions() {}

    /** How to read one broker's messages. */
    interface Messages<M> {
        /** The first message at or after {@code position}, or null when there is none. */
        M next(long position) throws Exception;

        long position(M message);

        /** The event id the leader's sink put in a header of the message. */
        EventId id(M message);

        ChangeEvent event(M message);
    }

    /** Like {@link LogReader#readAfter}, over the positions {@code [first, end)} the broker retains. */
    static <M> LogReader.Read readAfter(long first, long end, EventId after, int max, Messages<M> messages) throws Exception {
        M oldest = first < end ? messages.next(first) : null;
        if (oldest == null) {
            return new LogReader.Read.Expired(null);
        }
        EventId firstId = messages.id(oldest);
        if (after != null && firstId.isAfter(after) && !follows(firstId, after)) {
            return new LogReader.Read.Expired(firstId);
        }
        long lo = first;
        long hi = end;
        while (after != null && lo < hi) { // the smallest position whose id is after `after`
            long mid = (lo + hi) >>> 1;
            M m = messages.next(mid);
            if (m == null || messages.id(m).isAfter(after)) {
                hi = mid;
            } else {
                lo = messages.position(m) + 1;
            }
        }
        return readFrom(lo, end, after, max, messages);
    }

    /**
     * A page from {@code from}, the position of the first event after {@code after} (found by
     * {@link #readAfter}'s search or known otherwise), up to {@code end}.
     */
    static <M> LogReader.Read readFrom(long from, long end, EventId after, int max, Messages<M> messages) throws Exception {
        List<ChangeEvent> found = new ArrayList<>();
        EventId last = after;
        for (long position = from; found.size() < max && position < end; ) {
            M m = messages.next(position);
            if (m == null) {
                break;
            }
            EventId id = messages.id(m);
            if (last == null || id.isAfter(last)) { // else a copy a new leader sent again
                found.add(messages.event(m));
                last = id;
            }
            position = messages.position(m) + 1;
        }
        return new LogReader.Read.Events(found);
    }

    /**
     * Whether {@code next} is the event right after {@code previous}: the next one of the same
     * transaction. Otherwise what lay between them may have been dropped, and the reader starts over.
     */
    private static boolean follows(EventId next, EventId previous) {
        return next.lsn() == previous.lsn() && previous.index() != EventId.MESSAGE && next.index() == previous.index() + 1;
    }
}
