package dev.tidings.server.sinks;

import dev.tidings.sink.RouteTemplate;
import dev.tidings.sink.Sink;
import dev.tidings.sink.SinkException;
import dev.tidings.sink.SinkMessage;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Redis, with Lettuce. {@link Mode#STREAM}: {@code XADD <stream> [MAXLEN ~ n] * id <event id>
 * table <schema.table> op <op> event <body>}, the stream named per event by a template; an entry
 * is confirmed when Redis answered the XADD. {@link Mode#PUBSUB}: {@code PUBLISH <channel> <body>}
 * for live-only consumers — confirmed when Redis accepted it, but Pub/Sub keeps nothing for a
 * subscriber that was away, so use streams where every change matters.
 *
 * <p>A batch is written with one network flush (commands pipelined, not a transaction). While the
 * connection is down, commands fail at once and the retry policy waits; Lettuce reconnects by
 * itself.
 */
public final class RedisSink implements Sink {
    public enum Mode { STREAM, PUBSUB }

    private final RedisClient client;
    private final RouteTemplate route;
    private final Mode mode;
    private final long maxLen;
    private final Duration timeout;
    private StatefulRedisConnection<String, byte[]> connection;

    /** @param maxLen approximate stream length cap ({@code MAXLEN ~}); 0 = none */
    public RedisSink(String uri, RouteTemplate route, Mode mode, long maxLen, Duration timeout) {
        this.route = route;
        this.mode = mode;
        this.maxLen = maxLen;
        this.timeout = timeout;
        this.client = RedisClient.create(RedisURI.create(uri));
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(timeout).build())
                .timeoutOptions(TimeoutOptions.enabled(timeout))
                .build());
    }

    @Override
    public CompletableFuture<Void> send(List<SinkMessage> batch) {
        RedisAsyncCommands<String, byte[]> redis;
        try {
            redis = connection().async();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(new SinkException("cannot connect to Redis: " + e.getMessage(), e));
        }
        CompletableFuture<?>[] replies = new CompletableFuture<?>[batch.size()];
        XAddArgs args = maxLen > 0 ? new XAddArgs().maxlen(maxLen).approximateTrimming() : new XAddArgs();
        for (int i = 0; i < batch.size(); i++) {
            SinkMessage m = batch.get(i);
            String key = route.render(m.event());
            RedisFuture<?> reply;
            if (mode == Mode.STREAM) {
                Map<String, byte[]> fields = new LinkedHashMap<>();
                fields.put("id", bytes(m.id()));
                fields.put("table", bytes(m.event().schema() + "." + m.event().table()));
                fields.put("op", bytes(m.event().op().json()));
                fields.put("event", m.body());
                reply = redis.xadd(key, args, fields);
            } else {
                reply = redis.publish(key, m.body());
            }
            replies[i] = reply.toCompletableFuture();
        }
        connection.flushCommands();
        return CompletableFuture.allOf(replies).handle((ok, error) -> {
            if (error != null) {
                Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                throw new CompletionException(new SinkException("Redis: " + cause.getMessage(), cause));
            }
            return null;
        });
    }

    private StatefulRedisConnection<String, byte[]> connection() {
        if (connection == null) {
            connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
            connection.setAutoFlushCommands(false);
        }
        return connection;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        if (connection != null) {
            connection.close();
        }
        client.shutdown(Duration.ZERO, timeout);
    }
}
