package dev.tidings.event;

/**
 * The options of a {@code TRUNCATE} statement, as pgoutput reports them: {@code CASCADE} (tables
 * referencing the named ones were truncated too, each gets its own event) and
 * {@code RESTART IDENTITY} (the tables' sequences were reset).
 */
public record TruncateOptions(boolean cascade, boolean restartIdentity) {}
