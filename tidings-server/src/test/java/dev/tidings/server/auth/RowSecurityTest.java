package dev.tidings.server.auth;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import dev.tidings.server.live.LiveFanOut;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link RowSecurity} on its own against a real PostgreSQL with a Supabase-style policy: enough
 * users that one batch's groups take several round trips on several connections, and changes fed
 * as the fan-out feeds them (one change to every subscriber, change after change).
 */
@Timeout(120)
@Tag("postgres")
class RowSecurityTest {
    private static final List<Column> COLUMNS = List.of(new Column("id", "int8", 20, true),
            new Column("user_id", "text", 25, false));
    private static final int USERS = 3 * RowSecurity.GROUPS_PER_TRIP + 5;

    /** A subscriber that records the changes it was handed: their column {@code n}, else {@code id}. */
    private record Subscriber(RowSecurity.Identity identity, String user, List<Long> ids) implements RowSecurity.Reader {
        @Override
        public void visible(ChangeEvent event, LiveFanOut.EventBytes bytes, Set<String> readable, List<String> errors) {
            String n = event.record().json("n");
            ids.add(Long.parseLong(n != null ? n : event.record().json("id")));
        }
    }

    @Test
    void groups_are_cut_into_round_trips_of_equal_size_an_equal_number_per_connection() {
        assertThat(RowSecurity.cut(0)).containsExactly(0);
        assertThat(RowSecurity.cut(1)).containsExactly(0, 1);
        assertThat(RowSecurity.cut(10)).as("one trip per connection, not one trip of 10").containsExactly(0, 3, 6, 8, 10);
        assertThat(RowSecurity.cut(100)).as("8 trips of 12 or 13: 25 groups per connection, not 32 on one")
                .containsExactly(0, 13, 26, 39, 52, 64, 76, 88, 100);
        for (int n = 1; n < 500; n++) {
            int[] cuts = RowSecurity.cut(n);
            int trips = cuts.length - 1;
            assertThat(cuts[trips]).isEqualTo(n);
            assertThat(trips % RowSecurity.CONNECTIONS == 0 || trips == n).as("trips of %d groups", n).isTrue();
            for (int t = 0; t < trips; t++) {
                assertThat(cuts[t + 1] - cuts[t]).as("trip %d of %d groups", t, n)
                        .isBetween(Math.max(1, n / trips), Math.min(RowSecurity.GROUPS_PER_TRIP, (n + trips - 1) / trips));
            }
        }
    }

    @Test
    void its_connections_are_open_before_the_first_change_needs_them() throws Exception {
        String url = TestPostgres.newDatabase();
        try (Connection c = TestPostgres.connect(url);
             PreparedStatement backends = c.prepareStatement("SELECT count(*) FROM pg_catalog.pg_stat_activity"
                     + " WHERE datname = pg_catalog.current_database() AND pid <> pg_catalog.pg_backend_pid()");
             RowSecurity security = new RowSecurity(DatabaseUrl.parse(url))) {
            Await.until(Duration.ofSeconds(20), "the checks' connections open", () -> {
                try (ResultSet r = backends.executeQuery()) {
                    r.next();
                    return r.getInt(1) == RowSecurity.CONNECTIONS;
                }
            });
            assertThat(security.queries()).as("no check was made").isZero();
        }
    }

