package dev.tidings.server.sse;

import dev.tidings.backfill.Backfiller;
import dev.tidings.base.Identifiers;
import dev.tidings.base.TableFilter;
import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.server.auth.AccessPolicy;
import dev.tidings.server.auth.Authenticator;
import dev.tidings.server.live.Filter;
import dev.tidings.server.live.LiveFanOut;
import dev.tidings.server.live.LiveService;
import dev.tidings.server.live.Outbox;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * {@code GET /events}: changes as Server-Sent Events, for clients that want plain HTTP
 * ({@code curl -N}, {@code EventSource}).
 *
 * <pre>
 * GET /events?tables=public.todos,public.users&amp;filter=done=is.false&amp;format=tidings
 *
 * id: 0/1A2B3C4:0
 * event: insert
 * data: {"id":"0/1A2B3C4:0","op":"insert",…}
 * </pre>
 *
 * Parameters: {@code tables} (comma-separated; default every table), {@code filter} (the Realtime
 * filter syntax, applied to every table of the stream), {@code format} ({@code tidings} default,
 * {@code debezium}, {@code cloudevents}, {@code supabase}); with secure channels a token as
 * {@code apikey}/{@code token} parameter, {@code x-api-key} or {@code Authorization: Bearer}
 * header (401/403 otherwise), whose role and row policies apply. The stream is live: there is no
 * replay, {@code Last-Event-ID} is not used. With {@code snapshot=true} the stream first carries
 * the current rows of its tables as {@code read} events, merged with the live changes: a backfill of
 * its own (consumer {@code sse:<id>}), paced by this stream's send queue and removed when it ends. A comment line keeps idle streams open through
 * proxies and finds dead clients. Each stream has the same bounded send queue as a WebSocket:
 * a client that does not keep up gets an {@code event: error} and the stream ends.
 */
public final class SseHandler extends Handler.Abstract.NonBlocking {
    private static final byte[] KEEPALIVE = ": keepalive\n\n".getBytes(StandardCharsets.US_ASCII);

    private final LiveService service;
    private final Authenticator auth;
    private final Duration keepAlive;
    private final Backfiller backfiller;

    /** @param backfiller the stream's backfill engine, for {@code snapshot=true}; null when there is none */
    public SseHandler(LiveService service, Authenticator auth, Duration keepAlive, Backfiller backfiller) {
        this.service = service;
        this.auth = auth;
        this.keepAlive = keepAlive;
        this.backfiller = backfiller;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        if (!Request.getPathInContext(request).equals("/events")) {
            return false;
        }
        if (!request.getMethod().equals("GET")) {
            return refuse(response, callback, 405, "use GET /events?tables=schema.table&filter=…&format=…");
        }
        Fields q = Request.extractQueryParameters(request);
        Authenticator.Admission admission = auth.admit(q.getValue("apikey"), q.getValue("token"),
                request.getHeaders().get("x-api-key"), request.getHeaders().get(HttpHeader.AUTHORIZATION));
        if (!admission.admitted()) {
            return refuse(response, callback, admission.status(), admission.reason());
        }
        AccessPolicy.Grant grant = admission.access().grant();
        EventFormat format;
        Filter filter;
        List<TableFilter> tables = new ArrayList<>();
        List<TableName> named = new ArrayList<>();
        boolean snapshot = "true".equals(q.getValue("snapshot"));
        if (snapshot && backfiller == null) {
            return refuse(response, callback, 400, "snapshot=true is not available on this server");
        }
        try {
            format = EventFormat.named(q.getValue("format") == null ? "tidings" : q.getValue("format"));
            filter = Filter.parse(q.getValue("filter"));
            String tablesParam = q.getValue("tables");
            if (tablesParam == null || tablesParam.isBlank()) {
                String refusal = grant.refusal(null, null);
                if (refusal != null) {
                    return refuse(response, callback, 403, refusal);
                }
                tables.add(TableFilter.ALL);
            } else {
                for (String t : tablesParam.split(",")) {
                    TableName name = Identifiers.parseTable(t.strip());
                    String refusal = grant.refusal(name.schema(), name.table());
                    if (refusal != null) {
                        return refuse(response, callback, 403, refusal);
                    }
                    tables.add(TableFilter.table(name));
                    named.add(name);
                }
            }
        } catch (IllegalArgumentException e) {
            return refuse(response, callback, 400, e.getMessage());
        }
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        Stream stream = new Stream(response, callback, format, filter, grant, TableFilter.anyOf(tables));
        stream.start();
        if (snapshot) {
            stream.snapshot(named);
        }
        return true;
    }

