package dev.tidings.server.realtime;

import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.Row;
import dev.tidings.event.EventFormat;
import dev.tidings.event.SupabaseFormat;
import dev.tidings.server.auth.AccessPolicy;
import dev.tidings.server.auth.RowSecurity;
import dev.tidings.server.live.LiveFanOut;
import dev.tidings.server.log.EventId;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import static dev.tidings.server.realtime.PhoenixFrame.NULL;
import static dev.tidings.server.realtime.PhoenixFrame.ascii;

/**
 * One joined topic of one connection, subscribed in the {@link LiveFanOut} for its bindings' tables.
 *
 * <p>A legacy channel ({@code realtime:public:todos}) has one implied binding and gets each change
 * as {@code INSERT}/{@code UPDATE}/{@code DELETE}, and a 0.x client (its join carries no
 * {@code join_ref}) also as event {@code *}, which its {@code on('*')} listens to; 1.x and 2.x
 * ignore that copy, so they are not sent it. A {@code postgres_changes} channel gets one
 * {@code postgres_changes} push per change with the ids of every binding it matched. Both carry
 * the {@code supabase} serialization of the change, made once per event for all channels — except
 * when the matched bindings {@code select} columns: then this channel serializes its own
 * projection of the change (only the selected columns in {@code columns}, {@code record} and
 * {@code old_record}).
 *
 * <p>Each {@code postgres_changes} push carries the change's event id as the message's {@code ref}
 * (realtime-js hands it to the callback as its second argument; see docs/realtime-protocol.md),
 * which a client keeps to resume from. A resuming channel ({@link #holdLive}) ignores live changes
 * while {@link ChangeReplay} sends it what the change log holds, and afterwards those up to the
 * last replayed id ({@link #goLive}): both are decided under the {@link #handover} lock.
 *
 * <p>In RLS mode ({@link RowSecurity}) a change that some binding matches goes to the row security
 * checks first (one that no binding matches costs no query) and is sent from their thread, with
 * only the columns the subscriber's role may read (then encoded for this channel) and Supabase's
 * {@code errors} entries when there are some.
 *
 * <p>A channel writes through its connection's {@link Outlet}, never back into the socket.
 * {@link #deliver} runs on the fan-out thread; the rest on the connection's threads. The grant
 * (what the token allows) and the token are replaced whole when the token is refreshed.
 */
final class Channel implements LiveFanOut.Subscriber, RowSecurity.Reader {
    static final EventFormat SUPABASE = EventFormat.named("supabase");
    private static final byte[] IDS = ascii("{\"ids\":[");
    private static final byte[] DATA = ascii("],\"data\":");
    private static final byte[] END = ascii("}");

    /** Where a channel's frames go: its connection's bounded send queue. Must not block. */
    @FunctionalInterface
    interface Outlet {
        /** Queues a frame made by {@link WireFrames} (it may be shared by every connection that gets it). */
        void sendFrame(byte[] frame);
    }

    private final Outlet outlet;
    private final ScheduledExecutorService timers;
    private final PhoenixFrame.Vsn vsn;
    final String topic;
    final byte[] topicJson;
    final String joinRef;
    final boolean legacy;
    /** A legacy channel of a 0.x client, which needs every change also as event {@code *}. */
    private final boolean starFrames;
    final List<Binding> bindings;
    /** Frame keys of the common cases, made once: legacy {@code *} and each type; all bindings matched. */
    private final FrameKey legacyStar;
    private final FrameKey[] legacyTyped;
    private final FrameKey allMatched;
    private volatile AccessPolicy.Grant grant;
    /** The row security checks in RLS mode, else null; and who this channel reads as. */
    private final RowSecurity rowSecurity;
    private volatile RowSecurity.Identity identity;
    private volatile String token;
    private volatile boolean closed;
    private ScheduledFuture<?> expiry;
    /**
     * The lock of the hand-over from the replay to live delivery, apart from the channel's own (which
     * {@link #close} takes when a full send queue closes every channel of the connection).
     */
    final Object handover = new Object();
    /** Whether this channel resumes from the change log; then the two fields below are used under {@link #handover}. */
    private volatile boolean resumed;
    /** Live changes are ignored while the log is replayed ... */
    private boolean replaying;
    /** ... and afterwards sent only when after this id (null: all are sent). */
    private EventId sentUpTo;

