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
import dev.tidings.server.log.LogReader;
import dev.tidings.server.log.EventId;
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
 * header (401/403 otherwise), whose role and row policies apply.
 *
 * <p>Resume: a request with {@code Last-Event-ID} (which {@code EventSource} sends by itself when it
 * reconnects; or the {@code last_event_id} parameter) continues exactly after that event: first
 * what the change log holds after it, then live, with no gap and no duplicate. The hand-over: the
 * stream subscribes first and ignores live events while it replays from the log on a virtual
 * thread (each event is appended to the log before it is published, so every ignored event is in
 * the log); the last page is read while holding the stream's lock, which {@link Stream#deliver}
 * takes too, and from then on live events after the last replayed id are sent. An id the log no
 * longer holds (retention), or any id on a server without a log, gets {@code event: reset}: the
 * client must refetch; its {@code id:} is where the stream goes on from, and with
 * {@code snapshot=true} the snapshot is sent again. The replay waits while the stream's send
 * queue is half full, so a resume of many events does not overflow it.
 *
 * <p>With {@code snapshot=true} the stream first carries
 * the current rows of its tables as {@code read} events, merged with the live changes: a backfill of
 * its own (consumer {@code sse:<id>}), paced by this stream's send queue and removed when it ends. A comment line keeps idle streams open through
 * proxies and finds dead clients. Each stream has the same bounded send queue as a WebSocket:
 * a client that does not keep up gets an {@code event: error} and the stream ends.
 */
public final class SseHandler extends Handler.Abstract.NonBlocking {
    private static final byte[] KEEPALIVE = ": keepalive\n\n".getBytes(StandardCharsets.US_ASCII);

    private static final int REPLAY_PAGE = 500;

    private final LiveService service;
    private final Authenticator auth;
    private final boolean rls;
    private final Duration keepAlive;
    private final Backfiller backfiller;
    private final LogReader changeLog;

