package dev.tidings.event;

/**
 * What happened to a row, or a logical decoding message; {@code READ} is a row read by a backfill
 * (a snapshot), not a change. Lower-case in JSON.
 */
public enum Op {
    INSERT, UPDATE, DELETE, TRUNCATE, MESSAGE, READ;

    private final String json = name().toLowerCase(java.util.Locale.ROOT);

    public String json() {
        return json;
    }
}
