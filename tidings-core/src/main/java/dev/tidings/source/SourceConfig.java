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
 */
public record SourceConfig(DatabaseUrl database, String slot, String publication, List<TableName> tables,
                           boolean temporarySlot, Duration slotBusyTimeout, Duration maxBackoff,
                           Set<String> skipOrigins) {

    /** The {@link #skipOrigins} entry that matches every origin. */
    public static final String ANY_ORIGIN = "*";

    public SourceConfig {
        tables = List.copyOf(tables);
        skipOrigins = Set.copyOf(skipOrigins);
    }

    public static SourceConfig of(DatabaseUrl database) {
        return new SourceConfig(database, "tidings", "tidings", List.of(), false, Duration.ofSeconds(30),
                Duration.ofSeconds(30), Set.of());
    }

    public SourceConfig withSlot(String slot, boolean temporary) {
        return new SourceConfig(database, slot, publication, tables, temporary, slotBusyTimeout, maxBackoff, skipOrigins);
    }

    public SourceConfig withPublication(String publication, List<TableName> tables) {
        return new SourceConfig(database, slot, publication, tables, temporarySlot, slotBusyTimeout, maxBackoff,
                skipOrigins);
    }

    public SourceConfig withTimeouts(Duration slotBusyTimeout, Duration maxBackoff) {
        return new SourceConfig(database, slot, publication, tables, temporarySlot, slotBusyTimeout, maxBackoff,
                skipOrigins);
    }

    /** Skips the changes of transactions replayed from these replication origins ({@code *}: from any). */
    public SourceConfig withSkipOrigins(Set<String> skipOrigins) {
        return new SourceConfig(database, slot, publication, tables, temporarySlot, slotBusyTimeout, maxBackoff,
                skipOrigins);
    }

    /** True when changes of a transaction with this origin (null: none) are not to be delivered. */
    public boolean skipsOrigin(String origin) {
        return origin != null && !skipOrigins.isEmpty() && (skipOrigins.contains(origin) || skipOrigins.contains(ANY_ORIGIN));
    }
}
