package dev.tidings.server.realtime;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.event.SupabaseFormat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import static dev.tidings.server.realtime.PhoenixFrame.NULL;
import static dev.tidings.server.realtime.PhoenixFrame.ascii;

/**
 * One joined topic of one connection, subscribed in the {@link FanOut} under its bindings' scopes.
 *
 * <p>A legacy channel ({@code realtime:public:todos}) has one implied binding and gets each change
 * twice, as event {@code *} (what 0.x clients listen to) and as {@code INSERT}/{@code UPDATE}/
 * {@code DELETE}; 1.x clients act on the second only. A {@code postgres_changes} channel gets one
 * {@code postgres_changes} push per change with the ids of every binding it matched. Both carry
 * the {@code supabase} serialization of the change, made once per event for all channels.
 *
 * <p>{@link #deliver} runs on the fan-out thread; the rest on the connection's threads. The grant
 * (what the token allows) is replaced whole when the token is refreshed.
 */
final class Channel implements FanOut.Subscriber {
    static final EventFormat SUPABASE = EventFormat.named("supabase");
    private static final byte[] IDS = ascii("{\"ids\":[");
    private static final byte[] DATA = ascii("],\"data\":");
    private static final byte[] END = ascii("}");

    private final RealtimeSocket socket;
    final String topic;
    final byte[] topicJson;
    final String joinRef;
    final boolean legacy;
    final List<Binding> bindings;
    final List<FanOut.Scope> scopes;
    private volatile AccessPolicy.Grant grant;
    private volatile boolean closed;
    private ScheduledFuture<?> expiry;

    Channel(RealtimeSocket socket, String topic, String joinRef, boolean legacy, List<Binding> bindings,
            AccessPolicy.Grant grant) {
        this.socket = socket;
        this.topic = topic;
        this.topicJson = PhoenixFrame.quote(topic);
        this.joinRef = joinRef;
        this.legacy = legacy;
        this.bindings = List.copyOf(bindings);
        this.scopes = FanOut.Scope.minimal(bindings.stream().map(Binding::scope).toList());
        this.grant = grant;
    }

    void grant(AccessPolicy.Grant grant) {
        this.grant = grant;
    }

    boolean closed() {
        return closed;
    }

    /** Ends the subscription; no push follows. */
    synchronized void close() {
        closed = true;
        if (expiry != null) {
            expiry.cancel(false);
        }
    }

    /** Closes the channel when the token expires: a system message, then {@code phx_close}. */
    synchronized void expireAt(Instant at, Runnable onExpiry) {
        if (expiry != null) {
            expiry.cancel(false);
            expiry = null;
        }
        if (at != null && !closed) {
            long ms = Math.max(0, Duration.between(Instant.now(), at).toMillis());
            expiry = socket.service().timers().schedule(onExpiry, ms, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void deliver(ChangeEvent event, FanOut.EventBytes bytes) {
        if (closed || !SUPABASE.supports(event.op()) || !grant.admits(event)) {
            return;
        }
        PhoenixFrame.Vsn vsn = socket.vsn();
        if (legacy) {
            if (bindings.get(0).matches(event)) {
                byte[] payload = bytes.in(SUPABASE);
                String type = SupabaseFormat.eventType(event.op());
                socket.send(bytes.frame(new FrameKey(vsn, topic, "*", ""), () -> vsn.encode(NULL, NULL, topicJson, "*", payload)));
                socket.send(bytes.frame(new FrameKey(vsn, topic, type, ""), () -> vsn.encode(NULL, NULL, topicJson, type, payload)));
            }
            return;
        }
        StringBuilder ids = null;
        for (Binding b : bindings) {
            if (b.matches(event)) {
                ids = ids == null ? new StringBuilder() : ids.append(',');
                ids.append(b.id());
            }
        }
        if (ids != null) {
            String idList = ids.toString();
            socket.send(bytes.frame(new FrameKey(vsn, topic, "postgres_changes", idList), () -> vsn.encode(NULL, NULL,
                    topicJson, "postgres_changes", bytes.in(SUPABASE), concat(IDS, ascii(idList), DATA), END)));
        }
    }

    /** What makes two channels' frames of one event byte-identical (see {@link FanOut.EventBytes#frame}). */
    private record FrameKey(PhoenixFrame.Vsn vsn, String topic, String event, String ids) {}

    @Override
    public void streamEnded(String reason) {
        if (!closed) {
            socket.push(this, "phx_error", Map.of("reason", reason));
        }
    }

    private static byte[] concat(byte[] a, byte[] b, byte[] c) {
        byte[] out = new byte[a.length + b.length + c.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        System.arraycopy(c, 0, out, a.length + b.length, c.length);
        return out;
    }

    @Override
    public String toString() {
        return "channel " + topic;
    }
}
