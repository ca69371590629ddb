package dev.tidings.source;

import dev.tidings.base.Identifiers;
import dev.tidings.base.Lsn;

import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.postgresql.replication.fluent.logical.ChainedLogicalStreamBuilder;
import org.postgresql.util.PSQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Owns the logical replication connection: prepares publication and slot, starts pgoutput with
 * the highest proto version the server speaks, hands every message to a {@link MessageHandler},
 * confirms what the handler says may be confirmed, and reconnects with backoff after any loss.
 *
 * <p>Design. One thread runs {@link #run()}. It polls the stream without blocking (pgjdbc's
 * {@code readPending}); when nothing is pending it waits for the server's next bytes on the
 * socket for at most {@value #IDLE_WAIT_MS} ms (1 ms parks where the socket is not Tidings' own),
 * so that a change is read the moment it arrives, an idle stream costs a few wake-ups a second,
 * and confirmations reach PostgreSQL within the status interval even when no data flows; pgjdbc answers keepalives and
 * sends the status update (write/flush/apply = the confirmed LSN) on that same thread. The status
 * interval is a third of the server's {@code wal_sender_timeout} (at most 10 s). A handler that
 * blocks for backpressure calls back {@link MessageHandler.KeepAlive}, which forces a status
 * update, so a slow consumer never gets the connection timed out. At each (re)connection the
 * replication connection is opened on a thread of its own ({@link OpeningConnection}) while the
 * checks (wal_level, publication, slot) run on an ordinary connection: start-up waits for the
 * longer of the two, not their sum.
 *
 * <p>Failures are sorted in two: problems the user must fix ({@link SourceException}: permissions,
 * wal_level, invalidated or foreign slot, slot busy for longer than the configured patience) end
 * {@link #run()}; anything else (network, server restart, admin termination) is retried with
 * exponential backoff and jitter, resuming from the slot's confirmed position. A slot that
 * disappears after this process saw it is never recreated: that would skip changes. Neither is a
 * publication that existed: one dropped or narrowed (tables, operations) while streaming ends
 * {@link #run()} with a message saying what was lost; it is checked every 5 s and at each
 * reconnection. Backoff and the slot-busy clock start over once a stream runs: each outage and
 * each busy episode gets the full patience, also the one where a reconnect meets its own
 * walsender still holding the slot.
 *
 * <p>Silence. A connection can die without an error reaching this side (half-open TCP, a proxy
 * that stops forwarding): pgjdbc would write status updates into it for as long as TCP lets it.
 * So the source watches when the server last sent anything ({@link ReceiveClockSocketFactory}):
 * after a status interval of silence it asks for a reply (a status update with the reply flag,
 * which the walsender answers with a keepalive); after the server's {@code wal_sender_timeout}
 * plus half of it (at least {@link #SILENCE_MARGIN_MIN}) without a byte, the connection counts as
 * lost and is reopened. By then the walsender has timed out on its side too, so the slot is free.
 * The socket also tells when the server closed the connection (a crash, an immediate shutdown):
 * pgjdbc's non-blocking read would take that for a quiet stream until its next status update.
 * TCP keepalive is on as well. Silence is only measured while the source reads: while a handler
 * blocks for backpressure, the server's replies wait in the socket and are read afterwards.
 *
 * <p>With a {@link Leadership} ({@link SourceConfig#leadership()}), {@link #run()} first stands by
 * until this process leads the slot; then its fence is checked before each stream is opened, on
 * every turn of the read loop and before each confirmation. A fence that falls ends {@link #run()}
 * with a {@link LeadershipLostException} and nothing more is confirmed: the new leader resumes from
 * the slot's confirmed position, and PostgreSQL lets only one walsender read a slot at a time.
 */
public final class ReplicationSource {
    private static final Logger log = LoggerFactory.getLogger(ReplicationSource.class);
    private static final int IDLE_WAIT_MS = 20;
    private static final long PUSH_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final long PUBLICATION_CHECK_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final Pattern ACTIVE_PID = Pattern.compile("active for PID (\\d+)");
    /** The least time beyond wal_sender_timeout that a connection may stay silent. */
    private static final long SILENCE_MARGIN_MIN = TimeUnit.SECONDS.toMillis(1);
    /** wal_sender_timeout assumed when the server has none (0): the silence limit still needs one. */
    private static final long NO_SENDER_TIMEOUT_MS = TimeUnit.SECONDS.toMillis(60);

    private final SourceConfig config;
    private final MessageHandler handler;
    private volatile boolean running = true;
    private volatile Thread thread;
    private volatile Lsn confirmed = Lsn.ZERO;
    private Lsn pushed = Lsn.ZERO;
    private volatile boolean streaming;
    private volatile long reconnects;
    private boolean slotSeen;
    /** The publication as it was when this process first streamed with it; null before. Source thread. */
    private Publication.State publicationState;
    private long publicationCheckNanos;
    private long lastPushNanos;
    /** Reconnection state of the source thread; both start over once a stream runs. */
    private long backoffMs;
    private long busySince;

    public ReplicationSource(SourceConfig config, MessageHandler handler) {
        this.config = config;
        this.handler = handler;
    }

    /** Streams until {@link #stop()} or a problem the user must fix ({@link SourceException}). */
    public void run() throws Exception {
        thread = Thread.currentThread();
        Leadership leadership = config.leadership();
        if (leadership != null && !leadership.acquire(() -> running)) {
            return;
        }
        try (ReceiveClockSocketFactory.Clock clock = new ReceiveClockSocketFactory.Clock()) {
            loop(clock);
        }
        streaming = false;
    }

    private void loop(ReceiveClockSocketFactory.Clock clock) throws Exception {
        while (running) {
            try {
                streamOnce(clock);
            } catch (SourceException | LeadershipLostException e) {
                throw e;
            } catch (SlotBusyException e) {
                long now = System.nanoTime();
                if (busySince == 0) {
                    busySince = now;
                }
                if (now - busySince > config.slotBusyTimeout().toNanos()) {
                    throw new SourceException("replication slot " + config.slot() + " is in use by another process (PID "
                            + e.pid + ") and stayed busy for " + config.slotBusyTimeout().toSeconds() + " s. Stop that "
                            + "consumer, or end it with SELECT pg_terminate_backend(" + e.pid + "); or use another --slot");
                }
                log.warn("replication slot {} is in use by PID {}; retrying", config.slot(), e.pid);
                backoffMs = nextBackoff(backoffMs);
                sleep(backoffMs);
            } catch (HandlerException e) {
                throw e.cause;
            } catch (Exception e) {
                streaming = false;
                if (!running) {
                    break;
                }
                backoffMs = nextBackoff(backoffMs);
                reconnects++; // only this thread writes
                log.warn("replication connection lost ({}); reconnecting in {} ms", describe(e), backoffMs);
                sleep(backoffMs);
            }
        }
    }

    /** Asks {@link #run()} to confirm what may be confirmed, close the connection and return. Thread-safe. */
    public void stop() {
        running = false;
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** The LSN most recently confirmed to PostgreSQL. Thread-safe. */
    public Lsn confirmed() {
        return confirmed;
    }

    /** How often the connection was lost and is being or was reopened. Thread-safe. */
    public long reconnects() {
        return reconnects;
    }

    /** True while a replication stream is open. Thread-safe. */
    public boolean streaming() {
        return streaming;
    }

    /** Ends {@link #run()} once this process no longer leads its slot. */
    private void checkFence() {
        Leadership leadership = config.leadership();
        if (leadership != null && !leadership.held()) {
            String why = leadership.lostReason();
            throw new LeadershipLostException(why != null ? why : "lost the leadership of slot " + config.slot()
                    + ": its lease ran out. Stopped delivering and confirming; restart this process: it stands by");
        }
    }

    private void streamOnce(ReceiveClockSocketFactory.Clock clock) throws Exception {
        checkFence();
        // the replication connection opens while the checks run on the other one
        Properties properties = config.database().replicationProperties();
        boolean clocked = properties.getProperty("socketFactory") == null;
        if (clocked) {
            properties.setProperty("socketFactory", ReceiveClockSocketFactory.class.getName());
            properties.setProperty("socketFactoryArg", clock.id);
        }
        OpeningConnection opening = new OpeningConnection(
                () -> DriverManager.getConnection(config.database().jdbcUrl(), properties));
        Setup setup;
        try {
            setup = prepare();
        } catch (Exception e) {
            opening.discard();
            throw e;
        }
        int protoVersion = setup.protoVersion();
        try (Connection rc = opening.get()) {
            PGConnection pg = rc.unwrap(PGConnection.class);
            if (config.temporarySlot()) {
                pg.getReplicationAPI().createReplicationSlot().logical().withSlotName(config.slot())
                        .withOutputPlugin("pgoutput").withTemporaryOption().make();
            }
            ChainedLogicalStreamBuilder builder = pg.getReplicationAPI().replicationStream().logical()
                    .withSlotName(config.slot())
                    .withSlotOption("proto_version", protoVersion)
                    .withSlotOption("publication_names", Identifiers.quote(config.publication()))
                    .withStatusInterval((int) setup.statusIntervalMs(), TimeUnit.MILLISECONDS);
            if (protoVersion >= 2) {
                builder.withSlotOption("messages", true);
            }
            PGReplicationStream stream;
            try {
                stream = builder.start();
            } catch (SQLException e) {
                throw classifyStart(e);
            }
            log.info("streaming from slot {} (publication {}, pgoutput proto {})", config.slot(), config.publication(),
                    protoVersion);
            streaming = true;
            backoffMs = 0;
            busySince = 0;
            pushed = Lsn.ZERO;
            if (confirmed.isAfter(Lsn.ZERO)) { // a new stream object: report what was confirmed before
                stream.setFlushedLSN(LogSequenceNumber.valueOf(confirmed.value()));
                stream.setAppliedLSN(LogSequenceNumber.valueOf(confirmed.value()));
            }
            handler.streamStarted(protoVersion);
            MessageHandler.KeepAlive keepAlive = () -> {
                confirm(stream);
                stream.forceUpdateStatus();
            };
            if (!clocked) {
                log.info("the database URL names its own socketFactory: a silent connection is noticed only by TCP");
            }
            pump(stream, keepAlive, clocked ? new Silence(clock, setup) : null);
            handler.streamEnding(keepAlive);
            confirm(stream);
            stream.forceUpdateStatus();
            stream.close();
        }
    }

    /** What the checks found that starting the stream needs. */
    private record Setup(int protoVersion, long statusIntervalMs, long senderTimeoutMs) {}

    /**
     * Watches one stream for silence: asks the server for a reply after a status interval without
     * a byte from it, and gives the connection up after the server's timeout plus a margin, or at
     * once when the server closed it.
     */
    private static final class Silence {
        private final ReceiveClockSocketFactory.Clock clock;
        private final long pingNanos;
        private final long limitNanos;
        private final long senderTimeoutMs;
        private final long startNanos = System.nanoTime();
        private long lastPingNanos;

        Silence(ReceiveClockSocketFactory.Clock clock, Setup setup) {
            this.clock = clock;
            this.senderTimeoutMs = setup.senderTimeoutMs();
            long timeoutMs = senderTimeoutMs > 0 ? senderTimeoutMs : NO_SENDER_TIMEOUT_MS;
            this.pingNanos = TimeUnit.MILLISECONDS.toNanos(setup.statusIntervalMs());
            this.limitNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMs + Math.max(SILENCE_MARGIN_MIN, timeoutMs / 2));
            this.lastPingNanos = System.nanoTime();
        }

        void check(PGReplicationStream stream) throws SQLException, SilentConnectionException {
            long now = System.nanoTime();
            if (clock.endOfStreamNanos() - startNanos > 0) {
                throw new SilentConnectionException("the server closed the connection");
            }
            long silent = now - clock.lastReceiveNanos();
            if (silent > limitNanos) {
                throw new SilentConnectionException("no message from the server for "
                        + TimeUnit.NANOSECONDS.toMillis(silent) + " ms, longer than its wal_sender_timeout ("
                        + senderTimeoutMs + " ms) and a margin");
            }
            if (silent > pingNanos && now - lastPingNanos > pingNanos) {
                lastPingNanos = now;
                stream.forceUpdateStatus(); // asks for a reply
            }
        }
    }

    /** Checks the server and prepares publication and slot on an ordinary connection. */
    private Setup prepare() throws Exception {
        try (Connection c = config.database().connect()) {
            int major = c.getMetaData().getDatabaseMajorVersion();
            long senderTimeoutMs = senderTimeout(c);
            Publication publication = new Publication(config.publication(), config.tables());
            ReplicationSlot.State state = null;
            if (!config.temporarySlot()) {
                ReplicationSlot slot = new ReplicationSlot(config.slot(), false);
                state = slot.state(c);
                if (state != null) {
                    slot.ensure(c, state, false); // validates it: a foreign slot is the first thing to report
                }
            }
            // created only with a new slot, and never again once seen: see Publication
            publication.ensure(c, publicationState == null && (config.temporarySlot() || state == null), config.slot());
            Publication.State now = publication.state(c);
            if (publicationState != null) {
                String lost = publication.changed(publicationState, now, c);
                if (lost != null) {
                    throw new SourceException(lost);
                }
            } else {
                publicationState = now;
            }
            publicationCheckNanos = System.nanoTime();
            if (!config.temporarySlot()) {
                ReplicationSlot slot = new ReplicationSlot(config.slot(), false);
                if (state == null && slotSeen) {
                    throw new SourceException("replication slot " + config.slot() + " was dropped while Tidings was "
                            + "using it; changes since then may be lost. Tidings will not recreate it silently: "
                            + "re-snapshot the consumers, then start Tidings again to create a new slot from now");
                }
                slot.ensure(c, state, config.failoverSlot());
                slotSeen = true;
            }
            long statusIntervalMs = senderTimeoutMs <= 0 ? 10_000 : Math.max(100, Math.min(10_000, senderTimeoutMs / 3));
            return new Setup(major >= 16 ? 4 : major >= 15 ? 3 : major >= 14 ? 2 : 1, statusIntervalMs, senderTimeoutMs);
        } catch (SQLException e) {
            throw classifySetup(e);
        }
    }

    private void pump(PGReplicationStream stream, MessageHandler.KeepAlive keepAlive, Silence silence) throws Exception {
        while (running) {
            checkFence();
            checkPublication();
            ByteBuffer buffer = stream.readPending();
            if (buffer == null) {
                confirm(stream);
                if (silence != null) {
                    silence.check(stream);
                    silence.clock.awaitBytes(IDLE_WAIT_MS);
                } else {
                    LockSupport.parkNanos(1_000_000);
                }
                continue;
            }
            try {
                handler.message(Lsn.of(stream.getLastReceiveLSN().asLong()), buffer, keepAlive);
            } catch (SQLException e) {
                throw e;
            } catch (Exception e) {
                throw new HandlerException(e);
            }
            confirm(stream);
        }
    }

    /**
     * Every few seconds, on an ordinary connection, compares the publication with what it was when
     * streaming began: PostgreSQL says nothing when it is narrowed (ALTER PUBLICATION … DROP TABLE,
     * SET (publish = …)), it just stops sending those changes. A lost publication ends
     * {@link #run()}; a check that cannot be made is left to the next one.
     */
    private void checkPublication() throws SourceException {
        long now = System.nanoTime();
        if (now - publicationCheckNanos < PUBLICATION_CHECK_NANOS || publicationState == null) {
            return;
        }
        publicationCheckNanos = now;
        Publication publication = new Publication(config.publication(), config.tables());
        String lost;
        try (Connection c = config.database().connect()) {
            // a check stuck on a dead connection would stop the source from noticing anything else
            c.setNetworkTimeout(Runnable::run, (int) TimeUnit.SECONDS.toMillis(30));
            lost = publication.changed(publicationState, publication.state(c), c);
        } catch (SQLException e) {
            log.debug("could not check publication {}: {}", config.publication(), e.getMessage());
            return;
        }
        if (lost != null) {
            throw new SourceException(lost);
        }
    }

    /**
     * Hands the confirmable LSN to pgjdbc, which reports it with its next status update. A
     * confirmation not yet pushed is pushed at once when none was pushed in the last 200 ms, so the
     * server learns of progress within 200 ms (less to resend after a crash, WAL freed sooner)
     * without a status message per transaction — also when the stream goes idle right after a
     * confirmation that came too soon after the previous push.
     */
    private void confirm(PGReplicationStream stream) throws SQLException {
        Lsn lsn = handler.confirmable(Lsn.of(stream.getLastReceiveLSN().asLong()));
        if (lsn.isAfter(confirmed)) {
            checkFence();
            LogSequenceNumber l = LogSequenceNumber.valueOf(lsn.value());
            stream.setFlushedLSN(l);
            stream.setAppliedLSN(l);
            confirmed = lsn;
        }
        if (confirmed.isAfter(pushed)) {
            long now = System.nanoTime();
            if (now - lastPushNanos > PUSH_INTERVAL_NANOS) {
                lastPushNanos = now;
                pushed = confirmed;
                stream.forceUpdateStatus();
            }
        }
    }

    /**
     * Requires {@code wal_level = logical} and returns the server's {@code wal_sender_timeout} in
     * milliseconds as this session sees it, 0 for none (one round trip for both).
     */
    private static long senderTimeout(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_setting('wal_level'), "
                + "(SELECT setting::bigint FROM pg_settings WHERE name = 'wal_sender_timeout')")) {
            rs.next();
            String level = rs.getString(1);
            if (!"logical".equals(level)) {
                throw new SourceException("wal_level is '" + level + "'; logical replication needs 'logical'. Run "
                        + "ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL (tidings check lists every "
                        + "prerequisite)");
            }
            long timeoutMs = rs.getLong(2);
            return rs.wasNull() ? NO_SENDER_TIMEOUT_MS : Math.max(0, timeoutMs);
        }
    }

    private Exception classifySetup(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (state.startsWith("28")) {
            return new SourceException("cannot log in to " + config.database() + ": " + e.getMessage()
                    + ". Check the user and password in the database URL", e);
        }
        if (state.equals("3D000")) {
            return new SourceException(e.getMessage() + ". Check the database name in the URL", e);
        }
        if (state.equals("55P02") || state.equals("42704") && String.valueOf(e.getMessage()).contains("configuration parameter")) {
            // e.g. options=-c wal_sender_timeout=… on a server before 12, where it is not per connection
            return new SourceException("the server refused a setting of the connection: " + e.getMessage()
                    + ". Remove it from the options of the database URL, or set it in postgresql.conf", e);
        }
        return e;
    }

    private Exception classifyStart(SQLException e) {
        String msg = String.valueOf(e.getMessage());
        Matcher busy = ACTIVE_PID.matcher(msg);
        if ("55006".equals(e.getSQLState()) || busy.find()) {
            return new SlotBusyException(busy.find(0) ? busy.group(1) : "unknown");
        }
        if (msg.contains("can no longer get changes") || msg.contains("has been invalidated")
                || msg.contains("requested WAL segment") && msg.contains("has already been removed")) {
            return new ReplicationSlot(config.slot(), false).invalidated();
        }
        if ("42501".equals(e.getSQLState()) || msg.contains("must be superuser or replication role")
                || msg.contains("permission denied to start WAL sender")) {
            return new SourceException("not allowed to stream: " + msg + ". Grant it with: ALTER ROLE "
                    + Identifiers.quote(config.database().user()) + " WITH REPLICATION;", e);
        }
        if ("42704".equals(e.getSQLState()) && !config.temporarySlot()) {
            return new SourceException("replication slot " + config.slot() + " disappeared while starting: " + msg
                    + ". Tidings will not recreate it silently; start again to create a new one", e);
        }
        if (msg.contains("publication") && msg.contains("does not exist")) {
            return new SourceException(msg + ". Create it: CREATE PUBLICATION " + Identifiers.quote(config.publication())
                    + " FOR ALL TABLES;", e);
        }
        return e;
    }

    private long nextBackoff(long previousMs) {
        long max = Math.max(100, config.maxBackoff().toMillis());
        long next = previousMs == 0 ? 100 : Math.min(max, previousMs * 2);
        return next / 2 + ThreadLocalRandom.current().nextLong(next / 2 + 1);
    }

    private void sleep(long ms) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (running) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            LockSupport.parkNanos(left);
        }
    }

    private static String describe(Exception e) {
        String m = e.getMessage();
        return e instanceof PSQLException || m != null ? m : e.getClass().getSimpleName();
    }

    /** Reported by the server when another connection streams from the slot. */
    private static final class SlotBusyException extends Exception {
        final String pid;

        SlotBusyException(String pid) {
            super("slot busy, PID " + pid);
            this.pid = pid;
        }
    }

    /** The server closed the connection, or sent nothing for longer than it would wait for us. */
    private static final class SilentConnectionException extends Exception {
        SilentConnectionException(String message) {
            super(message);
        }
    }

    /** Wraps a failure of the handler so it ends {@link #run()} instead of being retried. */
    private static final class HandlerException extends Exception {
        final Exception cause;

        HandlerException(Exception cause) {
            super(cause);
            this.cause = cause;
        }
    }

}
