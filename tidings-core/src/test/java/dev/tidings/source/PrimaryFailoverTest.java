package dev.tidings.source;

import dev.tidings.Tidings;
import dev.tidings.testing.Await;
import dev.tidings.testing.Json;
import dev.tidings.testing.TestPostgres;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A primary failover with a PostgreSQL 17+ failover slot: a primary and a physical standby (made
 * from a low-level base backup, streaming through a physical slot, synchronizing slots), Tidings
 * on the primary with {@code replication.failover}; rows written, the primary stopped, the standby
 * promoted, and Tidings, started on it, continues from the synchronized slot: every row arrives,
 * also those it had not read before the failover. Skipped below 17 (run it with
 * {@code -Dpg.binaries.version=18.1.0}).
 */
@Tag("postgres")
@Tag("slow")
class PrimaryFailoverTest {
    private static final int UNREAD = 300;

    @TempDir
    Path dir;

    @Test
    void tidings_continues_from_the_synchronized_slot_on_the_promoted_standby() throws Exception {
        assumeTrue(TestPostgres.majorVersion() >= 17, "failover slots need PostgreSQL 17+");
        Path primaryDir = dir.resolve("primary");
        Path standbyDir = dir.resolve("standby");
        EmbeddedPostgres primary = EmbeddedPostgres.builder().setDataDirectory(primaryDir).setCleanDataDirectory(true)
                .setServerConfig("wal_level", "logical").setServerConfig("max_wal_senders", "10")
                .setServerConfig("max_replication_slots", "10").start();
        EmbeddedPostgres standby = null;
        try {
            String primaryUrl = primary.getJdbcUrl("postgres", "postgres");
            sql(primaryUrl, "CREATE TABLE items (id int PRIMARY KEY)",
                    "SELECT pg_create_physical_replication_slot('standby1', true)");
            standby = startStandby(primary, primaryUrl, primaryDir, standbyDir);
            String standbyUrl = standby.getJdbcUrl("postgres", "postgres");
            sql(primaryUrl, "ALTER SYSTEM SET synchronized_standby_slots = 'standby1'", "SELECT pg_reload_conf()");

            Set<Integer> received = ConcurrentHashMap.newKeySet();
            SourceConfig config = SourceConfig.of(DatabaseUrl.parse(primaryUrl)).withSlot("orders", false)
                    .withPublication("orders", List.of()).withFailoverSlot(true);
            int before = 0;
            try (Tidings tidings = Tidings.start(config, e -> received.add(Json.row(e.record()).get("id").asInt()))) {
                Await.until(Duration.ofSeconds(30), "streaming", tidings::streaming);
                // the standby persists its copy once the primary's slot moved past where the copy began: keep it moving
                long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                while (!"t".equals(value(standbyUrl, "SELECT (synced AND NOT temporary)::text::char FROM pg_replication_slots "
                        + "WHERE slot_name = 'orders'"))) {
                    assertThat(System.nanoTime()).as("the slot synchronized to the standby; it has: %s", slots(standbyUrl))
                            .isLessThan(deadline);
                    before++;
                    sql(primaryUrl, "INSERT INTO items VALUES (" + before + ")");
                    Thread.sleep(100);
                }
                sql(primaryUrl, "INSERT INTO items SELECT generate_series(" + (before + 1) + ", " + (before + 500) + ")");
                before += 500;
                int written = before;
                Await.until(Duration.ofSeconds(30), "the rows before the failover", () -> received.size() == written);
            }
            String confirmed = value(primaryUrl, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'orders'");
            Await.until(Duration.ofSeconds(90), () -> "the synchronized slot at " + confirmed + "; the standby has: "
                    + slots(standbyUrl), () -> "t".equals(value(standbyUrl,
                    "SELECT (confirmed_flush_lsn >= '" + confirmed + "')::text::char FROM pg_replication_slots "
                            + "WHERE slot_name = 'orders'")));

            // committed on the primary and replicated, but never read by Tidings before the failover
            sql(primaryUrl, "INSERT INTO items SELECT generate_series(" + (before + 1) + ", " + (before + UNREAD) + ")");
            String end = value(primaryUrl, "SELECT pg_current_wal_insert_lsn()::text");
            Await.until(Duration.ofSeconds(30), "the standby to replay " + end,
                    () -> "t".equals(value(standbyUrl, "SELECT (pg_last_wal_replay_lsn() >= '" + end + "')::text::char")));
            primary.close();
            sql(standbyUrl, "SELECT pg_promote(true, 60)");

            received.clear();
            int first = before + 1;
            SourceConfig promoted = SourceConfig.of(DatabaseUrl.parse(standbyUrl)).withSlot("orders", false)
                    .withPublication("orders", List.of()).withFailoverSlot(true);
            try (Tidings tidings = Tidings.start(promoted, e -> received.add(Json.row(e.record()).get("id").asInt()))) {
                Await.until(Duration.ofSeconds(60), () -> "the rows not read before the failover (have " + received.size()
                        + "; failure " + tidings.failure() + ")", () -> received.size() >= UNREAD
                        && Stream.iterate(first, i -> i + 1).limit(UNREAD).allMatch(received::contains));
            }
            System.out.printf("primary failover: %d rows before, %d unread rows delivered from the synchronized slot after "
                    + "promotion (%d received in all after it)%n", before, UNREAD, received.size());
        } finally {
            if (standby != null) {
                standby.close();
            }
            primary.close();
        }
    }

    /** A physical standby from a low-level base backup of {@code primary}, streaming through slot standby1. */
    private static EmbeddedPostgres startStandby(EmbeddedPostgres primary, String primaryUrl, Path from, Path to)
            throws Exception {
        try (Connection c = DriverManager.getConnection(primaryUrl); Statement s = c.createStatement()) {
            s.execute("SELECT pg_backup_start('standby1', true)");
            copy(from, to);
            try (ResultSet rs = s.executeQuery("SELECT labelfile FROM pg_backup_stop(true)")) {
                rs.next();
                Files.writeString(to.resolve("backup_label"), rs.getString(1));
            }
        }
        Files.setPosixFilePermissions(to, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Files.writeString(to.resolve("standby.signal"), "");
        Files.writeString(to.resolve("postgresql.auto.conf"), """
                primary_conninfo = 'host=localhost port=%d user=postgres dbname=postgres'
                primary_slot_name = 'standby1'
                hot_standby_feedback = on
                sync_replication_slots = on
                """.formatted(primary.getPort()));
        return EmbeddedPostgres.builder().setDataDirectory(to).setCleanDataDirectory(false)
                .setServerConfig("wal_level", "logical").setServerConfig("max_wal_senders", "10")
                .setServerConfig("max_replication_slots", "10").setServerConfig("hot_standby", "on")
                .setPGStartupWait(Duration.ofSeconds(60)).start();
    }

    /** The data directory without what a base backup leaves out: WAL, slots, the postmaster's files. */
    private static void copy(Path from, Path to) throws IOException {
        Set<String> skipped = Set.of("postmaster.pid", "postmaster.opts", "epg-lock", "backup_label", "postgresql.auto.conf");
        try (Stream<Path> files = Files.walk(from)) {
            files.forEach(p -> {
                Path rel = from.relativize(p);
                String top = rel.getNameCount() == 0 ? "" : rel.getName(0).toString();
                try {
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(to.resolve(rel));
                    } else if (!skipped.contains(rel.toString()) && !top.equals("pg_wal") && !top.equals("pg_replslot")) {
                        Files.copy(p, to.resolve(rel), StandardCopyOption.REPLACE_EXISTING);
                    }
                } catch (IOException e) {
                    if (!(e instanceof java.nio.file.NoSuchFileException)) { // a file PostgreSQL removed meanwhile
                        throw new UncheckedIOException(e);
                    }
                }
            });
        }
        try (Stream<Path> wal = Files.list(to.resolve("pg_wal"))) {
            for (Path p : wal.toList()) {
                if (!Files.isDirectory(p)) {
                    Files.delete(p);
                }
            }
        }
        try (Stream<Path> slots = Files.list(to.resolve("pg_replslot"))) {
            for (Path p : slots.toList()) {
                try (Stream<Path> inside = Files.list(p)) {
                    for (Path f : inside.toList()) {
                        Files.delete(f);
                    }
                }
                Files.delete(p);
            }
        }
    }

    private static void sql(String url, String... statements) throws SQLException {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            for (String q : statements) {
                s.execute(q);
            }
        }
    }

    private static String slots(String url) {
        try {
            return value(url, "SELECT string_agg(slot_name || ' synced=' || synced || ' temporary=' || temporary || ' confirmed='"
                    + " || coalesce(confirmed_flush_lsn::text, '-') || ' invalidated=' || coalesce(invalidation_reason, '-'), '; ')"
                    + " FROM pg_replication_slots");
        } catch (SQLException e) {
            return e.getMessage();
        }
    }

    private static String value(String url, String query) throws SQLException {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}