    Channel(Outlet outlet, ScheduledExecutorService timers, PhoenixFrame.Vsn vsn, String topic, String joinRef,
            boolean legacy, List<Binding> bindings, AccessPolicy.Grant grant, String token, RowSecurity rowSecurity,
            RowSecurity.Identity identity) {
        this.outlet = outlet;
        this.timers = timers;
        this.vsn = vsn;
        // interned: channels on one topic then share the instance and frame keys compare by identity
        this.topic = topic.intern();
        this.topicJson = PhoenixFrame.quote(topic);
        this.joinRef = joinRef;
        this.legacy = legacy;
        this.starFrames = legacy && joinRef.equals(NULL);
        this.bindings = List.copyOf(bindings);
        this.grant = grant;
        this.token = token;
        this.rowSecurity = rowSecurity;
        this.identity = identity;
        this.legacyStar = new FrameKey(vsn, this.topic, "*", "");
        this.legacyTyped = new FrameKey[] {new FrameKey(vsn, this.topic, "INSERT", ""),
                new FrameKey(vsn, this.topic, "UPDATE", ""), new FrameKey(vsn, this.topic, "DELETE", "")};
        String ids = String.join(",", this.bindings.stream().map(b -> Integer.toString(b.id())).toList());
        this.allMatched = new FrameKey(vsn, this.topic, "postgres_changes", ids.intern());
    }

    /** What the channel subscribes to: each binding's tables, narrowed by its filter. */
    List<LiveFanOut.Interest> interests() {
        return bindings.stream().map(b -> new LiveFanOut.Interest(b.tables(), b.filter())).toList();
    }

    void grant(AccessPolicy.Grant grant, String token, RowSecurity.Identity identity) {
        this.grant = grant;
        this.token = token;
        this.identity = identity;
    }

    @Override
    public RowSecurity.Identity identity() {
        return identity;
    }

