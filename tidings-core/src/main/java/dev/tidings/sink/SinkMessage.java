package dev.tidings.sink;

import dev.tidings.event.ChangeEvent;

/**
 * One event on its way to one sink: the event and its bytes in the sink's format (shared with
 * every other sink of the same format: an event is serialized once per format).
 *
 * @param event the change
 * @param body  the event in the sink's {@link SinkSettings#format()}; never modify
 */
public record SinkMessage(ChangeEvent event, byte[] body) {

    /** The event id, {@code <commit LSN>:<index>}: put it in a header or field of every message. */
    public String id() {
        return event.id();
    }
}
