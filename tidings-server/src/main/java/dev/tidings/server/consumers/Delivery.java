package dev.tidings.server.consumers;

import dev.tidings.event.ChangeEvent;

/** One event handed to a worker: acknowledge it with {@link #ackId()}. {@code delivery} counts from 1. */
public record Delivery(String ackId, int delivery, ChangeEvent event) {}
