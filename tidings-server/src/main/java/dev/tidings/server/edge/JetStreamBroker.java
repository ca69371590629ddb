package dev.tidings.server.edge;

import dev.tidings.event.ChangeEvent;
import dev.tidings.server.consumers.Groups;
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

    private final String stream;
    private final Connection connection;
    private final JetStreamManagement management;
    private final EventJson reader = new EventJson();
    private final JetStreamGroups groups;
    private MessageConsumer consumer;
    private volatile long sequence;

    private JetStreamBroker(String stream, Connection connection, JetStreamManagement management) {
        this.stream = stream;
        this.connection = connection;
        this.management = management;
        this.groups = new JetStreamGroups(stream, connection, management);
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
            long end = state.getMsgCount() == 0 ? state.getFirstSequence() : state.getLastSequence() + 1;
            EventJson pageReader = new EventJson();
            return Positions.readAfter(state.getFirstSequence(), end, after, max, new Positions.Messages<MessageInfo>() {
                @Override
                public MessageInfo next(long position) throws IOException, JetStreamApiException {
                    return JetStreamBroker.this.next(position);
                }

                @Override
                public long position(MessageInfo m) {
                    return m.getSeq();
                }

                @Override
                public EventId id(MessageInfo m) {
                    return JetStreamBroker.id(m);
                }

                @Override
                public ChangeEvent event(MessageInfo m) {
                    return pageReader.read(m.getData());
                }
            });
        } catch (Exception e) {
            throw new IllegalStateException("reading stream " + stream + " after " + after + ": " + e.getMessage(), e);
        }
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
    public Groups groups() {
        return groups;
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
            groups.close();
            connection.close();
        } catch (Exception e) {
            log.debug("closing the NATS connection", e);
        }
    }
}
