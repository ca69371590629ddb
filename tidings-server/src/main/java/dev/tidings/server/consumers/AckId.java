package dev.tidings.server.consumers;

import dev.tidings.server.log.EventId;

/**
 * What a worker acknowledges: an event and which delivery of it, {@code <event id>@<delivery>}
 * ({@code 0/1A2B3C4:2@1}). The delivery number tells a worker's answer apart from a late one
 * for an earlier delivery whose visibility timeout expired.
 */
record AckId(EventId event, int delivery) {

    static AckId parse(String text) {
        int at = text == null ? -1 : text.lastIndexOf('@');
        try {
            if (at > 0) {
                return new AckId(EventId.parse(text.substring(0, at)), Integer.parseInt(text.substring(at + 1)));
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        throw new IllegalArgumentException("'" + text + "' is not an ack id; an ack id looks like 0/1A2B3C4:2@1 "
                + "(the event id, '@', the delivery), as \"ack_id\" of every received event");
    }

    @Override
    public String toString() {
        return event + "@" + delivery;
    }
}
