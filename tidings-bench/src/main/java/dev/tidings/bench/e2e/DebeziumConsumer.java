package dev.tidings.bench.e2e;

import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.ChangeEvent;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The Debezium embedded engine (PostgreSQL connector, pgoutput) with its defaults, and a consumer
 * that only counts records (and, live, notes commit → delivery from {@code source.ts_us}). Records
 * stay Kafka Connect {@link SourceRecord}s: no JSON conversion is asked of Debezium, so it does
 * less work than Tidings, which writes JSON. Runs in a JVM of its own.
 *
 * <p>Arguments: host port database slot publication expected live [pollIntervalMs].
 */
public final class DebeziumConsumer {
    private DebeziumConsumer() {}

    public static void main(String[] args) throws Exception {
        ChildProtocol protocol = new ChildProtocol(System.out, Long.parseLong(args[5]), Boolean.parseBoolean(args[6]));
        Path offsets = Files.createTempFile("debezium-offsets", ".dat");
        offsets.toFile().deleteOnExit();
        Properties p = new Properties();
        p.setProperty("name", "bench");
        p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        p.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
        p.setProperty("offset.storage.file.filename", offsets.toString());
        p.setProperty("database.hostname", args[0]);
        p.setProperty("database.port", args[1]);
        p.setProperty("database.user", "postgres");
        p.setProperty("database.password", "");
        p.setProperty("database.dbname", args[2]);
        p.setProperty("topic.prefix", "bench");
        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", args[3]);
        p.setProperty("publication.name", args[4]);
        // The slot and publication exist already (created before the load, like every consumer's).
        p.setProperty("publication.autocreate.mode", "disabled");
        p.setProperty("snapshot.mode", "no_data");
        if (args.length > 7) {
            p.setProperty("poll.interval.ms", args[7]);
        }
        boolean live = protocol.live();
        DebeziumEngine<ChangeEvent<SourceRecord, SourceRecord>> engine = DebeziumEngine.create(Connect.class)
                .using(p)
                .notifying(record -> {
                    SourceRecord r = record.value();
                    if (r == null || !(r.value() instanceof Struct value) || value.schema().field("source") == null) {
                        return;
                    }
                    protocol.event(live ? commitMicros(value.getStruct("source")) : 0);
                })
                .using((success, message, error) -> {
                    if (!success) {
                        protocol.fail(error != null ? error : new IllegalStateException(message));
                        System.exit(1);
                    }
                })
                .build();
        ExecutorService executor = Executors.newSingleThreadExecutor();
        executor.execute(engine);
        ChildProtocol.idleForever();
    }

    private static long commitMicros(Struct source) {
        Field us = source.schema().field("ts_us");
        if (us != null && source.get(us) != null) {
            return source.getInt64("ts_us");
        }
        return source.getInt64("ts_ms") * 1_000L;
    }
}
