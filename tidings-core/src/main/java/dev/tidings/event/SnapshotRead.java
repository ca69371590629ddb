package dev.tidings.event;

/**
 * Where a {@link Op#READ} event comes from: the backfill that read the row, the consumer it is for
 * ({@code ""}: every consumer of the stream; else e.g. a sink's name), the chunk (counted from 0 per
 * backfill and table), and whether it is the backfill's last row of that table.
 */
public record SnapshotRead(String backfill, String consumer, long chunk, boolean last) {

    /** Whether a consumer named {@code name} gets this row. */
    public boolean isFor(String name) {
        return consumer.isEmpty() || consumer.equals(name);
    }
}
