package dev.tidings.bench.e2e;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The WebSocket clients of the fan-out cases, in a JVM of their own: {@code N} connections to
 * {@code tidings serve}, each speaking the Phoenix protocol (vsn 1.0.0, JSON object frames) as a
 * realtime-js v2 client does — a {@code phx_join} with one {@code postgres_changes} binding on the
 * bench table — and each counting the {@code postgres_changes} pushes it receives.
 *
 * <p>Latency is receive time − the change's {@code commit_timestamp}, which Realtime's format
 * truncates to milliseconds, so every sample is overstated by up to 1 ms (on the safe side). The
 * samples of all clients go to one histogram of 0.1 ms buckets.
 *
 * <p>Protocol with the coordinator ({@link ChildProtocol} lines): {@code @@ READY} once every
 * client's join was answered ok; {@code @@ DONE <deliveries> <first> <last>} when every client has
 * {@code expected} changes; {@code @@ FANOUT <clients> <deliveries> <disconnected> <p50> <p95> <p99>
 * <max>} (µs); {@code @@ FAIL …} when a join fails. A client that is disconnected counts in
 * {@code disconnected} and keeps the others from finishing, so the coordinator times out and says
 * how many deliveries arrived.
 *
 * <p>Usage: {@code WebSocketClients <ws-url> <clients> <expected-per-client>}
 */
public final class WebSocketClients {
    private static final String JOIN = "{\"topic\":\"realtime:bench\",\"event\":\"phx_join\",\"payload\":{\"config\":"
            + "{\"postgres_changes\":[{\"event\":\"*\",\"schema\":\"public\",\"table\":\"bench\"}]}},\"ref\":\"1\",\"join_ref\":\"1\"}";
    private static final String HEARTBEAT = "{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":\"hb\"}";
    private static final int BUCKETS = 600_000; // 0.1 ms each: up to 60 s

    private final long expected;
    private final AtomicLongArray histogram = new AtomicLongArray(BUCKETS + 1);
    private final AtomicInteger complete = new AtomicInteger();
    private final AtomicInteger disconnected = new AtomicInteger();
    private final CountDownLatch joined;
    private final CountDownLatch allDone = new CountDownLatch(1);
    private final int clients;
    private volatile long first;
    private volatile long last;
    private volatile String joinFailure;

    private WebSocketClients(int clients, long expected) {
        this.clients = clients;
        this.expected = expected;
        this.joined = new CountDownLatch(clients);
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        int clients = Integer.parseInt(args[1]);
        long expected = Long.parseLong(args[2]);
        WebSocketClients run = new WebSocketClients(clients, expected);
        try {
            run.run(url);
        } catch (Throwable t) {
            System.out.println(ChildProtocol.PREFIX + "FAIL " + String.valueOf(t).replace('\n', ' '));
            System.out.flush();
        }
        ChildProtocol.idleForever();
    }

    private void run(String url) throws Exception {
        // a few HttpClients, so that no single selector thread carries every connection
        List<HttpClient> https = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            https.add(HttpClient.newBuilder().executor(Executors.newFixedThreadPool(2)).build());
        }
        List<WebSocket> sockets = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            CompletableFuture<WebSocket> ws = https.get(i % https.size()).newWebSocketBuilder()
                    .connectTimeout(Duration.ofSeconds(10)).buildAsync(URI.create(url), new Client());
            sockets.add(ws.get(20, TimeUnit.SECONDS));
        }
        for (WebSocket ws : sockets) {
            ws.sendText(JOIN, true);
        }
        if (!joined.await(60, TimeUnit.SECONDS) || joinFailure != null) {
            throw new IllegalStateException("joins not answered ok within 60 s: " + joined.getCount() + " missing; "
                    + joinFailure);
        }
        System.out.println(ChildProtocol.PREFIX + "READY");
        System.out.flush();
        while (!allDone.await(25, TimeUnit.SECONDS)) {
            for (WebSocket ws : sockets) {
                ws.sendText(HEARTBEAT, true);
            }
        }
    }

    private void report() {
        long n = 0;
        for (int i = 0; i <= BUCKETS; i++) {
            n += histogram.get(i);
        }
        System.out.println(ChildProtocol.PREFIX + "DONE " + n + " " + first + " " + last);
        System.out.println(ChildProtocol.PREFIX + "FANOUT " + clients + " " + n + " " + disconnected.get() + " "
                + rank(n, 0.50) + " " + rank(n, 0.95) + " " + rank(n, 0.99) + " " + rank(n, 1.0));
        System.out.flush();
        allDone.countDown();
    }

    /** The nearest-rank quantile in µs (bucket upper bound). */
    private long rank(long n, double q) {
        long target = Math.max(1, (long) Math.ceil(q * n));
        long seen = 0;
        for (int i = 0; i <= BUCKETS; i++) {
            seen += histogram.get(i);
            if (seen >= target) {
                return (i + 1) * 100L;
            }
        }
        return 0;
    }

    /** One connection. The JDK calls a listener for one message at a time. */
    private final class Client implements WebSocket.Listener {
        private final StringBuilder partial = new StringBuilder();
        private boolean isJoined;
        private long received;

        @Override
        public void onOpen(WebSocket ws) {
            ws.request(Long.MAX_VALUE);
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean lastPart) {
            long now = ChildProtocol.nowMicros();
            CharSequence text = data;
            if (!lastPart || partial.length() > 0) {
                partial.append(data);
                if (!lastPart) {
                    return null;
                }
                text = partial.toString();
                partial.setLength(0);
            }
            String s = text.toString();
            if (!isJoined) {
                if (s.contains("\"phx_reply\"")) {
                    isJoined = true;
                    if (!s.contains("\"status\":\"ok\"")) {
                        joinFailure = s;
                    }
                    joined.countDown();
                }
                return null;
            }
            int at = s.indexOf("\"commit_timestamp\":\"");
            if (at < 0 || !s.contains("\"postgres_changes\"")) {
                return null;
            }
            long commitMicros = epochMicros(s, at + 20);
            long bucket = Math.min(BUCKETS, Math.max(0, (now - commitMicros) / 100));
            histogram.incrementAndGet((int) bucket);
            if (first == 0) {
                first = now;
            }
            if (++received == expected) {
                last = now;
                if (complete.incrementAndGet() == clients) {
                    report();
                }
            }
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
            disconnected.incrementAndGet();
            System.err.println("client disconnected: " + status + " " + reason);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            disconnected.incrementAndGet();
            System.err.println("client error: " + error);
        }
    }

    /** {@code 2024-05-01T12:00:00.123Z} at {@code at} → microseconds since the epoch (UTC, years 1970–9999). */
    static long epochMicros(String s, int at) {
        int year = num(s, at, 4), month = num(s, at + 5, 2), day = num(s, at + 8, 2);
        int hour = num(s, at + 11, 2), minute = num(s, at + 14, 2), second = num(s, at + 17, 2);
        int millis = num(s, at + 20, 3);
        long days = java.time.LocalDate.of(year, month, day).toEpochDay();
        return ((days * 86_400 + hour * 3600L + minute * 60L + second) * 1000 + millis) * 1000;
    }

    private static int num(String s, int at, int len) {
        int v = 0;
        for (int i = 0; i < len; i++) {
            v = v * 10 + (s.charAt(at + i) - '0');
        }
        return v;
    }
}
