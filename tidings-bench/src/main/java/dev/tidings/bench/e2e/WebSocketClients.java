package dev.tidings.bench.e2e;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
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
 * <p>Broadcast mode (with the three last arguments): the clients join {@code realtime:room-<k>} in
 * rooms of {@code room-size} with {@code config.broadcast.self} on, and a line {@code send} on stdin
 * makes them send {@code messages} JSON broadcasts {@code {"t": <µs>}} at {@code per-second}, the
 * rooms in turn and each room's members in turn as senders (so each client stays far below the
 * per-client rate limits); every member of the room, the sender too, counts it, and latency is
 * receive − send time (one clock: same process). {@code @@ SENT <messages/s achieved>} once sent.
 *
 * <p>Filtered mode ({@code filtered} as the fourth argument): client {@code k} (from 1) joins with
 * the filter {@code id=eq.k}, and {@code expected} is the deliveries of all clients together.
 *
 * <p>SSE mode ({@code sse}): the filtered mode over Server-Sent Events: the URL is the
 * {@code /events?…} one, client {@code k} opens it with {@code &filter=id=eq.k} added, and counts as
 * joined once the response's head ({@code 200}) has arrived; the events are read as bytes up to
 * each blank line. No heartbeats.
 *
 * <p>Idle mode ({@code idle}): the clients join as in the filtered mode and then only send their
 * heartbeats; the samples are the heartbeats' round trips (send → {@code phx_reply}), and nothing
 * completes before the coordinator asks for a {@code report}.
 *
 * <p>Heartbeats, in every WebSocket mode once all have joined: each client one every 25 s, as
 * realtime-js does, spread evenly over the 25 s (so 10,000 clients send 400 a second, not 10,000
 * at once), each with its send time in its {@code ref}.
 *
 * <p>Usage: {@code WebSocketClients <ws-url> <clients> <expected-per-client> [<room-size> <messages> <per-second>]},
 * or {@code WebSocketClients <ws-url|events-url> <clients> <expected-in-all> filtered|sse|idle}
 */
public final class WebSocketClients {
    private static final String JOIN = "{\"topic\":\"realtime:bench\",\"event\":\"phx_join\",\"payload\":{\"config\":"
            + "{\"postgres_changes\":[{\"event\":\"*\",\"schema\":\"public\",\"table\":\"bench\"}]}},\"ref\":\"1\",\"join_ref\":\"1\"}";
    /** The filtered mode's join of client {@code k}: its own row only. */
    private static final String FILTERED_JOIN = "{\"topic\":\"realtime:bench\",\"event\":\"phx_join\",\"payload\":"
            + "{\"config\":{\"postgres_changes\":[{\"event\":\"*\",\"schema\":\"public\",\"table\":\"bench\","
            + "\"filter\":\"id=eq.%d\"}]}},\"ref\":\"1\",\"join_ref\":\"1\"}";
    /** A heartbeat whose ref is {@code hb<send time, µs>}. */
    private static final String HEARTBEAT = "{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":\"hb%d\"}";
    private static final long HEARTBEAT_MILLIS = 25_000;
    /** Threads that open the connections, each one connection at a time. */
    private static final int CONNECTORS = 8;
    private static final int BUCKETS = 600_000; // 0.1 ms each: up to 60 s

    private final long expected;
    private final AtomicInteger complete = new AtomicInteger();
    private final AtomicInteger disconnected = new AtomicInteger();
    private final CountDownLatch joined;
    private final CountDownLatch allDone = new CountDownLatch(1);
    private final int clients;
    /** Broadcast mode: clients per room; 0 in the fan-out mode. */
    private final int roomSize;
    private final int messages;
    private final int perSecond;
    /** Filtered, SSE and idle modes: each client its own row; {@link #expected} counts every client's deliveries. */
    private final boolean filtered;
    private final boolean sse;
    private final boolean idle;
    private final java.util.concurrent.atomic.AtomicLong heartbeatsSent = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong receivedInAll = new java.util.concurrent.atomic.AtomicLong();
    private final List<Conn> conns = new ArrayList<>();
    /** One per selector thread, written only by it: no cache line is shared per delivery. */
    private final List<Samples> samples = new ArrayList<>();
    private volatile String joinFailure;

