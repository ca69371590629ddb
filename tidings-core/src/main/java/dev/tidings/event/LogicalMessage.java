package dev.tidings.event;

/** The payload of a {@code pg_logical_emit_message} call. */
public record LogicalMessage(boolean transactional, String prefix, byte[] content) {}
