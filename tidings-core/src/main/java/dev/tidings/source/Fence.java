package dev.tidings.source;

/**
 * Whether this process may still act for its slot: deliver to durable sinks and confirm positions.
 * {@link #ALWAYS} for a process that runs alone; a {@link Leadership} when several stand by for
 * one slot. {@link #held()} is called on hot paths (before every sink batch and confirmation), so
 * implementations answer from memory, without I/O. Thread-safe.
 */
@FunctionalInterface
public interface Fence {
    /** The fence of a process that is the only reader of its slot. */
    Fence ALWAYS = () -> true;

    /** True while this process may deliver and confirm. */
    boolean held();
}
