package dev.tidings.server.log;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;

/**
 * An event's position in the change log, the parsed form of {@link ChangeEvent#id()}: the commit
 * LSN and the index in the transaction. Ordered as the stream delivers: by commit LSN, then index;
 * a non-transactional message ({@code <LSN>:m}, index {@link #MESSAGE}) sorts before a transaction
 * whose commit LSN is the same, as it is decoded before that transaction's commit.
 *
 * @param lsn   the commit LSN (for a non-transactional message: its own LSN)
 * @param index the index in the transaction, or {@link #MESSAGE}
 */
public record EventId(long lsn, int index) implements Comparable<EventId> {
    /** The index of a non-transactional logical message. */
    public static final int MESSAGE = -1;

    public static EventId of(ChangeEvent event) {
        return new EventId(event.tx().commitLsn().value(), event.standaloneMessage() ? MESSAGE : event.index());
    }

    /** Parses {@code 0/1A2B3C4:2} or {@code 0/1A2B3C4:m}; fails with what an id looks like. */
    public static EventId parse(String text) {
        int colon = text == null ? -1 : text.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("'" + text + "' is not an event id; an id looks like 0/1A2B3C4:2 "
                    + "(commit LSN, index in the transaction), as in the id of every event");
        }
        try {
            Lsn lsn = Lsn.parse(text.substring(0, colon));
            String index = text.substring(colon + 1);
            return new EventId(lsn.value(), index.equals("m") ? MESSAGE : Integer.parseInt(index));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("'" + text + "' is not an event id; an id looks like 0/1A2B3C4:2 "
                    + "(commit LSN, index in the transaction), as in the id of every event");
        }
    }

    @Override
    public int compareTo(EventId o) {
        int c = Long.compareUnsigned(lsn, o.lsn);
        return c != 0 ? c : Integer.compare(index, o.index);
    }

    public boolean isAfter(EventId o) {
        return compareTo(o) > 0;
    }

    @Override
    public String toString() {
        return Lsn.of(lsn) + ":" + (index == MESSAGE ? "m" : Integer.toString(index));
    }
}
