package dev.tidings.server.auth;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import dev.tidings.server.live.LiveFanOut;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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

    /** A subscriber that records the ids it was handed, and on which thread. */
    private record Subscriber(RowSecurity.Identity identity, String user, List<Long> ids) implements RowSecurity.Reader {
        @Override
        public void visible(ChangeEvent event, LiveFanOut.EventBytes bytes, Set<String> readable, List<String> errors) {
            ids.add(Long.parseLong(event.record().json("id")));
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
}
