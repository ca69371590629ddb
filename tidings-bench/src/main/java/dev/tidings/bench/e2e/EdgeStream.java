package dev.tidings.bench.e2e;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The JetStream stream of an edge load, on the NATS server at 127.0.0.1:4222: created empty,
 * deleted on {@link #close()}; the leader's settings with a NATS sink publishing into it.
 */
final class EdgeStream implements AutoCloseable {
    private static final String NATS = "nats://127.0.0.1:4222";
    private final String name;
    private final Connection connection;

    EdgeStream(String name) throws Exception {
        this.name = name;
        this.connection = Nats.connect(NATS);
        JetStreamManagement jsm = connection.jetStreamManagement();
        try {
            jsm.deleteStream(name);
        } catch (Exception absent) {
            // a fresh name
        }
        jsm.addStream(StreamConfiguration.builder().name(name).subjects(name + ".>").storageType(StorageType.File).build());
    }

    /** Writes the leader's YAML: one NATS sink into this stream. */
    Path leaderConfig(Path file) throws java.io.IOException {
        Files.writeString(file, "sinks:\n  - {name: edges, type: nats, url: \"" + NATS + "\", subject: \"" + name
                + ".${schema}.${table}\"}\n");
        return file;
    }

    /** The edge's {@code --from}. */
    String url() {
        return NATS + "/" + name;
    }

    @Override
    public void close() {
        try {
            connection.jetStreamManagement().deleteStream(name);
            connection.close();
        } catch (Exception e) {
            System.err.println("bench: could not delete the JetStream stream " + name + ": " + e);
        }
    }
}
