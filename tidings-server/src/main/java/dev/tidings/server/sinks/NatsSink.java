package dev.tidings.server.sinks;

import dev.tidings.sink.RouteTemplate;
import dev.tidings.sink.Sink;
import dev.tidings.sink.SinkException;
import dev.tidings.sink.SinkMessage;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamOptions;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.PublishOptions;
import io.nats.client.impl.Headers;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * NATS JetStream, with jnats. Subject per event from a template; {@code Nats-Msg-Id} = the event
 * id, so JetStream drops a duplicate sent again within the stream's duplicate window (a retry or
 * a redelivery after a crash); a batch is confirmed when every message's PubAck came back. The
 * stream must exist and take the subjects (JetStream answers "no responders" otherwise, and the
 * batch is retried).
 */
public final class NatsSink implements Sink {
    private final String url;
    private final RouteTemplate subject;
    private final Duration timeout;
    private Connection connection;
    private JetStream jetStream;

    public NatsSink(String url, RouteTemplate subject, Duration timeout) {
        this.url = url;
        this.subject = subject;
        this.timeout = timeout;
    }

    @Override
    public CompletableFuture<Void> send(List<SinkMessage> batch) {
        JetStream js;
        try {
            js = jetStream();
        } catch (Exception e) {
            return CompletableFuture.failedFuture(new SinkException("cannot connect to NATS at " + url + ": " + e, e));
        }
        CompletableFuture<?>[] acks = new CompletableFuture<?>[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            SinkMessage m = batch.get(i);
            Headers headers = new Headers();
            headers.add("tidings-table", m.event().schema() + "." + m.event().table());
            headers.add("tidings-op", m.event().op().json());
            PublishOptions options = PublishOptions.builder().messageId(m.id()).build();
            try {
                acks[i] = js.publishAsync(subject.render(m.event()), headers, m.body(), options)
                        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RuntimeException e) {
                acks[i] = CompletableFuture.failedFuture(e);
            }
        }
        return CompletableFuture.allOf(acks).handle((ok, error) -> {
            if (error != null) {
                Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                throw new CompletionException(new SinkException("NATS JetStream: " + cause, cause));
            }
            return null;
        });
    }

    private JetStream jetStream() throws Exception {
        if (jetStream == null) {
            Options options = new Options.Builder().server(url).connectionTimeout(timeout).maxReconnects(-1)
                    .reconnectWait(Duration.ofMillis(500)).connectionName("tidings").build();
            connection = Nats.connect(options);
            jetStream = connection.jetStream(JetStreamOptions.builder().requestTimeout(timeout).build());
        }
        return jetStream;
    }

    @Override
    public void close() throws InterruptedException {
        if (connection != null) {
            connection.close();
        }
    }
}
