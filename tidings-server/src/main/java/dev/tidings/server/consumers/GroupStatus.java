package dev.tidings.server.consumers;

import dev.tidings.server.log.EventId;

/**
 * A group's state for the API and the metrics.
 *
 * @param pending    events read and not acknowledged (handed out or not)
 * @param inFlight   events with a worker now
 * @param acked      events acknowledged since the server started
 * @param cursor     the newest log event the group has read, or null
 * @param behind     whether it fell behind the log's retention and needs a reset
 * @param lagSeconds age of the oldest unacknowledged event (since its commit), 0 when none
 */
public record GroupStatus(GroupSpec spec, int pending, int inFlight, long acked, EventId cursor, boolean behind,
                          double lagSeconds) {}
