package dev.tidings.server.cli;

import dev.tidings.source.DatabaseUrl;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * What the commands check before they start anything, so that the operator's usual mistakes — a
 * database that cannot be reached, a port already taken — end the command at once with one line
 * naming the problem and one saying the fix (exit 2, through {@link Main}), rather than a reconnect
 * loop or a stack trace. The errors are {@link IllegalArgumentException}s, the type {@link Main}
 * prints without a trace. Stateless.
 */
final class Preflight {
    private Preflight() {}

    /** Opens and closes one connection to {@code url}. */
    static void database(DatabaseUrl url) {
        try (Connection c = url.connect()) {
            c.isValid(5);
        } catch (SQLException e) {
            String hint = unknownHost(e) ? "The host name '" + url.host() + "' does not resolve: check the host in the URL."
                    : hint(url, e.getSQLState());
            throw new IllegalArgumentException("cannot connect to " + url + ": " + firstLine(e.getMessage())
                    + (hint == null ? "" : "\n  " + hint));
        }
    }

    /** Binds {@code bind:port} for a moment; port 0 is always free. */
    static void port(String bind, int port) {
        if (port == 0) {
            return;
        }
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(bind, port));
        } catch (BindException e) {
            throw portInUse(bind, port);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot listen on " + bind + ":" + port + ": " + e.getMessage()
                    + "\n  check the listen address (--bind, TIDINGS_BIND) and the port (--port, PORT)");
        }
    }

    /** The error of a port another process holds. */
    static IllegalArgumentException portInUse(String bind, int port) {
        return new IllegalArgumentException("port " + port + " on " + bind + " is already in use by another program"
                + "\n  stop that program, or choose another port with --port N (PORT for serve; --port 0 takes any free port)");
    }

    /** Whether {@code e} or one of its causes is a failure to bind a port. */
    static boolean isBindFailure(Throwable e) {
        return causedBy(e, BindException.class);
    }

    private static boolean unknownHost(Throwable e) {
        return causedBy(e, UnknownHostException.class);
    }

    private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    /** What to look at, by SQLSTATE class: the message pgjdbc gives is right but not always actionable. */
    static String hint(DatabaseUrl url, String sqlState) {
        if (sqlState == null) {
            return null;
        }
        if (sqlState.startsWith("08")) {
            return "Is PostgreSQL running and accepting TCP connections at " + url.host() + ":" + url.port()
                    + "? Check host, port, firewall and listen_addresses.";
        }
        if (sqlState.startsWith("28")) {
            return "Authentication failed for user '" + url.user() + "': check the user name and password in the URL"
                    + " and the server's pg_hba.conf.";
        }
        if (sqlState.equals("3D000")) {
            return "Database '" + url.database() + "' does not exist on " + url.host() + ":" + url.port() + ".";
        }
        return null;
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "no reason given";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
