package dev.tidings.event;

import dev.tidings.base.Lsn;

import java.time.Instant;

/**
 * The committed transaction an event belongs to. {@code commitLsn} orders transactions and, with
 * the event's index, forms the event id. For a non-transactional logical message, {@code xid} is 0
 * and {@code commitLsn} is the message's own LSN.
 */
public record Transaction(long xid, Lsn commitLsn, Instant commitTime) {}
