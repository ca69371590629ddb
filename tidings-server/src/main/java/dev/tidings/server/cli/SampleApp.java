package dev.tidings.server.cli;

import dev.tidings.base.TableName;
import dev.tidings.source.DatabaseUrl;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The demo's application: a tiny Reddit clone that signs up users, posts,
 * comments, votes, edits and deletes, at a steady rate. It knows nothing of Tidings — which is
 * the point. Its four tables live in one schema: {@code public} in the demo's own embedded
 * database (where the Realtime walkthrough's {@code realtime:public} channel looks), {@code demo}
 * in a database of the user's, beside whatever is there. In SQL below, {@code {s}} stands for it.
 */
final class SampleApp {
    private static final List<String> TABLE_NAMES = List.of("users", "posts", "comments", "votes");

    private static final String[] WORDS = {"postgres", "events", "replication", "tidings", "kafka", "websocket",
            "observer", "service", "ledger", "webhook", "coffee", "release", "outage", "index", "vacuum"};

    private final DatabaseUrl database;
    private final String schema;
    private final Random random = new Random(42);
    private volatile boolean running = true;

    /** @param schema where the tables are: {@code public} or {@code demo} (lower-case, no quoting needed) */
    SampleApp(DatabaseUrl database, String schema) {
        this.database = database;
        this.schema = schema;
    }

    String schema() {
        return schema;
    }

    /** The app's tables, in the order they are created. */
    List<TableName> tables() {
        return TABLE_NAMES.stream().map(t -> new TableName(schema, t)).toList();
    }

    /** {@code sql} with {@code {s}} replaced by the app's schema. */
    private String in(String sql) {
        return sql.replace("{s}", schema);
    }

    void createSchema() throws SQLException {
        try (Connection c = DemoCommand.connect(database)) {
            for (String sql : List.of(
                    "CREATE SCHEMA IF NOT EXISTS {s}",
                    "CREATE TABLE IF NOT EXISTS {s}.users (id bigserial PRIMARY KEY, name text NOT NULL, "
                            + "karma int NOT NULL DEFAULT 0, joined_at timestamptz NOT NULL DEFAULT now())",
                    "CREATE TABLE IF NOT EXISTS {s}.posts (id bigserial PRIMARY KEY, author_id bigint REFERENCES {s}.users, "
                            + "title text NOT NULL, url text, tags text[] NOT NULL DEFAULT '{}', score int NOT NULL DEFAULT 0, "
                            + "created_at timestamptz NOT NULL DEFAULT now())",
                    "CREATE TABLE IF NOT EXISTS {s}.comments (id bigserial PRIMARY KEY, "
                            + "post_id bigint REFERENCES {s}.posts ON DELETE CASCADE, author_id bigint REFERENCES {s}.users, "
                            + "body text NOT NULL, meta jsonb, created_at timestamptz NOT NULL DEFAULT now())",
                    "CREATE TABLE IF NOT EXISTS {s}.votes (post_id bigint REFERENCES {s}.posts ON DELETE CASCADE, "
                            + "user_id bigint REFERENCES {s}.users, up boolean NOT NULL, PRIMARY KEY (post_id, user_id))",
                    "INSERT INTO {s}.users (name) SELECT 'user' || i FROM generate_series(1, 5) i "
                            + "WHERE NOT EXISTS (SELECT 1 FROM {s}.users)")) {
                DemoCommand.execute(c, in(sql));
            }
        }
    }

    void stop() {
        running = false;
    }

    void run(double perSecond) {
        long intervalNanos = (long) (TimeUnit.SECONDS.toNanos(1) / Math.max(0.1, perSecond));
        while (running) {
            try (Connection c = DemoCommand.connect(database)) {
                long next = System.nanoTime();
                while (running) {
                    step(c);
                    next += intervalNanos;
                    LockSupport.parkNanos(next - System.nanoTime());
                }
            } catch (SQLException e) {
                if (running) {
                    System.err.println("tidings demo: the sample app could not write (" + e.getMessage() + "); retrying");
                    LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
                }
            }
        }
    }

    private void step(Connection c) throws SQLException {
        int dice = random.nextInt(100);
        if (dice < 5) {
            update(c, "INSERT INTO {s}.users (name) VALUES (?)", "user" + random.nextInt(100_000));
        } else if (dice < 30) {
            update(c, "INSERT INTO {s}.posts (author_id, title, url, tags) SELECT id, ?, ?, ? FROM {s}.users "
                    + "ORDER BY random() LIMIT 1", sentence(5), "https://example.com/" + word(),
                    c.createArrayOf("text", new String[] {word(), word()}));
        } else if (dice < 60) {
            update(c, "INSERT INTO {s}.comments (post_id, author_id, body, meta) SELECT p.id, u.id, ?, ?::jsonb "
                    + "FROM (SELECT id FROM {s}.posts ORDER BY random() LIMIT 1) p, "
                    + "(SELECT id FROM {s}.users ORDER BY random() LIMIT 1) u", sentence(8),
                    "{\"client\": \"" + (random.nextBoolean() ? "web" : "ios") + "\", \"edited\": false}");
        } else if (dice < 90) {
            update(c, "INSERT INTO {s}.votes (post_id, user_id, up) SELECT p.id, u.id, ? "
                    + "FROM (SELECT id FROM {s}.posts ORDER BY random() LIMIT 1) p, "
                    + "(SELECT id FROM {s}.users ORDER BY random() LIMIT 1) u "
                    + "ON CONFLICT (post_id, user_id) DO UPDATE SET up = EXCLUDED.up", random.nextInt(4) > 0);
        } else if (dice < 97) {
            update(c, "UPDATE {s}.posts SET score = score + 1, title = title || '!' WHERE id = "
                    + "(SELECT id FROM {s}.posts ORDER BY random() LIMIT 1)");
        } else {
            update(c, "DELETE FROM {s}.posts WHERE id = (SELECT id FROM {s}.posts ORDER BY random() LIMIT 1)");
        }
    }

    private void update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(in(sql))) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            ps.executeUpdate();
        }
    }

    private String word() {
        return WORDS[random.nextInt(WORDS.length)];
    }

    private String sentence(int words) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < words; i++) {
            b.append(i == 0 ? "" : " ").append(word());
        }
        return b.toString();
    }
}