    @Test
    void everySubscriberGetsExactlyItsOwnRowsInCommitOrderWhenGroupsAreCheckedInParallel() throws Exception {
        String url = TestPostgres.newDatabase();
        TestPostgres.execute(url,
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rls_order_user') THEN"
                        + " CREATE ROLE rls_order_user NOLOGIN; END IF; END $$",
                "CREATE SCHEMA auth",
                "CREATE FUNCTION auth.uid() RETURNS text LANGUAGE sql STABLE"
                        + " AS $$ SELECT nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub' $$",
                "GRANT USAGE ON SCHEMA auth TO rls_order_user",
                "CREATE TABLE owned (id bigint PRIMARY KEY, user_id text NOT NULL)",
                "ALTER TABLE owned ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY own ON owned FOR SELECT TO rls_order_user USING (user_id = auth.uid())",
                "GRANT SELECT ON owned TO rls_order_user");
        List<Subscriber> subscribers = new ArrayList<>();
        for (int u = 0; u < USERS; u++) {
            for (int copy = 0; copy < 2; copy++) { // two tabs of one user, with distinct identity instances
                subscribers.add(new Subscriber(new RowSecurity.Identity("rls_order_user", "{\"sub\":\"u" + u + "\"}"),
                        "u" + u, new CopyOnWriteArrayList<>()));
            }
        }
        int changes = 600;
        List<ChangeEvent> events = new ArrayList<>();
        try (Connection c = TestPostgres.connect(url);
             PreparedStatement insert = c.prepareStatement(
                     "INSERT INTO owned VALUES (?, ?) RETURNING pg_catalog.txid_current()")) {
            for (long id = 1; id <= changes; id++) {
                // users in a scrambled order, so each user's rows are spread over the batches
                String user = "u" + (id * 7 % USERS);
                insert.setLong(1, id);
                insert.setString(2, user);
                try (ResultSet r = insert.executeQuery()) {
                    r.next();
                    Transaction tx = new Transaction(r.getLong(1), Lsn.of(id * 100), Instant.now());
                    events.add(new ChangeEvent(Op.INSERT, "public", "owned", COLUMNS,
                            new Row(COLUMNS, new String[] {Long.toString(id), "\"" + user + "\""}), null, List.of(), tx, 0,
                            Lsn.of(id * 100 - 1), null));
                }
            }
        }
        long queriesBefore;
        try (RowSecurity security = new RowSecurity(DatabaseUrl.parse(url))) {
            queriesBefore = security.queries();
            for (int i = 0; i < events.size(); i++) {
                for (Subscriber s : subscribers) {
                    security.check(events.get(i), null, s);
                }
                if (i % 50 == 0) {
                    Thread.sleep(5); // several batches, as a live stream makes them
                }
            }
            long deadline = System.currentTimeMillis() + 60_000;
            while (subscribers.stream().mapToInt(s -> s.ids.size()).sum() < changes * 2
                    && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(300); // anything more (a leak) would arrive now
            assertThat(security.queries() - queriesBefore).as("one query per identity and batch, many identities")
                    .isGreaterThan(RowSecurity.GROUPS_PER_TRIP);
        }
        for (Subscriber s : subscribers) {
            List<Long> expected = new ArrayList<>();
            for (long id = 1; id <= changes; id++) {
                if (("u" + (id * 7 % USERS)).equals(s.user)) {
                    expected.add(id);
                }
            }
            assertThat(s.ids).as("the rows of %s, in commit order", s.user).containsExactlyElementsOf(expected);
        }
    }

    /**
     * Tables keyed by every kind of type, each with a row for each of two users: the keys go to
     * the database as text cast to the column's type (uuid, text with quotes and backslashes, a
     * domain, an enum, a composite key of int and timestamptz) or, where only JSON says what the
     * value is (an array, jsonb), as JSON; either way each user gets exactly the row PostgreSQL
     * lets that user select.
     */
    @Test
    void keys_of_every_type_find_the_rows_postgres_lets_each_user_select() throws Exception {
        String url = TestPostgres.newDatabase();
        TestPostgres.execute(url,
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rls_keys_user') THEN"
                        + " CREATE ROLE rls_keys_user NOLOGIN; END IF; END $$",
                "CREATE SCHEMA auth",
                // reads only request.jwt.claim.sub (the other test's only the claims JSON): both are set
                "CREATE FUNCTION auth.uid() RETURNS text LANGUAGE sql STABLE"
                        + " AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '') $$",
                "GRANT USAGE ON SCHEMA auth TO rls_keys_user",
                "CREATE DOMAIN code AS text CHECK (VALUE <> '')",
                "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
        Map<String, String> tables = new LinkedHashMap<>();
        tables.put("k_uuid", "id uuid PRIMARY KEY");
        tables.put("k_text", "id text PRIMARY KEY");
        tables.put("k_domain", "id code PRIMARY KEY");
        tables.put("k_enum", "id mood PRIMARY KEY");
        tables.put("k_pair", "a int, b timestamptz, PRIMARY KEY (a, b)");
        tables.put("k_array", "id int[] PRIMARY KEY");
        tables.put("k_jsonb", "id jsonb PRIMARY KEY");
        Map<String, String[]> values = Map.of(
                "k_uuid", new String[] {"'0b5c3a5e-2f43-4c57-9a63-5d6f2e7b8c91'", "'7d1e0f9a-6b2c-4e3d-8f4a-1c2b3d4e5f60'"},
                "k_text", new String[] {"'say \"hi\" \\ é'", "'it''s'"},
                "k_domain", new String[] {"'a'", "'b'"},
                "k_enum", new String[] {"'happy'", "'sad'"},
                "k_pair", new String[] {"1, '2026-01-02 03:04:05.678+01'", "1, '2026-01-02 03:04:05.679+01'"},
                "k_array", new String[] {"'{1,2}'", "'{2,1}'"},
                "k_jsonb", new String[] {"'{\"a\": [1, \"x\"]}'", "'\"a\"'"});
        List<String> users = List.of("u1", "u2");
        List<ChangeEvent> events = new ArrayList<>();
        try (Connection c = TestPostgres.connect(url); Statement st = c.createStatement()) {
            for (var t : tables.entrySet()) {
                String table = t.getKey();
                st.execute("CREATE TABLE " + table + " (" + t.getValue() + ", user_id text NOT NULL)");
                st.execute("ALTER TABLE " + table + " ENABLE ROW LEVEL SECURITY");
                st.execute("CREATE POLICY own ON " + table + " FOR SELECT TO rls_keys_user USING (user_id = auth.uid())");
                st.execute("GRANT SELECT ON " + table + " TO rls_keys_user");
                for (int u = 0; u < users.size(); u++) {
                    long xid;
                    try (ResultSet r = st.executeQuery("INSERT INTO " + table + " VALUES (" + values.get(table)[u]
                            + ", '" + users.get(u) + "') RETURNING pg_catalog.txid_current()")) {
                        r.next();
                        xid = r.getLong(1);
                    }
                    events.add(inserted(st, table, users.get(u), xid, events.size() + 1));
                }
            }
        }
        List<Subscriber> subscribers = users.stream().map(u -> new Subscriber(
                new RowSecurity.Identity("rls_keys_user", "{\"sub\":\"" + u + "\"}"), u, new CopyOnWriteArrayList<>())).toList();
        try (RowSecurity security = new RowSecurity(DatabaseUrl.parse(url))) {
            for (ChangeEvent e : events) {
                for (Subscriber s : subscribers) {
                    security.check(e, null, s);
                }
            }
            Await.until(Duration.ofSeconds(30), "a row for each user of each table",
                    () -> subscribers.stream().allMatch(s -> s.ids.size() == tables.size()));
            Thread.sleep(300); // anything more (a leak) would arrive now
        }
        for (int u = 0; u < users.size(); u++) {
            List<Long> expected = new ArrayList<>();
            for (int e = u; e < events.size(); e += users.size()) {
                expected.add((long) e + 1);
            }
            assertThat(subscribers.get(u).ids).as("the rows of %s", users.get(u)).containsExactlyElementsOf(expected);
        }
    }

    /**
     * The change inserting {@code user}'s row of {@code table}, its values as {@code to_jsonb}
     * renders them (as the replication stream has them), numbered {@code n} in an extra column
     * {@code n} for {@link Subscriber} to record.
     */
    private static ChangeEvent inserted(Statement st, String table, String user, long xid, long n) throws Exception {
        List<Column> columns = new ArrayList<>();
        List<String> json = new ArrayList<>();
        try (ResultSet r = st.executeQuery("SELECT a.attname, pg_catalog.format_type(a.atttypid, NULL), a.atttypid::int,"
                + " a.attnum = ANY (i.indkey) FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_index i"
                + " ON i.indrelid = a.attrelid AND i.indisprimary WHERE a.attrelid = '" + table + "'::regclass"
                + " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
            while (r.next()) {
                columns.add(new Column(r.getString(1), r.getString(2), r.getInt(3), r.getBoolean(4)));
            }
        }
        for (Column col : columns) {
            try (ResultSet r = st.executeQuery("SELECT pg_catalog.to_jsonb(" + col.name() + ")::text FROM " + table
                    + " WHERE user_id = '" + user + "'")) {
                r.next();
                json.add(r.getString(1));
            }
        }
        columns.add(new Column("n", "int8", 20, false));
        json.add(Long.toString(n));
        Transaction tx = new Transaction(xid, Lsn.of(n * 100), Instant.now());
        return new ChangeEvent(Op.INSERT, "public", table, columns, new Row(columns, json.toArray(String[]::new)), null,
                List.of(), tx, 0, Lsn.of(n * 100 - 1), null);
    }
}
