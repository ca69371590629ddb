package dev.tidings.event;

/** What happened to a row, or a logical decoding message. Lower-case in JSON. */
public enum Op {
    INSERT, UPDATE, DELETE, TRUNCATE, MESSAGE;

    private final String json = name().toLowerCase(java.util.Locale.ROOT);

    public String json() {
        return json;
    }
}
