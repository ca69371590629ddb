package dev.tidings;

import dev.tidings.base.Identifiers;
import dev.tidings.source.SourceException;
import dev.tidings.testing.EventCollector;
import dev.tidings.testing.Streams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The publication changes under a running Tidings: dropped, or narrowed so that changes stop
 * coming. PostgreSQL does not say so; Tidings must stop with a message that says what was lost and
 * what to run, and must never recreate a publication that existed (one created later does not
 * cover the changes written while it was missing).
 */
@Tag("postgres")
class PublicationChangesTest {

    @Test
    void a_publication_dropped_mid_stream_stops_tidings_and_is_not_recreated() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            s.start();
            s.sql("INSERT INTO t VALUES (1)");
            s.collector.await(1);
            s.sql("DROP PUBLICATION tidings", "INSERT INTO t VALUES (2)");

            assertThat(s.tidings().await(30_000)).as("Tidings stops").isTrue();
            assertThat(s.tidings().failure()).isInstanceOf(SourceException.class)
                    .hasMessageContaining("publication tidings").hasMessageContaining("dropped")
                    .hasMessageContaining("CREATE PUBLICATION tidings FOR ALL TABLES");
            assertThat(publications(s)).as("not recreated").isEqualTo("0");
        }
    }

    @Test
    void a_publication_dropped_while_tidings_was_stopped_is_not_recreated_at_the_next_start() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            s.start();
            s.stop();
            s.sql("DROP PUBLICATION tidings");
            try (Tidings again = Tidings.start(s.config(), new EventCollector())) {
                assertThat(again.await(30_000)).as("Tidings stops").isTrue();
                assertThat(again.failure()).isInstanceOf(SourceException.class)
                        .hasMessageContaining("publication tidings does not exist")
                        .hasMessageContaining("pg_drop_replication_slot('" + s.slot + "')");
            }
            assertThat(publications(s)).as("not recreated").isEqualTo("0");
        }
    }

    @Test
    void a_listed_table_dropped_from_the_publication_mid_stream_stops_tidings_with_what_to_run() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE a (id int PRIMARY KEY)", "CREATE TABLE b (id int PRIMARY KEY)");
            s.start(s.config().withPublication("tidings", List.of(Identifiers.parseTable("a"), Identifiers.parseTable("b"))));
            s.sql("INSERT INTO b VALUES (1)");
            s.collector.await(1);
            s.sql("ALTER PUBLICATION tidings DROP TABLE b");

            assertThat(s.tidings().await(30_000)).as("Tidings stops").isTrue();
            assertThat(s.tidings().failure()).isInstanceOf(SourceException.class)
                    .hasMessageContaining("no longer publishes public.b")
                    .hasMessageContaining("ALTER PUBLICATION tidings ADD TABLE public.b");
        }
    }

    @Test
    void a_publication_that_stops_publishing_deletes_mid_stream_stops_tidings() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE t (id int PRIMARY KEY)");
            s.start();
            s.sql("ALTER PUBLICATION tidings SET (publish = 'insert, update')");

            assertThat(s.tidings().await(30_000)).as("Tidings stops").isTrue();
            assertThat(s.tidings().failure()).isInstanceOf(SourceException.class)
                    .hasMessageContaining("no longer publishes delete, truncate");
        }
    }

    @Test
    void a_table_dropped_from_the_database_or_added_to_the_publication_is_no_loss() throws Exception {
        try (Streams s = Streams.newDatabase()) {
            s.sql("CREATE TABLE a (id int PRIMARY KEY)", "CREATE TABLE b (id int PRIMARY KEY)",
                    "CREATE TABLE c (id int PRIMARY KEY)", "CREATE TABLE d (id int PRIMARY KEY)");
            s.start(s.config().withPublication("tidings", List.of(Identifiers.parseTable("a"),
                    Identifiers.parseTable("b"), Identifiers.parseTable("d"))));
            // b leaves with DROP TABLE and c joins: no loss; d leaves the publication but not the database: a loss
            s.sql("DROP TABLE b", "ALTER PUBLICATION tidings ADD TABLE c", "ALTER PUBLICATION tidings DROP TABLE d");

            assertThat(s.tidings().await(30_000)).as("Tidings stops").isTrue();
            assertThat(s.tidings().failure()).isInstanceOf(SourceException.class)
                    .hasMessageContaining("no longer publishes public.d,").hasMessageNotContaining("public.b")
                    .hasMessageNotContaining("public.c");
        }
    }

    private static String publications(Streams s) {
        return s.queryValue("SELECT count(*) FROM pg_publication WHERE pubname = 'tidings'");
    }
}