    /**
     * What one selector thread's connections received: the latency histogram, the first and last
     * receive time, and for the progress lines the deliveries over 100 ms and the worst since the
     * last line. Written by its thread only (release stores), read by the others.
     */
    private static final class Samples {
        final AtomicLongArray histogram = new AtomicLongArray(BUCKETS + 1);
        final java.util.concurrent.atomic.AtomicLong deliveries = new java.util.concurrent.atomic.AtomicLong();
        final java.util.concurrent.atomic.AtomicLong slow = new java.util.concurrent.atomic.AtomicLong();
        final java.util.concurrent.atomic.AtomicLong worst = new java.util.concurrent.atomic.AtomicLong();
        volatile long first;
        final java.util.concurrent.atomic.AtomicLong last = new java.util.concurrent.atomic.AtomicLong();

        void add(long now, long bucket) {
            histogram.lazySet((int) bucket, histogram.get((int) bucket) + 1);
            deliveries.lazySet(deliveries.get() + 1);
            if (bucket > 1000) {
                slow.lazySet(slow.get() + 1);
            }
            if (bucket > worst.get()) {
                worst.lazySet(bucket);
            }
            if (first == 0) {
                first = now;
            }
            last.lazySet(now);
        }
    }

    private WebSocketClients(int clients, long expected, String mode, int roomSize, int messages, int perSecond) {
        this.clients = clients;
        this.sse = mode.equals("sse");
        this.idle = mode.equals("idle");
        this.filtered = mode.equals("filtered") || sse || idle;
        this.expected = expected;
        this.roomSize = roomSize;
        this.messages = messages;
        this.perSecond = perSecond;
        this.joined = new CountDownLatch(clients);
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        int clients = Integer.parseInt(args[1]);
        long expected = Long.parseLong(args[2]);
        WebSocketClients run = args.length >= 6
                ? new WebSocketClients(clients, expected, "broadcast", Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                        Integer.parseInt(args[5]))
                : new WebSocketClients(clients, expected, args.length == 4 ? args[3] : "fanout", 0, 0, 0);
        try {
            run.run(url);
        } catch (Throwable t) {
            System.out.println(ChildProtocol.PREFIX + "FAIL " + String.valueOf(t).replace('\n', ' '));
            System.out.flush();
        }
        ChildProtocol.idleForever();
    }

