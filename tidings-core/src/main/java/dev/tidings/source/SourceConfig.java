package dev.tidings.source;

import dev.tidings.base.TableName;

import java.time.Duration;
import java.util.List;

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
 */
public record SourceConfig(DatabaseUrl database, String slot, String publication, List<TableName> tables,
                           boolean temporarySlot, Duration slotBusyTimeout, Duration maxBackoff) {

    public SourceConfig {
        tables = List.copyOf(tables);
    }

    public static SourceConfig of(DatabaseUrl database) {
        return new SourceConfig(database, "tidings", "tidings", List.of(), false, Duration.ofSeconds(30),
                Duration.ofSeconds(30));
    }

    public SourceConfig withSlot(String slot, boolean temporary) {
        return new SourceConfig(database, slot, publication, tables, temporary, slotBusyTimeout, maxBackoff);
    }

    public SourceConfig withPublication(String publication, List<TableName> tables) {
        return new SourceConfig(database, slot, publication, tables, temporarySlot, slotBusyTimeout, maxBackoff);
    }

    public SourceConfig withTimeouts(Duration slotBusyTimeout, Duration maxBackoff) {
        return new SourceConfig(database, slot, publication, tables, temporarySlot, slotBusyTimeout, maxBackoff);
    }
}
