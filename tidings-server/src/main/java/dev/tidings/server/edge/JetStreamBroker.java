package dev.tidings.server.edge;

import dev.tidings.event.ChangeEvent;
import dev.tidings.server.log.EventId;
import dev.tidings.server.log.LogReader;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Message;
import io.nats.client.MessageConsumer;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.OrderedConsumerConfiguration;
import io.nats.client.api.StreamState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A JetStream stream as an edge node's broker. Consuming is an ordered consumer (ephemeral, no
 * acknowledgements, recreated by the client after a reconnect or a gap at the next stream
 * sequence), so an edge leaves no state in the server and any number of edges read one stream.
 *
 * <p>Events are located by stream sequence: the {@code Nats-Msg-Id} header the NATS sink sets is
 * the event id, so a binary search over {@code [first, last]} with direct gets finds the first
 * event after an id in about log2(n) requests; a page is then read with one request per message
 * ({@code getNextMessage}, which skips deleted sequences). Resumes older than the edge's window
 * are rare (a client back after minutes), so their cost is acceptable; recent ones never get here.
 */
final class JetStreamBroker implements Broker {
    private static final Logger log = LoggerFactory.getLogger(JetStreamBroker.class);
    private static final String MSG_ID = "Nats-Msg-Id";
    /** The most messages one {@link #readAfter} reads from the server; a reader pages on. */
    private static final int PAGE = 512;

    private final String stream;
    private final Connection connection;
    private final JetStreamManagement management;
    private final EventJson reader = new EventJson();
    private MessageConsumer consumer;
    private volatile long sequence;

    private JetStreamBroker(String stream, Connection connection, JetStreamManagement management) {
        this.stream = stream;
        this.connection = connection;
        this.management = management;
    }

    /** Connects and checks that the stream exists; fails with what to do. */
    static JetStreamBroker open(List<String> servers, String stream) throws IOException, InterruptedException {
        Options options = new Options.Builder().servers(servers.toArray(String[]::new)).maxReconnects(-1)
                .reconnectWait(Duration.ofMillis(500)).connectionTimeout(Duration.ofSeconds(5))
                .connectionName("tidings-edge").build();
        Connection connection = Nats.connect(options);
        try {
            JetStreamManagement management = connection.jetStreamManagement();
            management.getStreamInfo(stream);
            return new JetStreamBroker(stream, connection, management);
        } catch (JetStreamApiException e) {
            connection.close();
            throw new IllegalArgumentException("JetStream stream " + stream + " cannot be read at " + servers + " (" + e.getMessage()
                    + "): create it with the subjects the leader's NATS sink publishes to, e.g. "
                    + "nats stream add " + stream + " --subjects 'tidings.>'", e);
        }
    }

    @Override
    public void consume(int recent, Consumer<ChangeEvent> events) throws Exception {
        StreamState state = management.getStreamInfo(stream).getStreamState();
        long start = Math.max(state.getFirstSequence(), state.getLastSequence() - recent + 1);
        OrderedConsumerConfiguration config = new OrderedConsumerConfiguration()
                .deliverPolicy(DeliverPolicy.ByStartSequence).startSequence(Math.max(1, start));
        consumer = connection.getStreamContext(stream).createOrderedConsumer(config).consume(message -> {
            ChangeEvent event = event(message.getData(), message.getHeaders() == null ? null : message.getHeaders().getFirst(MSG_ID),
                    message.metaData().streamSequence());
            sequence = message.metaData().streamSequence();
            if (event != null) {
                events.accept(event);
            }
        });
    }

    private ChangeEvent event(byte[] data, String id, long seq) {
        try {
            return reader.read(data);
        } catch (IllegalArgumentException e) {
            log.error("stream {} sequence {} (id {}) skipped: {}", stream, seq, id, e.getMessage());
            return null;
        }
    }

    @Override
    public LogReader.Read readAfter(EventId after, int max) {
        try {
            StreamState state = management.getStreamInfo(stream).getStreamState();
            long lo = state.getFirstSequence();
            long hi = state.getLastSequence() + 1;
            if (state.getMsgCount() == 0) {
                return new LogReader.Read.Expired(null);
            }
            MessageInfo oldest = management.getNextMessage(stream, lo, ">");
            EventId first = id(oldest);
            if (after != null && first.isAfter(after) && !follows(first, after)) {
                return new LogReader.Read.Expired(first);
            }
            // the smallest sequence whose id is after `after`
            while (after != null && lo < hi) {
                long mid = (lo + hi) >>> 1;
                MessageInfo m = next(mid);
                if (m == null || id(m).isAfter(after)) {
                    hi = mid;
                } else {
                    lo = m.getSeq() + 1;
                }
            }
            List<ChangeEvent> found = new ArrayList<>();
            EventJson pageReader = new EventJson();
            for (long seq = lo; found.size() < Math.min(max, PAGE); ) {
                MessageInfo m = next(seq);
                if (m == null) {
                    break;
                }
                found.add(pageReader.read(m.getData()));
                seq = m.getSeq() + 1;
            }
            return new LogReader.Read.Events(found);
        } catch (IOException | JetStreamApiException e) {
            throw new IllegalStateException("reading stream " + stream + " after " + after + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether {@code next} is the event right after {@code previous}: the next one of the same
     * transaction. Otherwise what lay between them may have been dropped, and the reader starts over.
     */
    private static boolean follows(EventId next, EventId previous) {
        return next.lsn() == previous.lsn() && previous.index() != EventId.MESSAGE && next.index() == previous.index() + 1;
    }

    /** The first message at or after {@code seq}, or null when there is none. */
    private MessageInfo next(long seq) throws IOException, JetStreamApiException {
        try {
            return management.getNextMessage(stream, seq, ">");
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() == 10037) { // no message found
                return null;
            }
            throw e;
        }
    }

    private static EventId id(MessageInfo m) {
        String id = m.getHeaders() == null ? null : m.getHeaders().getFirst(MSG_ID);
        if (id == null) {
            throw new IllegalStateException("stream message " + m.getSeq() + " has no " + MSG_ID
                    + " header: only the NATS sink of tidings serve should publish to the stream an edge reads");
        }
        return EventId.parse(id);
    }

    @Override
    public EventId first() {
        try {
            StreamState state = management.getStreamInfo(stream).getStreamState();
            return state.getMsgCount() == 0 ? null : id(management.getNextMessage(stream, state.getFirstSequence(), ">"));
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            return null;
        }
    }

    @Override
    public boolean connected() {
        return connection.getStatus() == Connection.Status.CONNECTED && consumer != null && !consumer.isStopped();
    }

    @Override
    public String position() {
        return "\"broker\":\"nats\",\"stream\":\"" + stream + "\",\"sequence\":" + sequence;
    }

    @Override
    public void close() {
        try {
            if (consumer != null) {
                consumer.stop();
            }
            connection.close();
        } catch (Exception e) {
            log.debug("closing the NATS connection", e);
        }
    }
}