    private void run(String url) throws Exception {
        if (!idle) {
            warmUp(); // the idle mode receives next to nothing
        }
        URI uri = URI.create(url);
        // Two selector threads, each owning half the connections; the clients read bytes and look
        // for commit_timestamp in them, no text decoding: the clients share the cores with the
        // server and PostgreSQL, so what they spend is taken from what is measured.
        int threads = 2;
        List<Selector> selectors = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            selectors.add(Selector.open());
            samples.add(new Samples());
        }
        long connecting = System.nanoTime();
        // Connections open CONNECTORS at a time, as many browsers would: one after another, each
        // waiting for its response head, made the bench's client the bottleneck (10,000 took 14.5 s).
        Conn[] opened = new Conn[clients];
        List<Thread> connectors = new ArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Exception> connectFailure = new java.util.concurrent.atomic.AtomicReference<>();
        for (int t = 0; t < CONNECTORS; t++) {
            int first = t;
            connectors.add(Thread.ofPlatform().name("connect-" + t).start(() -> {
                try {
                    for (int i = first; i < clients && connectFailure.get() == null; i += CONNECTORS) {
                        opened[i] = sse ? openStream(uri, i + 1, samples.get(i % threads)) : connect(uri, samples.get(i % threads));
                    }
                } catch (Exception e) {
                    connectFailure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread t : connectors) {
            t.join();
        }
        if (connectFailure.get() != null) {
            throw connectFailure.get();
        }
        conns.addAll(List.of(opened));
        System.err.printf("%d clients connected in %.2f s%n", clients, (System.nanoTime() - connecting) / 1e9);
        for (int i = 0; i < conns.size(); i++) {
            Conn c = conns.get(i);
            c.channel.configureBlocking(false);
            c.channel.register(selectors.get(i % threads), SelectionKey.OP_READ, c);
        }
        for (Selector sel : selectors) {
            Thread.ofPlatform().daemon().name("clients-io").start(() -> loop(sel));
        }
        for (int i = 0; i < conns.size() && !sse; i++) {
            conns.get(i).send(filtered ? FILTERED_JOIN.formatted(i + 1) : roomSize == 0 ? JOIN : "{\"topic\":\"realtime:room-" + i / roomSize + "\",\"event\":\"phx_join\","
                    + "\"payload\":{\"config\":{\"broadcast\":{\"self\":true},\"postgres_changes\":[]}},\"ref\":\"1\",\"join_ref\":\"1\"}");
        }
        Thread.ofPlatform().daemon().name("progress").start(() -> {
            while (allDone.getCount() > 0) {
                long n = 0;
                long slow = 0;
                long worst = 0;
                for (Samples t : samples) {
                    n += t.deliveries.get();
                    slow += t.slow.getAndSet(0);
                    worst = Math.max(worst, t.worst.getAndSet(0));
                }
                System.err.printf("joined %d, deliveries %d, clients complete %d, disconnected %d, heartbeats sent %d;"
                        + " in the last 2 s: %d over 100 ms, worst %.1f ms%n", clients - joined.getCount(), n,
                        complete.get(), disconnected.get(), heartbeatsSent.get(), slow, worst / 10.0);
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
        System.err.printf("%d clients connected and joined in %.2f s%n", clients, (System.nanoTime() - connecting) / 1e9);
        Thread.ofPlatform().daemon().name("stdin").start(() -> {
            try {
                java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.equals("report")) {
                        report();
                    } else if (line.equals("send") && roomSize > 0) {
                        Thread.ofPlatform().daemon().name("sender").start(this::sendBroadcasts);
                    }
                }
            } catch (java.io.IOException e) {
                // the coordinator went away
            }
        });
        System.out.println(ChildProtocol.PREFIX + "READY");
        System.out.flush();
        if (sse) {
            allDone.await();
        } else {
            heartbeats();
        }
    }

    /** Sends the heartbeats until done: every client one per 25 s, spread evenly, in 10 ms ticks. */
    private void heartbeats() throws IOException, InterruptedException {
        double perTick = conns.size() * 10.0 / HEARTBEAT_MILLIS;
        double due = 0;
        int next = 0;
        while (!allDone.await(10, TimeUnit.MILLISECONDS)) {
            for (due += perTick; due >= 1; due--) {
                conns.get(next).send(HEARTBEAT.formatted(ChildProtocol.nowMicros()));
                heartbeatsSent.incrementAndGet();
                next = (next + 1) % conns.size();
            }
        }
    }

    /** Broadcast mode: sends the messages at the pace asked, from the rooms' members in turn. */
    private void sendBroadcasts() {
        int rooms = clients / roomSize;
        long interval = TimeUnit.SECONDS.toNanos(1) / perSecond;
        long start = System.nanoTime();
        try {
            for (int k = 0; k < messages; k++) {
                long wait = start + k * interval - System.nanoTime();
                if (wait > 0) {
                    java.util.concurrent.locks.LockSupport.parkNanos(wait);
                }
                int room = k % rooms;
                Conn sender = conns.get(room * roomSize + (k / rooms) % roomSize);
                sender.send("{\"topic\":\"realtime:room-" + room + "\",\"event\":\"broadcast\",\"payload\":{\"type\":"
                        + "\"broadcast\",\"event\":\"b\",\"payload\":{\"t\":" + ChildProtocol.nowMicros() + "}},\"ref\":null,"
                        + "\"join_ref\":\"1\"}");
            }
        } catch (IOException e) {
            System.out.println(ChildProtocol.PREFIX + "FAIL sending broadcasts: " + e);
        }
        System.out.println(ChildProtocol.PREFIX + "SENT " + messages / ((System.nanoTime() - start) / 1e9));
        System.out.flush();
    }

    private void loop(Selector selector) {
        try {
            while (true) {
                readReady(selector);
            }
        } catch (IOException e) {
            System.err.println("selector failed: " + e);
        }
    }

    /** One round of a selector thread: waits for connections with data and reads them. */
    private void readReady(Selector selector) throws IOException {
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

    private synchronized void report() {
        if (allDone.getCount() == 0) {
            return;
        }
        long[] histogram = new long[BUCKETS + 1];
        long n = 0;
        long first = Long.MAX_VALUE;
        long last = 0;
        for (Samples t : samples) {
            for (int i = 0; i <= BUCKETS; i++) {
                histogram[i] += t.histogram.get(i);
                n += t.histogram.get(i);
            }
            if (t.first != 0) {
                first = Math.min(first, t.first);
            }
            last = Math.max(last, t.last.get());
        }
        System.out.println(ChildProtocol.PREFIX + "DONE " + n + " " + (n == 0 ? 0 : first) + " " + last);
        System.out.println(ChildProtocol.PREFIX + "FANOUT " + clients + " " + n + " " + disconnected.get() + " "
                + rank(histogram, n, 0.50) + " " + rank(histogram, n, 0.95) + " " + rank(histogram, n, 0.99) + " "
                + rank(histogram, n, 1.0));
        System.out.flush();
        allDone.countDown();
    }

    /** The nearest-rank quantile in µs (bucket upper bound). */
    private static long rank(long[] histogram, long n, double q) {
        long target = Math.max(1, (long) Math.ceil(q * n));
        long seen = 0;
        for (int i = 0; i <= BUCKETS; i++) {
            seen += histogram[i];
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
        private final Samples samples;
        private ByteBuffer in;
        private boolean isJoined;
        private long received;
        /** A connection of the warm-up: its frames count towards nothing. */
        private boolean rehearsal;

        private Conn(SocketChannel channel, ByteBuffer rest, Samples samples) {
            this.channel = channel;
            this.in = rest;
            this.samples = samples;
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
            if (sse) {
                return readEvents(now);
            }
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

        /** SSE: handles every whole event (up to its blank line) in {@link #in}, keeps the rest. */
        private boolean readEvents(long now) {
            byte[] b = in.array();
            int start = in.position();
            for (int i = start; i < in.limit() - 1; i++) {
                if (b[i] == '\n' && b[i + 1] == '\n') {
                    text(b, start, i - start, now);
                    start = i + 2;
                    i++;
                }
            }
            in.position(start);
            in.compact();
            if (!in.hasRemaining()) {
                ByteBuffer bigger = ByteBuffer.allocate(in.capacity() * 2);
                in.flip();
                bigger.put(in);
                in = bigger;
            }
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
            long commitMicros;
            if (idle) {
                int at = HEARTBEAT_SEARCH.in(b, from, len);
                if (at < 0) {
                    return;
                }
                samples.add(now, Math.min(BUCKETS, Math.max(0, (now - digits(b, at + HEARTBEAT_REF.length, from + len)) / 100)));
                return;
            }
            if (roomSize > 0) {
                int at = SENT_SEARCH.in(b, from, len);
                if (at < 0) {
                    return;
                }
                commitMicros = digits(b, at + SENT.length, from + len);
            } else {
                int at = COMMIT_SEARCH.in(b, from, len);
                if (at < 0) {
                    return;
                }
                commitMicros = epochMicros(b, at + COMMIT.length);
            }
            samples.add(now, Math.min(BUCKETS, Math.max(0, (now - commitMicros) / 100)));
            if (rehearsal) {
                ++received;
            } else if (filtered ? receivedInAll.incrementAndGet() == expected
                    : ++received == expected && complete.incrementAndGet() == clients) {
                report();
            }
        }
    }

    /**
     * SSE: opens {@code uri} with {@code &filter=id=eq.<row>} added, blocking until the response's
     * head has arrived; the socket is made non-blocking by the caller.
     */
    private Conn openStream(URI uri, int row, Samples samples) throws IOException {
        SocketChannel ch = SocketChannel.open(new InetSocketAddress(uri.getHost(), uri.getPort()));
        ch.socket().setTcpNoDelay(true);
        String request = "GET " + uri.getRawPath() + "?" + uri.getRawQuery() + "&filter=id=eq." + row + " HTTP/1.1\r\nHost: "
                + uri.getHost() + ":" + uri.getPort() + "\r\nAccept: text/event-stream\r\n\r\n";
        ByteBuffer in = head(ch, request, "HTTP/1.1 200", "stream refused");
        Conn c = new Conn(ch, in, samples);
        c.isJoined = true;
        joined.countDown();
        return c;
    }

    /** Sends {@code request} and reads up to the end of the response's head, which must start with {@code status}. */
    private static ByteBuffer head(SocketChannel ch, String request, String status, String refused) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
        while (out.hasRemaining()) {
            ch.write(out);
        }
        ByteBuffer in = ByteBuffer.allocate(1 << 16);
        while (true) {
            if (ch.read(in) < 0) {
                throw new IOException("connection closed before the response's head");
            }
            String head = new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1);
            int end = head.indexOf("\r\n\r\n");
            if (end >= 0) {
                if (!head.startsWith(status)) {
                    throw new IOException(refused + ": " + head.lines().findFirst().orElse(head));
                }
                in.flip();
                in.position(end + 4);
                in.compact();
                return in;
            }
        }
    }

    /** Connects and upgrades, blocking; the socket is made non-blocking by the caller. */
    private Conn connect(URI uri, Samples samples) throws IOException {
        SocketChannel ch = SocketChannel.open(new InetSocketAddress(uri.getHost(), uri.getPort()));
        ch.socket().setTcpNoDelay(true);
        byte[] key = new byte[16];
        java.util.concurrent.ThreadLocalRandom.current().nextBytes(key);
        String request = "GET " + uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery())
                + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort() + "\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: " + Base64.getEncoder().encodeToString(key)
                + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
        return new Conn(ch, head(ch, request, "HTTP/1.1 101", "upgrade refused"), samples);
    }

    /**
     * Runs this instrument's own receive path — selector, socket reads, frame parsing, the search
     * for {@code commit_timestamp}, the histogram — over loopback connections of its own until the
     * JVM has compiled it, before any connection to the server opens: otherwise the first second of
     * the load measures this process' JIT compilation (its C2 thread took a third of a core then),
     * which competes for the same 2 cores, not the server. Nothing of the server is warmed, and the
     * samples of the rehearsal are thrown away.
     */
    private void warmUp() throws IOException, InterruptedException {
        // as under the load: many connections, each read finding a frame or two, until the reads,
        // not only the frame scan, are compiled by C2 (a first version with few connections and
        // big writes left the C2 thread a third of a core busy in the load's first second)
        int connections = 64;
        long rounds = Math.min(3_000, expected - 1); // frames per connection; below expected, so nothing completes
        try (ServerSocketChannel listener = ServerSocketChannel.open();
             Selector selector = Selector.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            List<SocketChannel> ends = new ArrayList<>();
            Samples scratch = new Samples();
            for (int i = 0; i < connections; i++) {
                SocketChannel ch = SocketChannel.open(listener.getLocalAddress());
                ends.add(listener.accept());
                Conn c = new Conn(ch, ByteBuffer.allocate(1 << 16), scratch);
                c.isJoined = true;
                c.rehearsal = true;
                ch.configureBlocking(false);
                ch.register(selector, SelectionKey.OP_READ, c);
            }
            Thread server = Thread.ofPlatform().daemon().name("warm-up").start(() -> {
                try {
                    for (long n = 0; n < rounds; n++) {
                        byte[] frame = rehearsalFrame(sse);
                        for (SocketChannel end : ends) {
                            ByteBuffer b = ByteBuffer.wrap(frame);
                            while (b.hasRemaining()) {
                                end.write(b);
                            }
                        }
                    }
                } catch (IOException e) {
                    System.err.println("warm-up writer failed: " + e);
                }
            });
            while (scratch.deliveries.get() < rounds * connections) {
                readReady(selector);
            }
            server.join();
            for (SocketChannel end : ends) {
                end.close();
            }
            for (SelectionKey key : selector.keys()) {
                key.channel().close();
            }
        }
    }

    private static final java.time.format.DateTimeFormatter COMMIT_TIME =
            java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(java.time.ZoneOffset.UTC);

    /** A text frame shaped like the server's pushes (an SSE event for {@code sse}), committed now. */
    private static byte[] rehearsalFrame(boolean sse) {
        String now = COMMIT_TIME.format(java.time.Instant.now());
        byte[] json = ("{\"event\":\"postgres_changes\",\"payload\":{\"ids\":[1],\"data\":{\"columns\":[{\"name\":\"id\","
                + "\"type\":\"int4\"},{\"name\":\"t\",\"type\":\"text\"}],\"commit_timestamp\":\"" + now + "\","
                + "\"errors\":null,\"record\":{\"id\":1,\"t\":\"abc\"},\"schema\":\"public\",\"table\":\"bench\","
                + "\"type\":\"INSERT\"}},\"ref\":null,\"topic\":\"realtime:bench\"}").getBytes(StandardCharsets.UTF_8);
        if (sse) {
            return ("id: 0/1:0\nevent: insert\ndata: " + new String(json, StandardCharsets.UTF_8) + "\n\n")
                    .getBytes(StandardCharsets.UTF_8);
        }
        return ByteBuffer.allocate(json.length + 4).put((byte) 0x81).put((byte) 126).putShort((short) json.length).put(json)
                .array();
    }

    private static final Search COMMIT_SEARCH = new Search(COMMIT);
    /** The send time in the broadcast mode's payload {@code {"t": <µs>}}. */
    private static final byte[] SENT = "\"t\":".getBytes(StandardCharsets.US_ASCII);
    private static final Search SENT_SEARCH = new Search(SENT);
    /** The idle mode's heartbeat reply: {@code "ref":"hb<send time>"}. */
    private static final byte[] HEARTBEAT_REF = "\"ref\":\"hb".getBytes(StandardCharsets.US_ASCII);
    private static final Search HEARTBEAT_SEARCH = new Search(HEARTBEAT_REF);

    /** The decimal number at {@code at} (0 when there is none). */
    static long digits(byte[] s, int at, int end) {
        long v = 0;
        for (int i = at; i < end && s[i] >= '0' && s[i] <= '9'; i++) {
            v = v * 10 + (s[i] - '0');
        }
        return v;
    }

    /**
     * Boyer–Moore–Horspool search for one pattern: it skips up to the pattern's length per step,
     * where a byte-by-byte scan looked at every byte before {@code commit_timestamp} (a fifth of
     * the clients' CPU in a profile of the fan-out case).
     */
    static final class Search {
        private final byte[] pattern;
        private final int[] shift = new int[256];

        Search(byte[] pattern) {
            this.pattern = pattern;
            java.util.Arrays.fill(shift, pattern.length);
            for (int i = 0; i < pattern.length - 1; i++) {
                shift[pattern[i] & 0xFF] = pattern.length - 1 - i;
            }
        }

        /** The index of the first occurrence in {@code b[from, from + len)}, or -1. */
        int in(byte[] b, int from, int len) {
            int last = pattern.length - 1;
            int end = from + len - pattern.length;
            int i = from;
            while (i <= end) {
                int j = last;
                while (b[i + j] == pattern[j]) {
                    if (j == 0) {
                        return i;
                    }
                    j--;
                }
                i += shift[b[i + last] & 0xFF];
            }
            return -1;
        }
    }

    /** The first occurrence of {@code what} in {@code b[from, from + len)} by a plain scan, or -1. */
    static int indexOf(byte[] b, int from, int len, byte[] what) {
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
