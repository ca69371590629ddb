package dev.tidings.server.live;

import dev.tidings.source.DatabaseUrl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Filter conditions PostgreSQL itself decides: text ordering under a collation that is not code
 * point order (libc and ICU collations cannot be reproduced exactly in Java), {@code ilike},
 * {@code match}, {@code imatch}, types Tidings does not compare itself ({@code jsonb},
 * {@code interval}, {@code citext}, …), and the check of every condition when a channel joins,
 * so that a literal PostgreSQL would refuse is refused with PostgreSQL's own words.
 *
 * <p>Each question is {@code SELECT (value::type [COLLATE c]) op (literal::type)} with the row
 * value and the literal as parameters, asked once per distinct (condition, value) pair: answers
 * are kept in a bounded least-recently-used cache of {@value #CACHE_ENTRIES} entries, so a filter
 * over a column with few distinct values costs no query after warm-up, and one over a column of
 * unique values costs one round trip per change. Accepted join checks are remembered too.
 *
 * <p>Thread-safe: one connection, used under this object's lock (questions come from the fan-out
 * thread and from joins). A failed question answers null (no match: fail closed), and the
 * connection is reopened at the next one.
 */
public final class DatabaseConditions {
    private static final Logger log = LoggerFactory.getLogger(DatabaseConditions.class);
    static final int CACHE_ENTRIES = 50_000;

    private final DatabaseUrl database;
    private final Map<String, Boolean> answers = lru(CACHE_ENTRIES);
    /** Conditions PostgreSQL accepted: a join with a filter seen before costs no query. */
    private final Map<String, Boolean> accepted = lru(CACHE_ENTRIES / 10);
    private Connection connection;

    public DatabaseConditions(DatabaseUrl database) {
        this.database = database;
    }

    /**
     * Has PostgreSQL read {@code literal} as {@code literalSql} says (one parameter) and plan
     * {@code sql} (value NULL): a literal the type refuses, or an operator the type lacks, fails.
     *
     * @throws IllegalArgumentException with PostgreSQL's message when it refuses
     * @throws IllegalStateException when the database cannot be asked
     */
    synchronized void check(String sql, String literalSql, String literal) {
        String key = sql + '\u0000' + literal;
        if (accepted.containsKey(key)) {
            return;
        }
        try {
            ask("SELECT " + literalSql + " IS NOT NULL", literal);
            ask(sql, null, literal);
            accepted.put(key, Boolean.TRUE);
        } catch (SQLException e) {
            if (e.getSQLState() != null && (e.getSQLState().startsWith("22") || e.getSQLState().startsWith("42"))) {
                throw new IllegalArgumentException(firstLine(e.getMessage()));
            }
            close();
            throw new IllegalStateException("could not check a filter with the database: " + e.getMessage(), e);
        }
    }

    /** PostgreSQL's answer for a non-null row value, or null for SQL NULL or when it cannot be asked. */
    synchronized Boolean test(String sql, String value, String literal) {
        String key = sql + '\u0000' + literal + '\u0000' + value;
        if (answers.containsKey(key)) {
            return answers.get(key);
        }
        try {
            Boolean answer = ask(sql, value, literal);
            answers.put(key, answer);
            return answer;
        } catch (SQLException e) {
            log.warn("could not evaluate a filter condition in the database ({}); the change does not match", e.getMessage());
            close();
            return null;
        }
    }

    private Boolean ask(String sql, String... parameters) throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = database.connect();
            try (Statement s = connection.createStatement()) {
                s.execute("SET statement_timeout = '2s'");
                s.execute("SET TimeZone = 'UTC'"); // a timestamptz literal without offset is UTC, as in process
            }
        }
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                ps.setString(i + 1, parameters[i]);
            }
            try (ResultSet r = ps.executeQuery()) {
                r.next();
                boolean b = r.getBoolean(1);
                return r.wasNull() ? null : b;
            }
        }
    }

    private static Map<String, Boolean> lru(int entries) {
        return new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                return size() > entries;
            }
        };
    }

    private static String firstLine(String message) {
        String m = message.startsWith("ERROR: ") ? message.substring(7) : message;
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    public synchronized void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // closing a broken connection
            }
            connection = null;
        }
    }
}
