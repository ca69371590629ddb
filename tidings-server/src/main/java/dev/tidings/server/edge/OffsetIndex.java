package dev.tidings.server.edge;

import dev.tidings.server.log.EventId;

/**
 * The broker positions of the newest events an edge consumed live, by event id: a resume whose id
 * falls among them starts reading at the right position at once, instead of a binary search of
 * about log2(n) reads from the broker. Ids and positions both grow, so the index is two rings
 * searched by bisection; it keeps the last {@code capacity} events (about 40 bytes each).
 *
 * <p>Written by the consuming thread, read by the threads that serve resumes.
 */
final class OffsetIndex {
    private final long[] lsns;
    private final int[] indexes;
    private final long[] positions;
    /** Entries held, and where the next goes. Guarded by this. */
    private int size;
    private int next;

    OffsetIndex(int capacity) {
        lsns = new long[capacity];
        indexes = new int[capacity];
        positions = new long[capacity];
    }

    /** Records that {@code id}, newer than every id added before, is at {@code position}. */
    synchronized void add(EventId id, long position) {
        lsns[next] = id.lsn();
        indexes[next] = id.index();
        positions[next] = position;
        next = (next + 1) % lsns.length;
        size = Math.min(size + 1, lsns.length);
    }

    /**
     * The position of the first indexed event after {@code after}, or the position after the
     * newest when none is; -1 when the index does not hold {@code after} (it is older than the
     * oldest indexed event, or nothing is indexed), and the broker must be searched.
     */
    synchronized long positionAfter(EventId after) {
        if (size == 0) {
            return -1;
        }
        int oldest = (next - size + lsns.length) % lsns.length;
        if (at(0, oldest).isAfter(after)) {
            return -1;
        }
        int lo = 0;
        int hi = size; // the smallest entry whose id is after `after`
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (at(mid, oldest).isAfter(after)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo < size ? positions[(oldest + lo) % lsns.length] : positions[(oldest + size - 1) % lsns.length] + 1;
    }

    private EventId at(int i, int oldest) {
        int slot = (oldest + i) % lsns.length;
        return new EventId(lsns[slot], indexes[slot]);
    }
}
