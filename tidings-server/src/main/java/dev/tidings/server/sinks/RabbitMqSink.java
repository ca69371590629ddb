package dev.tidings.server.sinks;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.tidings.sink.RouteTemplate;
import dev.tidings.sink.Sink;
import dev.tidings.sink.SinkException;
import dev.tidings.sink.SinkMessage;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * RabbitMQ, with the official client: persistent messages to an exchange with a routing key per
 * event from a template, {@code message-id} and header {@code tidings-id} = the event id, and
 * publisher confirms — a batch is confirmed when the broker confirmed every message of it.
 * Messages are published {@code mandatory}: one that no queue is bound for comes back, and the
 * batch fails (permanently: retrying will not bind a queue) instead of vanishing.
 *
 * <p>The client's confirms are waited for per batch on the sink's own thread. A failed batch
 * closes the connection; the next attempt opens a new one.
 */
public final class RabbitMqSink implements Sink {
    private final ConnectionFactory factory;
    private final String exchange;
    private final RouteTemplate routingKey;
    private final Duration timeout;
    private final AtomicReference<String> returned = new AtomicReference<>();
    private Connection connection;
    private Channel channel;

    public RabbitMqSink(String uri, String exchange, RouteTemplate routingKey, Duration timeout) {
        this.factory = new ConnectionFactory();
        try {
            factory.setUri(uri);
        } catch (Exception e) {
            throw new IllegalArgumentException("bad RabbitMQ URI " + uri + ": " + e.getMessage());
        }
        factory.setAutomaticRecoveryEnabled(false);
        factory.setConnectionTimeout((int) timeout.toMillis());
        this.exchange = exchange;
        this.routingKey = routingKey;
        this.timeout = timeout;
    }

    @Override
    public CompletableFuture<Void> send(List<SinkMessage> batch) {
        try {
            Channel ch = channel();
            returned.set(null);
            for (SinkMessage m : batch) {
                AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                        .deliveryMode(2)
                        .contentType("application/json")
                        .messageId(m.id())
                        .headers(Map.of("tidings-id", m.id(),
                                "tidings-table", m.event().schema() + "." + m.event().table(),
                                "tidings-op", m.event().op().json()))
                        .build();
                ch.basicPublish(exchange, routingKey.render(m.event()), true, props, m.body());
            }
            ch.waitForConfirmsOrDie(timeout.toMillis());
            String unroutable = returned.get();
            if (unroutable != null) {
                return CompletableFuture.failedFuture(new SinkException("RabbitMQ returned a message as unroutable ("
                        + unroutable + "): bind a queue to exchange '" + exchange + "' for that routing key", null, null, true));
            }
            return CompletableFuture.completedFuture(null);
        } catch (Exception e) {
            closeQuietly();
            return CompletableFuture.failedFuture(new SinkException("RabbitMQ: " + e, e));
        }
    }

    private Channel channel() throws Exception {
        if (channel == null || !channel.isOpen()) {
            closeQuietly();
            connection = factory.newConnection("tidings");
            channel = connection.createChannel();
            channel.confirmSelect();
            channel.addReturnListener(r -> returned.compareAndSet(null, r.getReplyText() + ", routing key " + r.getRoutingKey()));
        }
        return channel;
    }

    private void closeQuietly() {
        try {
            if (connection != null) {
                connection.abort(1000);
            }
        } catch (RuntimeException ignored) {
            // closing a broken connection
        }
        connection = null;
        channel = null;
    }

    @Override
    public void close() {
        closeQuietly();
    }
}
