package dev.tidings.source;

import javax.net.SocketFactory;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The socket factory of the replication connection: its sockets note when bytes last arrived
 * from the server, so {@link ReplicationSource} can tell a silent connection (half-open TCP, a
 * stalled proxy) from a quiet one. pgjdbc consumes the server's keepalives inside
 * {@code readPending} without telling its caller, so the socket is the one place to see them.
 *
 * <p>Public only because pgjdbc instantiates it by name ({@code socketFactory}, with the clock's
 * id as {@code socketFactoryArg}); it is not part of the API. A clock is registered for as long as
 * its source runs. The clock is written by whichever thread reads the socket (the source thread)
 * and read by the source thread.
 */
public final class ReceiveClockSocketFactory extends SocketFactory {
    private static final Map<String, Clock> CLOCKS = new ConcurrentHashMap<>();
    private static final AtomicLong IDS = new AtomicLong();

    private final Clock clock;

    /** Called by pgjdbc with the id of a registered clock. */
    public ReceiveClockSocketFactory(String clockId) {
        clock = CLOCKS.get(clockId);
        if (clock == null) {
            throw new IllegalArgumentException("no receive clock " + clockId + " is registered; this socket factory "
                    + "is Tidings' own, do not name it in a database URL");
        }
    }

    /** When bytes last arrived on a socket of this clock's connections, and when one last saw its end. */
    static final class Clock implements AutoCloseable {
        final String id = "source-" + IDS.incrementAndGet();
        private volatile long lastReceiveNanos = System.nanoTime();
        private volatile long endOfStreamNanos;
        private volatile ClockedSocket socket; // the newest connection's

        Clock() {
            CLOCKS.put(id, this);
        }

        long lastReceiveNanos() {
            return lastReceiveNanos;
        }

        void received() {
            lastReceiveNanos = System.nanoTime();
        }

        /** When the server last closed a connection of this clock; 0 if none did. */
        long endOfStreamNanos() {
            return endOfStreamNanos;
        }

        void endOfStream() {
            endOfStreamNanos = System.nanoTime();
        }

        /**
         * Waits up to {@code timeoutMs} for bytes from the server on the newest connection, without consuming them (the
         * first byte is kept for pgjdbc's next read). True when bytes are there; false on timeout, at the end of the
         * stream (noted) or before any connection. Only the thread that reads the connection may call it.
         */
        boolean awaitBytes(int timeoutMs) throws IOException {
            ClockedSocket s = socket;
            return s != null && s.awaitBytes(timeoutMs);
        }

        @Override
        public void close() {
            CLOCKS.remove(id);
        }
    }

    @Override
    public Socket createSocket() {
        return new ClockedSocket(clock);
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connected(new InetSocketAddress(host, port), new InetSocketAddress(localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return connected(new InetSocketAddress(address, port), new InetSocketAddress(localAddress, localPort));
    }

    private Socket connected(InetSocketAddress remote, InetSocketAddress local) throws IOException {
        Socket s = new ClockedSocket(clock);
        if (local != null) {
            s.bind(local);
        }
        s.connect(remote);
        return s;
    }

    /**
     * A plain socket whose input stream stamps the clock on every read that returned bytes, and
     * notes the end of the stream: pgjdbc's non-blocking read takes a closed connection for one
     * with nothing pending, and would notice only when it next writes a status update. It can also
     * wait for bytes without taking them ({@link Clock#awaitBytes}): one byte is read ahead and
     * handed out first by the next read.
     */
    private static final class ClockedSocket extends Socket {
        private final Clock clock;
        private ClockedStream in;

        ClockedSocket(Clock clock) {
            this.clock = clock;
            clock.socket = this;
        }

        @Override
        public synchronized InputStream getInputStream() throws IOException {
            if (in == null) {
                in = new ClockedStream(super.getInputStream(), clock);
            }
            return in;
        }

        boolean awaitBytes(int timeoutMs) throws IOException {
            ClockedStream stream = (ClockedStream) getInputStream();
            if (stream.available() > 0) {
                return true;
            }
            int previous = getSoTimeout();
            setSoTimeout(timeoutMs);
            try {
                return stream.readAhead();
            } catch (SocketTimeoutException e) {
                return false;
            } finally {
                setSoTimeout(previous);
            }
        }
    }

    private static final class ClockedStream extends FilterInputStream {
        private final Clock clock;
        private int ahead = -1; // a byte read ahead by readAhead, or -1

        ClockedStream(InputStream in, Clock clock) {
            super(in);
            this.clock = clock;
        }

        boolean readAhead() throws IOException {
            int b = read();
            if (b < 0) {
                return false;
            }
            ahead = b;
            return true;
        }

        @Override
        public int read() throws IOException {
            if (ahead >= 0) {
                int b = ahead;
                ahead = -1;
                return b;
            }
            int b = super.read();
            if (b >= 0) {
                clock.received();
            } else {
                clock.endOfStream();
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            if (ahead >= 0 && length > 0) {
                buffer[offset] = (byte) ahead;
                ahead = -1;
                return 1;
            }
            int n = super.read(buffer, offset, length);
            if (n > 0) {
                clock.received();
            } else if (n < 0) {
                clock.endOfStream();
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            if (ahead >= 0 && n > 0) {
                ahead = -1;
                return 1;
            }
            return super.skip(n);
        }

        @Override
        public int available() throws IOException {
            return (ahead >= 0 ? 1 : 0) + super.available();
        }
    }
}
