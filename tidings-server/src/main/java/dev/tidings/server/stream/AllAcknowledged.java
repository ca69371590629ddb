package dev.tidings.server.stream;

import dev.tidings.pipeline.Delivery.Acknowledgement;

import java.util.ArrayDeque;

/**
 * Acknowledges a transaction once every consumer that must have it did (the change log, the
 * durable sinks, the durable consumer groups), and keeps commit order: each consumer acknowledges
 * its own transactions, but they race, so a transaction all acknowledged waits here until every
 * older one is too. A failure of any consumer fails the transaction. Thread-safe.
 */
final class AllAcknowledged {
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();

    /** Registers the next transaction (commit order); acknowledge each of its {@code parties} parts. */
    synchronized Pending add(Acknowledgement downstream, int parties) {
        Pending p = new Pending(downstream, parties);
        pending.add(p);
        return p;
    }

    private synchronized void marked() {
        while (!pending.isEmpty() && pending.peek().marks == pending.peek().parties) {
            pending.poll().downstream.acknowledge();
        }
    }

    final class Pending {
        private final Acknowledgement downstream;
        private final int parties;
        private int marks;

        private Pending(Acknowledgement downstream, int parties) {
            this.downstream = downstream;
            this.parties = parties;
        }

        /** One consumer's part: call it once per consumer. */
        Acknowledgement part() {
            return new Acknowledgement() {
                @Override
                public void acknowledge() {
                    synchronized (AllAcknowledged.this) {
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