    /**
     * @param backfiller the stream's backfill engine, for {@code snapshot=true}; null when there is none
     * @param changeLog  the change log clients resume from; null when there is none
     */
    /** @param rls RLS mode is on: SSE streams are refused (501), their changes are not checked row by row */
    public SseHandler(LiveService service, Authenticator auth, Duration keepAlive, Backfiller backfiller, LogReader changeLog,
                      boolean rls) {
        this.rls = rls;
        this.service = service;
        this.auth = auth;
        this.keepAlive = keepAlive;
        this.backfiller = backfiller;
        this.changeLog = changeLog;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        if (!Request.getPathInContext(request).equals("/events")) {
            return false;
        }
        if (!request.getMethod().equals("GET")) {
            return refuse(response, callback, 405, "use GET /events?tables=schema.table&filter=…&format=…");
        }
        if (rls) {
            return refuse(response, callback, 501, "SSE is not available in RLS mode (auth.rls: true): its changes are not "
                    + "checked against row level security; subscribe over the Realtime WebSocket, or turn auth.rls off "
                    + "and protect rows with auth.roles and auth.rows");
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
        String lastEventId = request.getHeaders().get("Last-Event-ID");
        if (lastEventId == null || lastEventId.isBlank()) {
            lastEventId = q.getValue("last_event_id");
        }
        EventId resumeAfter;
        try {
            resumeAfter = lastEventId == null || lastEventId.isBlank() ? null : EventId.parse(lastEventId.strip());
        } catch (IllegalArgumentException e) {
            return refuse(response, callback, 400, "Last-Event-ID: " + e.getMessage());
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
        Stream stream = new Stream(response, callback, format, filter, grant, TableFilter.anyOf(tables),
                resumeAfter != null && changeLog != null);
        if (resumeAfter == null) {
            stream.start();
            if (snapshot) {
                stream.snapshot(named);
            }
        } else if (changeLog == null) {
            stream.start();
            stream.reset("this server keeps no change log (log.dir), so it cannot resume after " + resumeAfter, null);
            if (snapshot) {
                stream.snapshot(named);
            }
        } else {
            stream.start();
            Thread.ofVirtual().name("tidings-sse-replay").start(() -> stream.replay(resumeAfter, snapshot ? named : null));
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
        /** Whether this stream resumes from the log; then the two fields below are used under its lock. */
        private final boolean resumed;
        /** Live events are ignored while the log is replayed ... */
        private boolean replaying;
        /** ... and afterwards sent only when after this id (null: no resume, all are sent). */
        private EventId sentUpTo;

        Stream(Response response, Callback callback, EventFormat format, Filter filter, AccessPolicy.Grant grant,
               TableFilter tables, boolean resumed) {
            this.resumed = resumed;
            this.replaying = resumed;
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
            service.fanOut().subscribe(this, List.of(new LiveFanOut.Interest(tables, filter)));
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

        /**
         * Sends what the log holds after {@code after}, then hands over to live delivery (see the
         * class comment); on a reset, starts the snapshot of {@code snapshotTables} when not null.
         */
        void replay(EventId after, List<TableName> snapshotTables) {
            EventId cursor = after;
            try {
                while (true) {
                    LogReader.Read read = changeLog.readAfter(cursor, REPLAY_PAGE);
                    if (read instanceof LogReader.Read.Events(List<ChangeEvent> events) && events.size() == REPLAY_PAGE) {
                        cursor = send(events);
                        if (cursor == null) {
                            return; // the stream ended
                        }
                        continue;
                    }
                    synchronized (this) {
                        // the last page, read while live delivery waits: nothing falls between the two
                        read = changeLog.readAfter(cursor, Integer.MAX_VALUE);
                        if (read instanceof LogReader.Read.Expired(EventId oldest)) {
                            EventId from = changeLog.last();
                            sentUpTo = from;
                            replaying = false;
                            reset("events after " + after + " are no longer in the change log (" + (oldest == null ? "it is empty"
                                    : "its oldest is " + oldest) + "; log.retention, log.max_bytes): refetch, then go on from here", from);
                        } else {
                            EventId last = sendAll(((LogReader.Read.Events) read).events(), cursor);
                            sentUpTo = last;
                            replaying = false;
                            return;
                        }
                    }
                    if (snapshotTables != null) {
                        snapshot(snapshotTables);
                    }
                    return;
                }
            } catch (RuntimeException e) {
                streamEnded("the change log could not be read: " + e.getMessage());
            }
        }

        /** Sends a page of the replay, waiting while the send queue is half full; the last id, or null when the stream ended. */
        private EventId send(List<ChangeEvent> events) {
            EventId last = null;
            for (ChangeEvent event : events) {
                while (!outbox.belowHalf()) {
                    if (outbox.closing()) {
                        return null;
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
                }
                if (outbox.closing()) {
                    return null;
                }
                replayed(event);
                last = EventId.of(event);
            }
            return last;
        }

        /** The last page, under the lock: not paced (it is what came while the pages were sent). */
        private EventId sendAll(List<ChangeEvent> events, EventId cursor) {
            for (ChangeEvent event : events) {
                replayed(event);
                cursor = EventId.of(event);
            }
            return cursor;
        }

        /** An event of the log: the log has every table, the fan-out would have given this stream only its own. */
        private void replayed(ChangeEvent event) {
            if (tables.matches(event.schema(), event.table())) {
                offer(event, format.supports(event.op()) ? format.toBytes(event) : null);
            }
        }

        /** Tells the client to refetch: {@code from} is the id to resume from later (null: none). */
        void reset(String reason, EventId from) {
            String id = from == null ? "" : "id: " + from + "\n";
            outbox.offer((id + "event: reset\ndata: {\"message\":" + quote(reason) + (from == null ? "" : ",\"id\":\"" + from + "\"")
                    + "}\n\n").getBytes(StandardCharsets.UTF_8), farewell, "the client did not keep up");
        }

        @Override
        public void deliver(ChangeEvent event, LiveFanOut.EventBytes bytes) {
            if (event.snapshot() != null && !event.snapshot().consumer().equals(consumer)) {
                return; // another consumer's snapshot row
            }
            if (resumed) {
                synchronized (this) {
                    if (replaying || (event.snapshot() == null && sentUpTo != null && !EventId.of(event).isAfter(sentUpTo))) {
                        return; // comes, or came, from the log
                    }
                }
            }
            offer(event, format.supports(event.op()) ? bytes.in(format) : null);
        }

        /** Queues one event in this stream's format when its filters admit it ({@code json} null: the format has no such event). */
        private void offer(ChangeEvent event, byte[] json) {
            if (json == null || !filter.matches(event) || !grant.admits(event)) {
                return;
            }
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
            service.fanOut().unsubscribe(this);
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

        /** {@code s} as a JSON string, quotes included. */
        private static String quote(String s) {
            return '"' + new String(com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(s)) + '"';
        }
    }
}
