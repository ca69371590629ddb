package dev.tidings.source;

import dev.tidings.base.TableName;

import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * Where to stream from and how.
 *
 * @param database        the database
 * @param slot            the replication slot (persistent unless {@code temporarySlot})
 * @param publication     the publication (created when missing)
 * @param tables          tables to publish when the publication is created; empty = all tables
 * @param temporarySlot   a slot that lives only as long as the connection (nothing is resumed)
 * @param slotBusyTimeout how long to keep retrying while another process streams from the slot
 * @param maxBackoff      the longest wait between reconnection attempts
 * @param skipOrigins     replication origins whose transactions are not delivered (their changes
 *                        are skipped, their position confirmed), e.g. the origin another replication
 *                        tool writes under, to avoid loops with bidirectional replication; {@code *}
 *                        skips every transaction that has an origin
 * @param snapshot        snapshots and backfills on this stream (see {@link Snapshot}), or null for none
 * @param leadership      when several processes share the slot: stream only while leading (see
 *                        {@link Leadership}); null when this process is the slot's only reader
 * @param failoverSlot    create a missing slot with {@code failover} (PostgreSQL 17+), so that it is
 *                        synchronized to physical standbys that have {@code sync_replication_slots}
 */
public record SourceConfig(DatabaseUrl database, String slot, String publication, List<TableName> tables,
                           boolean temporarySlot, Duration slotBusyTimeout, Duration maxBackoff,
                           Set<String> skipOrigins, Snapshot snapshot, Leadership leadership,
                           boolean failoverSlot) {

    /** The {@link #skipOrigins} entry that matches every origin. */
    public static final String ANY_ORIGIN = "*";

    /**
     * Snapshots and backfills on this stream: the current rows of {@code tables} (or every table
     * the stream covers) as {@code read} events, merged into the live changes with no gap.
     *
     * @param chunkRows        rows read per chunk (memory is bounded by two chunks)
     * @param maxRowsPerSecond the most rows read per second; 0 for no limit
     * @param initialFor       the consumers that get an initial snapshot, once per slot: {@code ""}
     *                         for the whole stream, or consumer (sink) names; empty: none, the
     *                         stream only runs backfills asked for later
     */
    public record Snapshot(int chunkRows, int maxRowsPerSecond, List<String> initialFor) {
        public static final Snapshot DEFAULT = new Snapshot(4096, 0);

        public Snapshot {
            if (chunkRows < 1) {
                throw new IllegalArgumentException("the snapshot chunk must be at least 1 row, not " + chunkRows);
            }
            if (maxRowsPerSecond < 0) {
                throw new IllegalArgumentException("snapshot rows per second must be 0 (no limit) or more, not "
                        + maxRowsPerSecond);
            }
            initialFor = List.copyOf(initialFor);
        }

        /** An initial snapshot for the whole stream. */
        public Snapshot(int chunkRows, int maxRowsPerSecond) {
            this(chunkRows, maxRowsPerSecond, List.of(""));
        }
    }

    public SourceConfig {
        tables = List.copyOf(tables);
        skipOrigins = Set.copyOf(skipOrigins);
    }

    public static SourceConfig of(DatabaseUrl database) {
        return new SourceConfig(database, "tidings", "tidings", List.of(), false, Duration.ofSeconds(30),
                Duration.ofSeconds(30), Set.of(), null, null, false);
    }

    public SourceConfig withSlot(String slot, boolean temporary) {
        return new SourceConfig(database, slot, publication, tables, temporary, slotBusyTimeout, maxBackoff, skipOrigins,
                snapshot, leadership, failoverSlot);
    }

    public SourceConfig withPublication(String publication, List<TableName> tables) {
        return new SourceConfig(database, slot, publication, tables, temporarySlot, slotBusyTimeout, maxBackoff,
                skipOrigins, snapshot, leadership, failoverSlot);
    }

    public SourceConfig withTimeouts(Duration slotBusyTimeout, Duration maxBackoff) {
        return new SourceConfig(database, slot, publication, tables, temporarySlot, slotBusyTimeout, maxBackoff,
                skipOrigins, snapshot, leadership, failoverSlot);
    }

    /** Sends the current rows of the streamed tables first (once per slot; resumed after a crash). */
    public SourceConfig withSnapshot(Snapshot snapshot) {
        return new SourceConfig(database, slot, publication, tables, temporarySlot, slotBusyTimeout, maxBackoff,
                skipOrigins, snapshot, leadership, failoverSlot);
    }

    /** Skips the changes of transactions replayed from these replication origins ({@code *}: from any). */
    public SourceConfig withSkipOrigins(Set<String> skipOrigins) {
        return new SourceConfig(database, slot, publication, tables, temporarySlot, slotBusyTimeout, maxBackoff,
                skipOrigins, snapshot, leadership, failoverSlot);
    }

    /** Streams only while this process leads the slot among several that stand by for it. */
    public SourceConfig withLeadership(Leadership leadership) {
        return new SourceConfig(database, slot, publication, tables, temporarySlot, slotBusyTimeout, maxBackoff,
                skipOrigins, snapshot, leadership, failoverSlot);
    }

    /** Creates a missing slot as a failover slot (PostgreSQL 17+). */
    public SourceConfig withFailoverSlot(boolean failoverSlot) {
        return new SourceConfig(database, slot, publication, tables, temporarySlot, slotBusyTimeout, maxBackoff,
                skipOrigins, snapshot, leadership, failoverSlot);
    }

    /** True when changes of a transaction with this origin (null: none) are not to be delivered. */
    public boolean skipsOrigin(String origin) {
        return origin != null && !skipOrigins.isEmpty() && (skipOrigins.contains(origin) || skipOrigins.contains(ANY_ORIGIN));
    }
}