    /** The token the channel's grant came from (null without one). */
    String token() {
        return token;
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
            expiry = timers.schedule(onExpiry, ms, TimeUnit.MILLISECONDS);
        }
    }

    /** Makes live delivery wait for the replay of the change log; called before the channel subscribes. */
    void holdLive() {
        synchronized (handover) {
            resumed = true;
            replaying = true;
        }
    }

    /** Ends the replay: from now on live changes after {@code last} are sent (null: every one). */
    void goLive(EventId last) {
        synchronized (handover) {
            sentUpTo = last;
            replaying = false;
        }
    }

    @Override
    public void deliver(ChangeEvent event, LiveFanOut.EventBytes bytes) {
        if (admits(event) && !(resumed && fromLog(event))) {
            checkThenSend(event, bytes);
        }
    }

    @Override
    public void visible(ChangeEvent event, LiveFanOut.EventBytes bytes, Set<String> readable, List<String> errors) {
        if (!closed) {
            send(event, bytes, readable, errors);
        }
    }

    /** A change read from the change log while resuming: sent as a live one would be. */
    void replayed(ChangeEvent event) {
        if (admits(event)) {
            checkThenSend(event, null);
        }
    }

    private boolean admits(ChangeEvent event) {
        return !closed && SUPABASE.supports(event.op()) && grant.admits(event);
    }

    /** True when the change comes, or came, from the log's replay. */
    private boolean fromLog(ChangeEvent event) {
        synchronized (handover) {
            return replaying || sentUpTo != null && !EventId.of(event).isAfter(sentUpTo);
        }
    }

    private void checkThenSend(ChangeEvent event, LiveFanOut.EventBytes bytes) {
        if (rowSecurity == null) {
            send(event, bytes, null, null);
        } else if (anyBindingMatches(event)) {
            // a change no binding matches would not be sent whatever the database says: no check
            rowSecurity.check(event, bytes, this);
        }
    }

    /**
     * Whether {@link #send} would send {@code event} at all: the fan-out narrows the subscribers
     * by {@code eq} filters only, so the event, the other operators and {@code not.} are decided here.
     */
    private boolean anyBindingMatches(ChangeEvent event) {
        for (Binding b : bindings) {
            if (b.matches(event)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Queues the pushes of {@code event}; {@code bytes} null: a replayed change, encoded for this
     * channel alone, as is one with only the {@code readable} columns (null: all) or with {@code errors}.
     */
    private void send(ChangeEvent event, LiveFanOut.EventBytes bytes, Set<String> readable, List<String> errors) {
        boolean own = readable != null || errors != null;
        if (legacy) {
            if (bindings.get(0).matches(event)) {
                FrameKey typed = legacyTyped[switch (event.op()) {
                    case INSERT -> 0;
                    case UPDATE -> 1;
                    default -> 2;
                }];
                if (own) {
                    byte[] payload = payload(event, readable, errors);
                    if (starFrames) {
                        outlet.sendFrame(WireFrames.text(vsn.encode(NULL, NULL, topicJson, legacyStar.event, payload)));
                    }
                    outlet.sendFrame(WireFrames.text(vsn.encode(NULL, NULL, topicJson, typed.event, payload)));
                } else {
                    if (starFrames) {
                        outlet.sendFrame(frame(legacyStar, event, bytes, null, null));
                    }
                    outlet.sendFrame(frame(typed, event, bytes, null, null));
                }
            }
            return;
        }
        FrameKey key = allMatched;
        StringBuilder ids = null;
        Set<String> selected = null;
        boolean everyColumn = false;
        for (int i = 0; i < bindings.size(); i++) {
            Binding b = bindings.get(i);
            if (b.matches(event)) {
                if (ids != null) {
                    ids.append(ids.isEmpty() ? "" : ",").append(b.id());
                }
                if (b.select() == null) {
                    everyColumn = true;
                } else {
                    selected = selected == null ? new LinkedHashSet<>() : selected;
                    selected.addAll(b.select());
                }
            } else if (ids == null) {
                // not every binding matched: list the ids of those that did
                ids = new StringBuilder();
                for (int j = 0; j < i; j++) {
                    ids.append(ids.isEmpty() ? "" : ",").append(bindings.get(j).id());
                }
            }
        }
        if (ids != null) {
            if (ids.isEmpty()) {
                return;
            }
            key = new FrameKey(allMatched.vsn, topic, allMatched.event, ids.toString());
        }
        Set<String> columns = selected != null && !everyColumn ? intersection(selected, readable) : readable;
        if (columns != null || errors != null) {
            byte[] payload = payload(event, columns, errors);
            outlet.sendFrame(WireFrames.text(vsn.encode(NULL, ref(event), topicJson, key.event, payload,
                    concat(IDS, ascii(key.ids), DATA), END)));
            return;
        }
        outlet.sendFrame(frame(key, event, bytes, IDS, DATA));
    }

    /** The supabase payload of {@code event} with only {@code columns} (null: all) and {@code errors} (null: none). */
    private static byte[] payload(ChangeEvent event, Set<String> columns, List<String> errors) {
        EventFormat format = errors == null ? SUPABASE : SupabaseFormat.withErrors(errors);
        return format.toBytes(columns == null ? event : project(event, columns));
    }

    /** The columns in both, in {@code a}'s order; {@code a} when {@code b} is null (every column). */
    private static Set<String> intersection(Set<String> a, Set<String> b) {
        if (b == null) {
            return a;
        }
        Set<String> both = new LinkedHashSet<>(a);
        both.retainAll(b);
        return both;
    }

    /** The event id as the JSON text of a push's {@code ref}. */
    private static String ref(ChangeEvent event) {
        return '"' + event.id() + '"';
    }

    /** The change with only the {@code selected} columns, in the table's order. */
    private static ChangeEvent project(ChangeEvent event, Set<String> selected) {
        List<Column> columns = event.columns().stream().filter(c -> selected.contains(c.name())).toList();
        return new ChangeEvent(event.op(), event.schema(), event.table(), columns, project(event.record(), columns),
                project(event.oldRecord(), columns), event.unchangedToast().stream().filter(selected::contains).toList(),
                event.tx(), event.index(), event.lsn(), event.message());
    }

    private static Row project(Row row, List<Column> columns) {
        if (row == null) {
            return null;
        }
        String[] values = new String[columns.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = row.json(columns.get(i).name());
        }
        return new Row(columns, values);
    }

    /**
     * The push of the event under {@code key}, encoded by the first channel that asks and shared
     * ({@code bytes} null: encoded for this channel only): the supabase JSON as the payload, or as
     * {@code {"ids":[…],"data":…}} with the event id as {@code ref} when {@code ids} is given.
     */
    private byte[] frame(FrameKey key, ChangeEvent event, LiveFanOut.EventBytes bytes, byte[] ids, byte[] data) {
        byte[] frame = bytes == null ? null : bytes.frame(key);
        if (frame != null) {
            return frame;
        }
        byte[] payload = bytes == null ? SUPABASE.toBytes(event) : bytes.in(SUPABASE);
        frame = WireFrames.text(ids == null
                ? key.vsn.encode(NULL, NULL, topicJson, key.event, payload)
                : key.vsn.encode(NULL, ref(event), topicJson, key.event, payload, concat(ids, ascii(key.ids), data), END));
        return bytes == null ? frame : bytes.keep(key, frame);
    }

    /** What makes two channels' frames of one event byte-identical (see {@link LiveFanOut.EventBytes#frame}). */
    private static final class FrameKey {
        final PhoenixFrame.Vsn vsn;
        final String topic;
        final String event;
        final String ids;

        FrameKey(PhoenixFrame.Vsn vsn, String topic, String event, String ids) {
            this.vsn = vsn;
            this.topic = topic;
            this.event = event;
            this.ids = ids;
        }

        // written out (not a record): this runs per subscriber per change, and the strings of
        // channels on one topic are the same instances, so the comparisons stop at identity
        @Override
        public boolean equals(Object o) {
            return o instanceof FrameKey k && vsn == k.vsn && topic.equals(k.topic) && event.equals(k.event)
                    && ids.equals(k.ids);
        }

        @Override
        public int hashCode() {
            return topic.hashCode() * 31 + ids.hashCode();
        }
    }

    @Override
    public void streamEnded(String reason) {
        if (!closed) {
            push("phx_error", Map.of("reason", reason));
        }
    }

    /** A server push on this channel ({@code system}, {@code phx_error}, {@code phx_close}). */
    void push(String event, Map<String, ?> payload) {
        outlet.sendFrame(WireFrames.text(vsn.encode(joinRef, NULL, topicJson, event, PhoenixFrame.json(payload))));
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
