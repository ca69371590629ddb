package dev.tidings.server.broadcast;

/**
 * Carries broadcasts and presence between the members of each topic. {@link LocalRooms} holds the
 * members of this process; {@link RelayedRooms} adds relaying broadcasts and presence diffs to the
 * other nodes and merging their presence state. Members never see which one they are on.
 *
 * <p>Thread-safe. Delivery never blocks: members only queue.
 */
public interface Rooms extends AutoCloseable {
    /** Adds a member; when presence is enabled, it gets {@code presence_state} before any later diff. */
    void join(Member member);

    /** Removes a member and whatever it tracked (the others get a {@code presence_diff} leave). */
    void leave(Member member);

    /**
     * Hands {@code message} to every member of its topic but the sender (unless the sender asked for
     * {@code self}); returns how many members it was queued for.
     */
    int broadcast(BroadcastMessage message);

    /**
     * Hands a message that every node receives by itself (a database broadcast, read from the
     * change stream each node follows) to this node's members only; returns how many.
     */
    default int broadcastHere(BroadcastMessage message) {
        return broadcast(message);
    }

    /**
     * Tracks {@code meta} (a JSON object) for the member under its presence key, replacing what it
     * tracked before; every member of the topic gets the diff. Returns false when nothing changed.
     */
    boolean track(Member member, byte[] meta);

    /** Stops tracking the member; returns false when it tracked nothing. */
    boolean untrack(Member member);

    /** Members, for metrics. */
    int members();

    /** Tracked presences, for metrics. */
    int presences();

    /** Stops relaying to other nodes, if this rooms does; the members here are the server's to close. */
    @Override
    default void close() {}
}
