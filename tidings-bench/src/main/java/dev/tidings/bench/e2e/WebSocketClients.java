package dev.tidings.bench.e2e;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CountDownLatch;
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
 * {@code disconnected} and keeps the others from finishing. A line {@code report} on stdin makes the
 * clients report what they have so far (the coordinator sends it when they are not done in time),
 * so a case the machine cannot keep up with still gives its figures: deliveries below
 * {@code clients × expected}.
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
    private final java.util.concurrent.atomic.LongAdder deliveries = new java.util.concurrent.atomic.LongAdder();
    /** Deliveries over 100 ms and the worst latency since the last progress line: when the tail happens. */
    private final java.util.concurrent.atomic.LongAdder slow = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAccumulator worst = new java.util.concurrent.atomic.LongAccumulator(Math::max, 0);
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
        warmUp();
        URI uri = URI.create(url);
        // Two selector threads, each owning half the connections; the clients read bytes and look
        // for commit_timestamp in them, no text decoding: the clients share the cores with the
        // server and PostgreSQL, so what they spend is taken from what is measured.
        int threads = 2;
        List<Selector> selectors = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            selectors.add(Selector.open());
        }
        List<Conn> conns = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            Conn c = connect(uri);
            conns.add(c);
        }
        System.err.println(clients + " clients connected");
        for (int i = 0; i < conns.size(); i++) {
            Conn c = conns.get(i);
            c.channel.configureBlocking(false);
            c.channel.register(selectors.get(i % threads), SelectionKey.OP_READ, c);
        }
        for (Selector sel : selectors) {
            Thread.ofPlatform().daemon().name("clients-io").start(() -> loop(sel));
        }
        for (Conn c : conns) {
            c.send(JOIN);
        }
        Thread.ofPlatform().daemon().name("progress").start(() -> {
            while (allDone.getCount() > 0) {
                System.err.printf("joined %d, deliveries %d, clients complete %d, disconnected %d; in the last 2 s:"
                                + " %d over 100 ms, worst %.1f ms%n", clients - joined.getCount(), deliveries.sum(),
                        complete.get(), disconnected.get(), slow.sumThenReset(), worst.getThenReset() / 10.0);
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        if (!joined.await(60, TimeUnit.SECONDS) || joinFailure != null) {
            throw new IllegalStateException("joins not answered ok within 60 s: " + joined.getCount() + " missing; "
                    + joinFailure);
        }
        Thread.ofPlatform().daemon().name("stdin").start(() -> {
            try {
                java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.equals("report")) {
                        report();
                    }
                }
            } catch (java.io.IOException e) {
                // the coordinator went away
            }
        });
        System.out.println(ChildProtocol.PREFIX + "READY");
        System.out.flush();
        while (!allDone.await(25, TimeUnit.SECONDS)) {
            for (Conn c : conns) {
                c.send(HEARTBEAT);
            }
        }
    }

    private void loop(Selector selector) {
        try {
            while (true) {
                selector.select();
                for (SelectionKey key : selector.selectedKeys()) {
                    Conn c = (Conn) key.attachment();
                    if (!c.read()) {
                        key.cancel();
                        disconnected.incrementAndGet();
                        System.err.println("client disconnected");
                    }
                }
                selector.selectedKeys().clear();
            }
        } catch (IOException e) {
            System.err.println("selector failed: " + e);
        }
    }

    private synchronized void report() {
        if (allDone.getCount() == 0) {
            return;
        }
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

    private static final byte[] COMMIT = "\"commit_timestamp\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PHX_REPLY = "\"phx_reply\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OK = "\"status\":\"ok\"".getBytes(StandardCharsets.US_ASCII);

    /** One connection: a WebSocket over a plain socket, server frames parsed as bytes (RFC 6455). */
    private final class Conn {
        final SocketChannel channel;
        private ByteBuffer in;
        private boolean isJoined;
        private long received;

        private Conn(SocketChannel channel, ByteBuffer rest) {
            this.channel = channel;
            this.in = rest;
        }


        synchronized void send(String text) throws IOException {
            byte[] payload = text.getBytes(StandardCharsets.UTF_8);
            ByteBuffer frame = ByteBuffer.allocate(payload.length + 14);
            frame.put((byte) 0x81);
            if (payload.length < 126) {
                frame.put((byte) (0x80 | payload.length));
            } else {
                frame.put((byte) (0x80 | 126)).putShort((short) payload.length);
            }
            byte[] mask = {1, 2, 3, 4};
            frame.put(mask);
            for (int i = 0; i < payload.length; i++) {
                frame.put((byte) (payload[i] ^ mask[i & 3]));
            }
            frame.flip();
            while (frame.hasRemaining()) {
                if (channel.write(frame) == 0) {
                    Thread.onSpinWait();
                }
            }
        }

        /** Reads what is there and handles every whole frame; false when the connection is gone. */
        boolean read() throws IOException {
            int n = channel.read(in);
            if (n < 0) {
                return false;
            }
            long now = ChildProtocol.nowMicros();
            in.flip();
            while (in.remaining() >= 2) {
                int start = in.position();
                int op = in.get(start) & 0x0F;
                int len = in.get(start + 1) & 0x7F;
                int header = 2;
                if (len == 126) {
                    if (in.remaining() < 4) {
                        break;
                    }
                    len = in.getShort(start + 2) & 0xFFFF;
                    header = 4;
                } else if (len == 127) {
                    if (in.remaining() < 10) {
                        break;
                    }
                    len = (int) in.getLong(start + 2);
                    header = 10;
                }
                if (in.remaining() < header + len) {
                    if (header + len > in.capacity()) {
                        ByteBuffer bigger = ByteBuffer.allocate(header + len + 4096);
                        bigger.put(in);
                        in = bigger;
                        return true;
                    }
                    break;
                }
                if (op == 8) {
                    return false;
                }
                if (op == 1) {
                    text(in.array(), start + header, len, now);
                }
                in.position(start + header + len);
            }
            in.compact();
            return true;
        }

        private void text(byte[] b, int from, int len, long now) {
            if (!isJoined) {
                if (indexOf(b, from, len, PHX_REPLY) >= 0) {
                    isJoined = true;
                    if (indexOf(b, from, len, OK) < 0) {
                        joinFailure = new String(b, from, len, StandardCharsets.UTF_8);
                    }
                    joined.countDown();
                }
                return;
            }
            int at = indexOf(b, from, len, COMMIT);
            if (at < 0) {
                return;
            }
            long commitMicros = epochMicros(b, at + COMMIT.length);
            long bucket = Math.min(BUCKETS, Math.max(0, (now - commitMicros) / 100));
            histogram.incrementAndGet((int) bucket);
            if (bucket > 1000) {
                slow.increment();
            }
            worst.accumulate(bucket);
            deliveries.increment();
            if (first == 0) {
                first = now;
            }
            last = now;
            if (++received == expected && complete.incrementAndGet() == clients) {
                report();
            }
        }
    }

    /** Connects and upgrades, blocking; the socket is made non-blocking by the caller. */
    private Conn connect(URI uri) throws IOException {
        SocketChannel ch = SocketChannel.open(new InetSocketAddress(uri.getHost(), uri.getPort()));
        ch.socket().setTcpNoDelay(true);
        byte[] key = new byte[16];
        java.util.concurrent.ThreadLocalRandom.current().nextBytes(key);
        String request = "GET " + uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery())
                + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort() + "\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: " + Base64.getEncoder().encodeToString(key)
                + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
        ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
        while (out.hasRemaining()) {
            ch.write(out);
        }
        ByteBuffer in = ByteBuffer.allocate(1 << 16);
        while (true) {
            if (ch.read(in) < 0) {
                throw new IOException("connection closed during the upgrade");
            }
            String head = new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1);
            int end = head.indexOf("\r\n\r\n");
            if (end >= 0) {
                if (!head.startsWith("HTTP/1.1 101")) {
                    throw new IOException("upgrade refused: " + head.lines().findFirst().orElse(head));
                }
                in.flip();
                in.position(end + 4);
                in.compact();
                return new Conn(ch, in);
            }
        }
    }

    /**
     * Runs the per-frame scan of this instrument (find {@code commit_timestamp}, parse it) on a
     * frame shaped like the server's until the JVM has compiled it, before any connection opens:
     * otherwise the first seconds of the load measure this process' own JIT compilation, which
     * competes for the same 2 cores, not the server. Nothing of the server is warmed.
     */
    private static void warmUp() {
        byte[] frame = ("{\"event\":\"postgres_changes\",\"payload\":{\"ids\":[1],\"data\":{\"columns\":[{\"name\":\"id\","
                + "\"type\":\"int4\"},{\"name\":\"t\",\"type\":\"text\"}],\"commit_timestamp\":\"2026-01-01T00:00:00.123Z\","
                + "\"errors\":null,\"record\":{\"id\":1,\"t\":\"abc\"},\"schema\":\"public\",\"table\":\"bench\","
                + "\"type\":\"INSERT\"}},\"ref\":null,\"topic\":\"realtime:bench\"}").getBytes(StandardCharsets.UTF_8);
        long sum = 0;
        for (int i = 0; i < 200_000; i++) {
            int at = indexOf(frame, 0, frame.length, COMMIT);
            sum += epochMicros(frame, at + COMMIT.length) + indexOf(frame, 0, frame.length, PHX_REPLY);
        }
        if (sum == 42) {
            System.err.println("unlikely");
        }
    }

    private static int indexOf(byte[] b, int from, int len, byte[] what) {
        outer:
        for (int i = from; i <= from + len - what.length; i++) {
            for (int j = 0; j < what.length; j++) {
                if (b[i + j] != what[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** {@code 2024-05-01T12:00:00.123Z} at {@code at} → microseconds since the epoch (UTC, years 1970–9999). */
    static long epochMicros(byte[] s, int at) {
        int year = num(s, at, 4), month = num(s, at + 5, 2), day = num(s, at + 8, 2);
        int hour = num(s, at + 11, 2), minute = num(s, at + 14, 2), second = num(s, at + 17, 2);
        int millis = num(s, at + 20, 3);
        long days = java.time.LocalDate.of(year, month, day).toEpochDay();
        return ((days * 86_400 + hour * 3600L + minute * 60L + second) * 1000 + millis) * 1000;
    }

    private static int num(byte[] s, int at, int len) {
        int v = 0;
        for (int i = 0; i < len; i++) {
            v = v * 10 + (s[at + i] - '0');
        }
        return v;
    }
}
