package dev.tidings.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy on 127.0.0.1 for outage tests. {@link #cut()} closes every connection and refuses
 * new ones (they are accepted and closed at once) until {@link #restore()}. {@link #stall()} makes
 * the open connections silent without closing them, as a half-open TCP connection or a hung
 * middlebox: what either side sends is swallowed, and neither side learns when the other closes.
 * New connections after a stall are forwarded as usual; after {@link #blackHole()} they are
 * silent too, until {@link #restore()}.
 */
public final class TcpProxy implements AutoCloseable {
    private final ServerSocket server;
    private volatile int targetPort;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private volatile boolean down;
    private volatile boolean swallowNew;
    private volatile boolean closed;

    public TcpProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon(true).name("tcp-proxy-" + port()).start(this::acceptLoop);
    }

    /**
     * Points the proxy at another port (for a target that can only be started once the proxy's own
     * port is known, as a Kafka broker advertising the proxy); until then, 0: connections are refused.
     */
    public void target(int port) {
        targetPort = port;
    }

    public int port() {
        return server.getLocalPort();
    }

    public void cut() {
        down = true;
        for (Link link : links) {
            link.close();
        }
        links.clear();
    }

    /** Lets new connections through again (connections already cut or stalled stay so). */
    public void restore() {
        down = false;
        swallowNew = false;
    }

    /** Silences every open connection for good; they stay open until {@link #close()}. */
    public void stall() {
        for (Link link : links) {
            link.stalled = true;
        }
    }

    /** Like {@link #stall()}, and connections opened later are accepted but silent too, until {@link #restore()}. */
    public void blackHole() {
        swallowNew = true;
        stall();
    }

    /** One proxied connection: the client's socket and the one to the target. */
    private final class Link {
        final Socket client;
        final Socket upstream;
        volatile boolean stalled;

        Link(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        void pump(Socket from, Socket to) {
            Thread.ofPlatform().daemon(true).start(() -> {
                byte[] buf = new byte[32 * 1024];
                try {
                    // not closed here: closing a socket's stream closes the socket, which a stalled link must not
                    InputStream in = from.getInputStream();
                    OutputStream out = to.getOutputStream();
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        if (!stalled) {
                            out.write(buf, 0, n);
                        }
                    }
                } catch (IOException ignored) {
                    // either side closed
                } finally {
                    if (!stalled) { // a stalled link tells neither side
                        close();
                    }
                }
            });
        }

        void close() {
            closeQuietly(client);
            closeQuietly(upstream);
            links.remove(this);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                if (down || targetPort == 0) {
                    closeQuietly(client);
                    continue;
                }
                Socket upstream = new Socket();
                upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 5000);
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                Link link = new Link(client, upstream);
                link.stalled = swallowNew;
                links.add(link);
                link.pump(client, upstream);
                link.pump(upstream, client);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        cut();
        server.close();
    }
}
