package dev.tidings.source;

import dev.tidings.base.Lsn;

import java.nio.ByteBuffer;

/**
 * What the {@link ReplicationSource} hands each pgoutput message to. All methods are called on
 * the source's thread, one at a time.
 */
public interface MessageHandler {

    /**
     * A replication stream (re)started. Anything of a transaction that was not complete before will
     * be sent again from its Begin.
     */
    void streamStarted(int protoVersion);

    /**
     * One pgoutput message, the payload of an XLogData message that starts at {@code walStart}.
     * May block to apply backpressure, but while blocked must call {@link KeepAlive#keepAlive()}
     * at least once a second so PostgreSQL does not time the connection out.
     */
    void message(Lsn walStart, ByteBuffer payload, KeepAlive keepAlive) throws Exception;

    /**
     * The LSN that may be confirmed to PostgreSQL now. {@code serverWalEnd} is the newest WAL position
     * the server reported; a handler with nothing in flight may confirm it, so an idle or fully
     * filtered database does not retain WAL.
     */
    Lsn confirmable(Lsn serverWalEnd);

    /**
     * The source was asked to stop and reads no more: finish delivering what was received, so it
     * can be confirmed before the connection closes. Called on the source thread; may block, calling
     * {@code keepAlive} at least once a second.
     */
    default void streamEnding(KeepAlive keepAlive) throws Exception {}

    /** Lets a blocked handler keep the replication connection alive. */
    interface KeepAlive {
        void keepAlive() throws Exception;
    }
}
