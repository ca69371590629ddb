package dev.tidings.event;

/**
 * Where a {@link Op#READ} event comes from: the backfill that read the row, the chunk (counted from
 * 0 per backfill and table), and whether it is the backfill's last row of that table.
 */
public record SnapshotRead(String backfill, long chunk, boolean last) {}
