package dev.tidings.server.cli;

import dev.tidings.base.Identifiers;
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
 * the point.
 */
final class SampleApp {
    static final List<TableName> TABLES = List.of(Identifiers.parseTable("demo.users"), Identifiers.parseTable("demo.posts"),
            Identifiers.parseTable("demo.comments"), Identifiers.parseTable("demo.votes"));

    private static final String[] WORDS = {"postgres", "events", "replication", "tidings", "kafka", "websocket",
            "observer", "service", "ledger", "webhook", "coffee", "release", "outage", "index", "vacuum"};

    private final DatabaseUrl database;
    private final Random random = new Random(42);
    private volatile boolean running = true;

    SampleApp(DatabaseUrl database) {
        this.database = database;
    }

    void createSchema() throws SQLException {
        try (Connection c = DemoCommand.connect(database)) {
            for (String sql : List.of(
                    "CREATE SCHEMA IF NOT EXISTS demo",
                    "CREATE TABLE IF NOT EXISTS demo.users (id bigserial PRIMARY KEY, name text NOT NULL, "
                            + "karma int NOT NULL DEFAULT 0, joined_at timestamptz NOT NULL DEFAULT now())",
                    "CREATE TABLE IF NOT EXISTS demo.posts (id bigserial PRIMARY KEY, author_id bigint REFERENCES demo.users, "
                            + "title text NOT NULL, url text, tags text[] NOT NULL DEFAULT '{}', score int NOT NULL DEFAULT 0, "
                            + "created_at timestamptz NOT NULL DEFAULT now())",
                    "CREATE TABLE IF NOT EXISTS demo.comments (id bigserial PRIMARY KEY, "
                            + "post_id bigint REFERENCES demo.posts ON DELETE CASCADE, author_id bigint REFERENCES demo.users, "
                            + "body text NOT NULL, meta jsonb, created_at timestamptz NOT NULL DEFAULT now())",
                    "CREATE TABLE IF NOT EXISTS demo.votes (post_id bigint REFERENCES demo.posts ON DELETE CASCADE, "
                            + "user_id bigint REFERENCES demo.users, up boolean NOT NULL, PRIMARY KEY (post_id, user_id))",
                    "INSERT INTO demo.users (name) SELECT 'user' || i FROM generate_series(1, 5) i "
                            + "WHERE NOT EXISTS (SELECT 1 FROM demo.users)")) {
                DemoCommand.execute(c, sql);
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
            update(c, "INSERT INTO demo.users (name) VALUES (?)", "user" + random.nextInt(100_000));
        } else if (dice < 30) {
            update(c, "INSERT INTO demo.posts (author_id, title, url, tags) SELECT id, ?, ?, ? FROM demo.users "
                    + "ORDER BY random() LIMIT 1", sentence(5), "https://example.com/" + word(),
                    c.createArrayOf("text", new String[] {word(), word()}));
        } else if (dice < 60) {
            update(c, "INSERT INTO demo.comments (post_id, author_id, body, meta) SELECT p.id, u.id, ?, ?::jsonb "
                    + "FROM (SELECT id FROM demo.posts ORDER BY random() LIMIT 1) p, "
                    + "(SELECT id FROM demo.users ORDER BY random() LIMIT 1) u", sentence(8),
                    "{\"client\": \"" + (random.nextBoolean() ? "web" : "ios") + "\", \"edited\": false}");
        } else if (dice < 90) {
            update(c, "INSERT INTO demo.votes (post_id, user_id, up) SELECT p.id, u.id, ? "
                    + "FROM (SELECT id FROM demo.posts ORDER BY random() LIMIT 1) p, "
                    + "(SELECT id FROM demo.users ORDER BY random() LIMIT 1) u "
                    + "ON CONFLICT (post_id, user_id) DO UPDATE SET up = EXCLUDED.up", random.nextInt(4) > 0);
        } else if (dice < 97) {
            update(c, "UPDATE demo.posts SET score = score + 1, title = title || '!' WHERE id = "
                    + "(SELECT id FROM demo.posts ORDER BY random() LIMIT 1)");
        } else {
            update(c, "DELETE FROM demo.posts WHERE id = (SELECT id FROM demo.posts ORDER BY random() LIMIT 1)");
        }
    }

    private static void update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
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
