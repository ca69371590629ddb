package dev.tidings.server.auth;

import dev.tidings.source.DatabaseUrl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Private channels ({@code config.private: true}) authorized by the database, as Supabase Realtime
 * does: what a client may do on a topic is what the row level security policies on
 * {@code realtime.messages} let its role, with its JWT claims, do to rows of that topic.
 *
 * <p>Design. One check runs one transaction on a connection of a small pool (not the replication
 * connection) and rolls it back, so nothing stays:
 * <ol>
 *   <li>as the connecting role (the table's owner, which policies do not bind), one probe row per
 *       extension ({@code broadcast}, {@code presence}) is inserted for the topic;
 *   <li>{@code role}, {@code request.jwt.claims}, {@code request.jwt.claim.sub},
 *       {@code request.jwt.claim.role} and {@code realtime.topic} are set for the transaction, so
 *       {@code auth.uid()}-style policies and {@code realtime.topic()} work;
 *   <li>read: the probe rows the role can {@code SELECT} back; write: an {@code INSERT} of a row of
 *       each extension, in a savepoint, refused ({@code 42501}) or not.
 * </ol>
 * The caller keeps the decision for the life of the join (and checks again on a new token). A
 * policy that fails (a function it calls is missing, the role does not exist) denies, logged; a
 * database that cannot be reached is {@link Unavailable}. The connecting role must be allowed to
 * {@code SET ROLE} to every role tokens carry, as for RLS mode. Thread-safe.
 */
public final class ChannelAuthorization implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ChannelAuthorization.class);
    private static final int CONNECTIONS = 4;
    private static final String INSUFFICIENT_PRIVILEGE = "42501";
    private static final String UNDEFINED_TABLE = "42P01";

    /** What the policies let one token do on one topic. */
    public record Permissions(boolean readBroadcast, boolean writeBroadcast, boolean readPresence, boolean writePresence) {
        public static final Permissions NONE = new Permissions(false, false, false, false);

        /** Supabase's rule: a join needs broadcast read, or presence read when presence is enabled. */
        public boolean mayJoin(boolean presenceEnabled) {
            return readBroadcast || presenceEnabled && readPresence;
        }

        /** Whether this (a new token's) takes away a read that {@code before} had: the channel ends then. */
        public boolean revokesReadOf(Permissions before) {
            return before.readBroadcast && !readBroadcast || before.readPresence && !readPresence;
        }
    }

    /** The database could not be asked: the client is told, nothing is allowed. */
    public static final class Unavailable extends Exception {
        public Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** What a join error or a shutdown says when the database cannot be asked, as Supabase says it. */
    public static final String UNAVAILABLE = "Realtime was unable to connect to the project database";

    private final DatabaseUrl database;
    private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();
    private final Semaphore permits = new Semaphore(CONNECTIONS);
    private volatile boolean closed;

    public ChannelAuthorization(DatabaseUrl database) {
        this.database = database;
    }

    /** The reason a private join is refused with, Supabase's words. */
    public static String readRefusal(String topic) {
        return "Unauthorized: You do not have permissions to read from this Channel topic: " + topic;
    }

    /** Everything {@code access} may do on {@code topic} (the topic without {@code realtime:}). */
    public Permissions permissions(Authenticator.Access access, String topic) throws Unavailable {
        return check(access, topic, true);
    }

    /** Whether {@code access} may broadcast to {@code topic}: INSERT of a {@code broadcast} row (REST). */
    public boolean mayBroadcast(Authenticator.Access access, String topic) throws Unavailable {
        return check(access, topic, false).writeBroadcast();
    }

    private Permissions check(Authenticator.Access access, String topic, boolean read) throws Unavailable {
        RowSecurity.Identity who = RowSecurity.Identity.of(access);
        Map<String, Object> claims = access.token() == null ? Map.of() : access.token().claims();
        Object sub = claims.get("sub");
        Connection c = take();
        boolean healthy = false;
        try {
            Permissions p = decide(c, who, sub == null ? "" : sub.toString(), topic, read);
            healthy = true;
            return p;
        } catch (SQLException e) {
            if (e.getSQLState() == null || e.getSQLState().startsWith("08")) {
                throw new Unavailable(UNAVAILABLE + ": " + firstLine(e), e);
            }
            healthy = rollback(c);
            log.warn("the policies on realtime.messages failed for role {} on topic '{}'; denied: {}{}", who.role(), topic,
                    firstLine(e), UNDEFINED_TABLE.equals(e.getSQLState())
                            ? " (private channels need realtime.messages: run tidings install-realtime-sql)" : "");
            return Permissions.NONE;
        } finally {
            give(c, healthy);
        }
    }

    private static Permissions decide(Connection c, RowSecurity.Identity who, String sub, String topic, boolean read)
            throws SQLException {
        UUID broadcastProbe = UUID.randomUUID();
        UUID presenceProbe = UUID.randomUUID();
        try {
            try (PreparedStatement ps = c.prepareStatement("SELECT set_config('statement_timeout', '5s', true)")) {
                ps.execute();
            }
            if (read) {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO realtime.messages (id, topic, extension) "
                        + "VALUES (?, ?, 'broadcast'), (?, ?, 'presence')")) {
                    ps.setObject(1, broadcastProbe);
                    ps.setString(2, topic);
                    ps.setObject(3, presenceProbe);
                    ps.setString(4, topic);
                    ps.executeUpdate();
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT set_config('role', ?, true), "
                    + "set_config('realtime.topic', ?, true), set_config('request.jwt.claims', ?, true), "
                    + "set_config('request.jwt.claim.sub', ?, true), set_config('request.jwt.claim.role', ?, true)")) {
                ps.setString(1, who.role());
                ps.setString(2, topic);
                ps.setString(3, who.claims());
                ps.setString(4, sub);
                ps.setString(5, who.role());
                ps.execute();
            }
            boolean readBroadcast = false;
            boolean readPresence = false;
            if (read) {
                try (PreparedStatement ps = c.prepareStatement("SELECT id FROM realtime.messages WHERE id IN (?, ?)")) {
                    ps.setObject(1, broadcastProbe);
                    ps.setObject(2, presenceProbe);
                    try (ResultSet r = ps.executeQuery()) {
                        while (r.next()) {
                            UUID id = r.getObject(1, UUID.class);
                            readBroadcast |= broadcastProbe.equals(id);
                            readPresence |= presenceProbe.equals(id);
                        }
                    }
                }
            }
            boolean writeBroadcast = mayInsert(c, topic, "broadcast");
            boolean writePresence = read && mayInsert(c, topic, "presence");
            return new Permissions(readBroadcast, writeBroadcast, readPresence, writePresence);
        } finally {
            c.rollback();
        }
    }

    /** An INSERT of a row of {@code extension} as the role set for the transaction: refused by a policy or a grant, or not. */
    private static boolean mayInsert(Connection c, String topic, String extension) throws SQLException {
        Savepoint before = c.setSavepoint();
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO realtime.messages (topic, extension) VALUES (?, ?)")) {
            ps.setString(1, topic);
            ps.setString(2, extension);
            ps.executeUpdate();
            return true;
        } catch (SQLException e) {
            if (INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
                c.rollback(before);
                return false;
            }
            throw e;
        }
    }

    private Connection take() throws Unavailable {
        try {
            if (closed || !permits.tryAcquire(10, TimeUnit.SECONDS)) {
                throw new Unavailable(UNAVAILABLE + ": every connection for authorization is busy", null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable(UNAVAILABLE + ": interrupted", e);
        }
        Connection c = idle.pollFirst();
        if (c != null) {
            return c;
        }
        try {
            c = database.connect();
            c.setAutoCommit(false);
            return c;
        } catch (SQLException e) {
            permits.release();
            throw new Unavailable(UNAVAILABLE + ": " + firstLine(e), e);
        }
    }

    private void give(Connection c, boolean healthy) {
        if (healthy && !closed) {
            idle.addFirst(c);
        } else {
            quietlyClose(c);
        }
        permits.release();
    }

    private static boolean rollback(Connection c) {
        try {
            c.rollback();
            return true;
        } catch (SQLException e) {
            return false;
        }
    }

    private static void quietlyClose(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // a broken connection
        }
    }

    private static String firstLine(SQLException e) {
        return String.valueOf(e.getMessage()).lines().findFirst().orElse("");
    }

    @Override
    public void close() {
        closed = true;
        for (Connection c; (c = idle.pollFirst()) != null; ) {
            quietlyClose(c);
        }
    }
}
