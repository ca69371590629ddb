package dev.tidings.server.stream;

import dev.tidings.pipeline.Delivery.Acknowledgement;

import java.util.ArrayDeque;

/**
 * Acknowledges a transaction once two consumers did (the change log and the durable sinks), and
 * keeps commit order: each consumer acknowledges its own transactions in order, but the two race,
 * so a transaction both acknowledged waits here until every older one is too. Thread-safe.
 */
final class BothAcknowledged {
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();

    /** Registers the next transaction (commit order); acknowledge both of the returned halves. */
    synchronized Pending add(Acknowledgement downstream) {
        Pending p = new Pending(downstream);
        pending.add(p);
        return p;
    }

    private synchronized void marked() {
        while (!pending.isEmpty() && pending.peek().marks == 2) {
            pending.poll().downstream.acknowledge();
        }
    }

    final class Pending {
        private final Acknowledgement downstream;
        private int marks;

        private Pending(Acknowledgement downstream) {
            this.downstream = downstream;
        }

        Acknowledgement half() {
            return new Acknowledgement() {
                @Override
                public void acknowledge() {
                    synchronized (BothAcknowledged.this) {
                        marks++;
                        marked();
                    }
                }

                @Override
                public void fail(Exception cause) {
                    downstream.fail(cause);
                }
            };
        }
    }
}
