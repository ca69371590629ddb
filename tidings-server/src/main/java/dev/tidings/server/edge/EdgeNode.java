package dev.tidings.server.edge;

import dev.tidings.event.ChangeEvent;
import dev.tidings.server.config.EdgeSource;
import dev.tidings.server.consumers.Groups;
import dev.tidings.server.log.EventId;
import dev.tidings.server.log.LogReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * An edge node's stream: the events the leader published through its NATS or Kafka sink, read
 * back from the broker and handed to the same live fan-out a leader feeds, with no connection to
 * PostgreSQL. Its {@link #log()} is what clients resume from, on this node with an id they got
 * on any other: the newest events in memory ({@link RecentEvents}), older ones from the broker by
 * position, {@code Expired} once the broker's retention dropped them.
 *
 * <p>An event is kept in the window before live clients get it, so a client that resumes right
 * after a live event finds it (the leader's log has the same order). A redelivered id (a sink's
 * retry the broker did not deduplicate) is dropped, so clients get each event once.
 */
public final class EdgeNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EdgeNode.class);

    private final EdgeSource from;
    private final Broker broker;
    private final RecentEvents recent;
    private final AtomicLong events = new AtomicLong();
    private final LogReader reader = new LogReader() {
        @Override
        public Read readAfter(EventId after, int max) {
            Read near = recent.readAfter(after, max);
            if (near != null) {
                return near;
            }
            return broker.readAfter(after, max);
        }

        @Override
        public EventId last() {
            return recent.last();
        }

        @Override
        public EventId first() {
            return broker.first();
        }
    };

    private EdgeNode(EdgeSource from, Broker broker, int window) {
        this.from = from;
        this.broker = broker;
        this.recent = new RecentEvents(window);
    }

    /**
     * Connects to the broker and starts consuming, the newest {@code window} events first (into
     * the window; no client is connected yet), then every new one into the window and to {@code live}.
     */
    public static EdgeNode start(EdgeSource from, int window, Consumer<ChangeEvent> live) throws Exception {
        Broker broker = from.broker().equals("kafka") ? KafkaBroker.open(from.servers(), from.stream())
                : JetStreamBroker.open(from.servers(), from.stream());
        EdgeNode node = new EdgeNode(from, broker, window);
        try {
            broker.consume(window, event -> {
                if (node.recent.add(event)) {
                    node.events.incrementAndGet();
                    try {
                        live.accept(event);
                    } catch (RuntimeException e) {
                        log.warn("live fan-out failed on event {}; live clients may miss it", event.id(), e);
                    }
                }
            });
        } catch (Exception e) {
            broker.close();
            throw e;
        }
        log.info("edge node reading {} (window of {} events)", from, window);
        return node;
    }

    /** What clients resume from. */
    public LogReader log() {
        return reader;
    }

    /** The consumer groups this edge serves from its broker. */
    public Groups groups() {
        return broker.groups();
    }

    /** Whether the broker is connected and its events consumed. */
    public boolean live() {
        return broker.connected();
    }

    /** Events consumed since start. */
    public long events() {
        return events.get();
    }

    public EdgeSource from() {
        return from;
    }

    /** Source and position as a JSON object, for {@code /api/status} and {@code /ready}. */
    public String positionJson() {
        EventId last = recent.last();
        return "{\"from\":\"" + from + "\"," + broker.position() + ",\"last_event\":"
                + (last == null ? "null" : "\"" + last + "\"") + ",\"events\":" + events.get() + "}";
    }

    @Override
    public void close() {
        broker.close();
    }
}
