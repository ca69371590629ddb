package dev.tidings.server.realtime;

import dev.tidings.server.live.LiveCounters;
import dev.tidings.server.live.Outbox;
import dev.tidings.server.live.WriteBuffers;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.eclipse.jetty.websocket.common.WebSocketSession;
import org.eclipse.jetty.websocket.core.CoreSession;
import org.eclipse.jetty.websocket.core.WebSocketCoreSession;

import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.List;
import java.util.function.Consumer;

/**
 * The Jetty side of a Realtime connection's {@link Outbox}: frames made by {@link WireFrames} go to
 * the socket as they are, many per write (copied into one direct buffer of the writer's, see
 * {@link WriteBuffers}), past Jetty's frame objects and flushers (which cost more per frame than
 * the write itself). Jetty still reads and answers the close handshake; pings are answered by the
 * socket, in order with the rest. No extension is negotiated (see {@link RealtimeEndpoint}), so
 * the bytes need no transformation.
 *
 * <p>The outbox keeps at most one write in flight, so the callback and the one-element array are
 * reused from write to write.
 */
final class SocketTransport implements Outbox.Transport {
    private final Session session;
    private final CoreSession core;
    private final EndPoint endPoint;
    private final WriteBuffers buffers;
    private final LiveCounters counters;
    private final MergedWrite inFlight;
    private final ByteBuffer[] one = new ByteBuffer[1];

    SocketTransport(Session session, WriteBuffers buffers, LiveCounters counters) {
        this.session = session;
        this.core = ((WebSocketSession) session).getCoreSession();
        this.endPoint = ((WebSocketCoreSession) core).getConnection().getEndPoint();
        this.buffers = buffers;
        this.counters = counters;
        this.inFlight = new MergedWrite(buffers);
    }

    @Override
    public void write(List<byte[]> frames, Runnable done, Consumer<Throwable> failed) {
        if (!core.isOutputOpen()) {
            failed.accept(new ClosedChannelException());
            return;
        }
        counters.websocketWritten(frames.size());
        ByteBuffer merged = buffers.merge(frames);
        try {
            if (merged != null) {
                // one write in flight at a time: the callback and array are reused
                inFlight.start(merged, done, failed);
                one[0] = merged;
                endPoint.write(inFlight, one);
            } else {
                ByteBuffer[] gather = new ByteBuffer[frames.size()];
                for (int i = 0; i < gather.length; i++) {
                    gather[i] = ByteBuffer.wrap(frames.get(i));
                }
                endPoint.write(Callback.from(done, failed), gather);
            }
        } catch (RuntimeException e) {
            inFlight.release(); // refused before it started: no callback follows
            failed.accept(e);
        }
    }

    @Override
    public void close(String reason) {
        session.close(StatusCode.TRY_AGAIN_LATER, reason, org.eclipse.jetty.websocket.api.Callback.NOOP);
    }

    @Override
    public void abort() {
        core.abort();
    }

    /** The callback of a write from a {@link WriteBuffers} buffer: gives the buffer back, then reports. */
    private static final class MergedWrite implements Callback {
        private final WriteBuffers buffers;
        private ByteBuffer buffer;
        private Runnable done;
        private Consumer<Throwable> failed;

        MergedWrite(WriteBuffers buffers) {
            this.buffers = buffers;
        }

        void start(ByteBuffer buffer, Runnable done, Consumer<Throwable> failed) {
            this.buffer = buffer;
            this.done = done;
            this.failed = failed;
        }

        @Override
        public void succeeded() {
            release();
            done.run();
        }

        @Override
        public void failed(Throwable x) {
            release();
            failed.accept(x);
        }

        /** Gives the buffer back once (twice would hand one buffer to two writes). */
        void release() {
            ByteBuffer b = buffer;
            buffer = null;
            if (b != null) {
                buffers.release(b);
            }
        }
    }
}