    /** An error answer, {@code {"error": message}} as every other endpoint's. */
    private static boolean refuse(Response response, Callback callback, int status, String message) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(Authenticator.errorBody(message)), callback);
        return true;
    }

    /** One open stream: a fan-out subscriber writing through its own bounded outbox. */
    private final class Stream implements LiveFanOut.Subscriber, Outbox.Transport {
        private final Response response;
        private final Callback callback;
        private final EventFormat format;
        private final Filter filter;
        private final AccessPolicy.Grant grant;
        private final TableFilter tables;
        private final Outbox outbox;
        private final AtomicBoolean ended = new AtomicBoolean();
        /** Made once: {@link #deliver} runs per change. */
        private final java.util.function.Supplier<byte[]> farewell = this::farewell;
        private ScheduledFuture<?> keepAliveTask;
        private volatile String consumer; // "sse:<id>" while this stream has a snapshot
        private volatile String backfill;

        Stream(Response response, Callback callback, EventFormat format, Filter filter, AccessPolicy.Grant grant,
               TableFilter tables) {
            this.response = response;
            this.callback = callback;
            this.format = format;
            this.filter = filter;
            this.grant = grant;
            this.tables = tables;
            this.outbox = service.outbox(this);
        }

        void start() {
            service.counters().sseOpened();
            outbox.offer("retry: 2000\n\n".getBytes(StandardCharsets.US_ASCII), null, null);
            service.fanOut().subscribe(this, tables);
            long ms = keepAlive.toMillis();
            keepAliveTask = service.timers().scheduleWithFixedDelay(() -> outbox.offer(KEEPALIVE, null, null),
                    ms, ms, TimeUnit.MILLISECONDS);
        }

        /** Starts this stream's own backfill of {@code named} (all published tables when empty). */
        void snapshot(List<TableName> named) {
            String me = "sse:" + UUID.randomUUID();
            consumer = me;
            backfiller.gate(me, () -> outbox.queuedBytes() < service.sendQueueBytes() / 4);
            try {
                backfill = backfiller.submit(named, null, me);
            } catch (Exception e) {
                streamEnded("the snapshot could not start: " + e.getMessage());
            }
        }

        @Override
        public void deliver(ChangeEvent event, LiveFanOut.EventBytes bytes) {
            if (event.snapshot() != null && !event.snapshot().consumer().equals(consumer)) {
                return; // another consumer's snapshot row
            }
            if (!format.supports(event.op()) || !filter.matches(event) || !grant.admits(event)) {
                return;
            }
            byte[] json = bytes.in(format);
            byte[] head = ("id: " + event.id() + "\nevent: " + event.op().json() + "\ndata: ").getBytes(StandardCharsets.UTF_8);
            byte[] frame = new byte[head.length + json.length + 2];
            System.arraycopy(head, 0, frame, 0, head.length);
            System.arraycopy(json, 0, frame, head.length, json.length);
            frame[frame.length - 2] = '\n';
            frame[frame.length - 1] = '\n';
            if (outbox.offer(frame, farewell, "the client did not keep up")) {
                service.counters().sseMessage();
            }
        }

        @Override
        public void streamEnded(String reason) {
            outbox.closeAfter(("event: error\ndata: {\"message\":" + quote(reason) + "}\n\n").getBytes(StandardCharsets.UTF_8),
                    reason);
        }

        private byte[] farewell() {
            return ("event: error\ndata: {\"message\":\"Disconnected: this client did not read changes as fast as they came\"}\n\n")
                    .getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public void write(List<byte[]> messages, Runnable done, Consumer<Throwable> failed) {
            ByteBuffer bytes;
            if (messages.size() == 1) {
                bytes = ByteBuffer.wrap(messages.get(0));
            } else {
                bytes = ByteBuffer.allocate(messages.stream().mapToInt(m -> m.length).sum());
                for (byte[] m : messages) {
                    bytes.put(m);
                }
                bytes.flip();
            }
            response.write(false, bytes, Callback.from(done, failed));
        }

        @Override
        public void close(String reason) {
            if (end()) {
                response.write(true, ByteBuffer.allocate(0), callback);
            }
        }

        @Override
        public void abort() {
            if (end()) {
                callback.failed(new java.io.IOException("SSE stream aborted"));
            }
        }

        private boolean end() {
            if (!ended.compareAndSet(false, true)) {
                return false;
            }
            service.fanOut().unsubscribe(this, tables);
            service.counters().sseClosed();
            if (keepAliveTask != null) {
                keepAliveTask.cancel(false);
            }
            outbox.discard();
            String mine = backfill;
            if (consumer != null) {
                backfiller.ungate(consumer);
            }
            if (mine != null) {
                Thread.ofVirtual().start(() -> {
                    try {
                        backfiller.forget(mine);
                    } catch (Exception e) {
                        org.slf4j.LoggerFactory.getLogger(SseHandler.class).warn("could not remove the snapshot {} of a "
                                + "closed SSE stream: {}", mine, e.getMessage());
                    }
                });
            }
            return true;
        }

        private static String quote(String s) {
            return new String(com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(s));
        }
    }
}
