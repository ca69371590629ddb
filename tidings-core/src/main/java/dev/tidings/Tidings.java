package dev.tidings;

import dev.tidings.backfill.BackfillDelivery;
import dev.tidings.backfill.Backfiller;
import dev.tidings.base.Lsn;
import dev.tidings.base.TableFilter;
import dev.tidings.decode.ChangeDecoder;
import dev.tidings.decode.RelationKeys;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Op;
import dev.tidings.event.Transaction;
import dev.tidings.pipeline.Delivery;
import dev.tidings.pipeline.Pipeline;
import dev.tidings.source.ReplicationSource;
import dev.tidings.source.SourceConfig;
import dev.tidings.value.PgTypeRegistry;

import java.sql.SQLException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The embedded API: stream the committed changes of a database to a {@link ChangeListener}.
 *
 * <pre>{@code
 * SourceConfig config = SourceConfig.of(DatabaseUrl.parse("postgresql://app@localhost/shop"))
 *         .withSlot("billing", false)
 *         .withPublication("tidings", List.of(Identifiers.parseTable("public.orders")));
 * try (Tidings tidings = Tidings.start(config, event -> billing.apply(event))) {
 *     tidings.await();
 * }
 * }</pre>
 *
 * When {@code config.tables()} names tables, only their changes reach the listener (also when the
 * publication covers more); logical decoding messages always do. Changes of transactions whose
 * replication origin is in {@code config.skipOrigins()} do not. With
 * {@link SourceConfig#withSnapshot} the listener first gets the tables' current rows as
 * {@link Op#READ} events, merged into the changes by a {@link Backfiller} (resumed after a crash,
 * once per slot). Thread-safe.
 */
public final class Tidings implements AutoCloseable {
    private final ReplicationSource source;
    private final Pipeline pipeline;
    private final Backfiller backfiller; // null without a snapshot
    private final Thread thread;
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile Exception failure;
    private volatile Exception backfillFailure;

    private Tidings(SourceConfig config, ChangeListener listener) {
        this(config, listenerDelivery(listener));
    }

    private Tidings(SourceConfig config, Delivery delivery) {
        PgTypeRegistry types = new PgTypeRegistry(config.database().jdbcUrl(), config.database().properties());
        RelationKeys keys = RelationKeys.fromCatalog(() -> {
            try {
                return config.database().connect();
            } catch (SQLException e) {
                throw new IllegalStateException("could not connect to read a primary key: " + e.getMessage(), e);
            }
        });
        SourceConfig.Snapshot snapshot = config.snapshot();
        if (snapshot == null) {
            this.backfiller = null;
            this.pipeline = new Pipeline(new ChangeDecoder(types, keys), delivery, tableFilter(config), 4096);
        } else {
            BackfillDelivery merged = new BackfillDelivery(delivery);
            this.backfiller = new Backfiller(config.database(), types, config.slot(), merged, snapshot)
                    .withInitialSnapshot(snapshot.initialFor(), config.tables(), config.publication(),
                            config.temporarySlot());
            Predicate<ChangeEvent> tables = tableFilter(config);
            this.pipeline = new Pipeline(new ChangeDecoder(types, keys), merged,
                    e -> tables.test(e) || BackfillDelivery.isWatermark(e), 4096);
        }
        this.source = new ReplicationSource(config, pipeline);
        this.thread = Thread.ofPlatform().name("tidings-source").unstarted(this::run);
    }

    private static Delivery listenerDelivery(ChangeListener listener) {
        return new Delivery() {
            @Override
            public void change(ChangeEvent event) throws Exception {
                listener.onEvent(event);
            }

            @Override
            public void commit(Transaction tx, Acknowledgement ack) throws Exception {
                listener.onTransaction(tx);
                ack.acknowledge();
            }
        };
    }

    /** Starts streaming on threads of its own and returns at once. */
    public static Tidings start(SourceConfig config, ChangeListener listener) {
        return start(new Tidings(config, listener));
    }

    /**
     * Starts streaming into a {@link Delivery} that acknowledges by itself, e.g. a
     * {@link dev.tidings.pipeline.SinkFanOut} over durable sinks; returns at once. Close the
     * delivery after this has stopped.
     */
    public static Tidings start(SourceConfig config, Delivery delivery) {
        return start(new Tidings(config, delivery));
    }

    private static Tidings start(Tidings t) {
        t.pipeline.start(t.source::stop);
        t.thread.start();
        if (t.backfiller != null) {
            t.backfiller.start(t.source::streaming, e -> {
                t.backfillFailure = e;
                t.source.stop();
            });
        }
        return t;
    }

    private void run() {
        try {
            source.run();
        } catch (Exception e) {
            failure = e;
        } finally {
            if (backfiller != null) {
                backfiller.stop();
            }
            try {
                pipeline.drainAndStop(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (failure == null) {
                failure = pipeline.failure();
            }
            if (failure == null) {
                failure = backfillFailure;
            }
            done.countDown();
        }
    }

    /** Waits until the stream ends; throws what ended it, if it was not {@link #stop()}. */
    public void await() throws Exception {
        done.await();
        if (failure != null) {
            throw failure;
        }
    }

    /** Waits at most {@code timeoutMs}; true when the stream has ended. */
    public boolean await(long timeoutMs) throws InterruptedException {
        return done.await(timeoutMs, TimeUnit.MILLISECONDS);
    }

    /** What ended the stream, or null. */
    public Exception failure() {
        return failure;
    }

    /**
     * Stops reading, lets the listener finish what was already received, confirms it to
     * PostgreSQL and closes the connection. Returns when that is done (at most ~35 s).
     */
    public void stop() {
        source.stop();
        try {
            done.await(35, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The position most recently confirmed to PostgreSQL. */
    public Lsn confirmed() {
        return source.confirmed();
    }

    /** The backfill engine of this stream, or null when it was started without {@link SourceConfig#withSnapshot}. */
    public Backfiller backfiller() {
        return backfiller;
    }

    /** The progress of this stream's backfills (empty without a snapshot). */
    public java.util.List<Backfiller.Progress> backfills() throws SQLException {
        return backfiller == null ? java.util.List.of() : backfiller.progress();
    }

    /** How often the replication connection was lost and reopened (or is being reopened). */
    public long reconnects() {
        return source.reconnects();
    }

    /** How many pgoutput messages could not be decoded; a decode error ends the stream. */
    public long decodeErrors() {
        return pipeline.decodeErrors();
    }

    /** True while connected and streaming. */
    public boolean streaming() {
        return source.streaming();
    }

    @Override
    public void close() {
        stop();
    }

    static Predicate<ChangeEvent> tableFilter(SourceConfig config) {
        TableFilter names = TableFilter.of(config.tables());
        Predicate<ChangeEvent> tables = names.all() ? e -> true
                : e -> e.op() == Op.MESSAGE || names.matches(e.schema(), e.table());
        if (config.skipOrigins().isEmpty()) {
            return tables;
        }
        return e -> !config.skipsOrigin(e.tx().origin()) && tables.test(e);
    }
}
