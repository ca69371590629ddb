package dev.tidings.server.sinks;

import dev.tidings.sink.Sink;
import dev.tidings.sink.SinkException;
import dev.tidings.sink.SinkMessage;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * HTTP POST of one event (batches of one) or of a JSON array of events, signed per the Standard
 * Webhooks specification ({@code webhook-id}, {@code webhook-timestamp}, {@code webhook-signature}).
 * {@code webhook-id} is the event id, or {@code <first id>..<last id>} for a batch: the same on
 * every retry of that request, so a receiver can deduplicate.
 *
 * <p>2xx confirms. 408, 429, 5xx and network errors are retried by the sink's retry policy
 * (a {@code Retry-After} header, in seconds or as an HTTP date, is passed on as the wait); any
 * other status is permanent, so the policy gives up at once (block is not possible for a request
 * the receiver rejects as such: it stops, or dead-letters).
 */
public final class WebhookSink implements Sink {
    private final HttpClient client;
    private final URI url;
    private final WebhookSigner signer;
    private final Duration timeout;
    private final boolean array;

    /**
     * @param signer null for unsigned requests
     * @param array  send a JSON array even for one event (set for batches larger than one)
     */
    public WebhookSink(URI url, WebhookSigner signer, Duration timeout, boolean array) {
        this.url = url;
        this.signer = signer;
        this.timeout = timeout;
        this.array = array;
        this.client = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
    }

    @Override
    public CompletableFuture<Void> send(List<SinkMessage> batch) {
        String id = batch.size() == 1 ? batch.get(0).id() : batch.get(0).id() + ".." + batch.get(batch.size() - 1).id();
        byte[] body = array ? jsonArray(batch) : batch.get(0).body();
        if (!array && batch.size() > 1) {
            throw new IllegalStateException("webhook sink without array mode got a batch of " + batch.size());
        }
        return post(id, body).thenApply(r -> null);
    }

    /** Posts one signed request. Also used to replay dead letters. */
    public CompletableFuture<HttpResponse<Void>> post(String id, byte[] body) {
        long timestamp = System.currentTimeMillis() / 1000;
        HttpRequest.Builder request = HttpRequest.newBuilder(url)
                .timeout(timeout)
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", Long.toString(timestamp))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (signer != null) {
            request.header("webhook-signature", signer.sign(id, timestamp, body));
        }
        return client.sendAsync(request.build(), HttpResponse.BodyHandlers.discarding())
                .handle((response, error) -> {
                    if (error != null) {
                        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                        throw new CompletionException(new SinkException("POST " + url + " failed: " + cause, cause));
                    }
                    int status = response.statusCode();
                    if (status >= 200 && status < 300) {
                        return response;
                    }
                    boolean retryable = status == 408 || status == 429 || status >= 500;
                    throw new CompletionException(new SinkException("POST " + url + " answered " + status, null,
                            retryAfter(response), !retryable));
                });
    }

    static Duration retryAfter(HttpResponse<?> response) {
        String value = response.headers().firstValue("retry-after").orElse(null);
        if (value == null) {
            return null;
        }
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(value.trim())));
        } catch (NumberFormatException notSeconds) {
            try {
                ZonedDateTime at = ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME);
                return Duration.ofMillis(Math.max(0, at.toInstant().toEpochMilli() - System.currentTimeMillis()));
            } catch (RuntimeException unparsable) {
                return null;
            }
        }
    }

    private static byte[] jsonArray(List<SinkMessage> batch) {
        int size = 2;
        for (SinkMessage m : batch) {
            size += m.body().length + 1;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        out.write('[');
        for (int i = 0; i < batch.size(); i++) {
            if (i > 0) {
                out.write(',');
            }
            out.writeBytes(batch.get(i).body());
        }
        out.write(']');
        return out.toByteArray();
    }

    @Override
    public void close() {
        client.close();
    }
}
