package dev.tidings.server.sinks;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.sink.DeadLetters;
import dev.tidings.sink.SinkMessage;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The dead-letter file of a sink: one JSON line per event given up on, fsynced before the event
 * is acknowledged, in the order given up:
 * {@code {"sink":"orders-hook","id":"0/16B3748:0","failed_at":"…","error":"POST … answered 500","event":{…}}}.
 * {@code tidings replay-dead-letters} sends the events again and removes the lines it delivered.
 */
public final class DeadLetterFile implements DeadLetters {
    private static final JsonFactory JSON = new JsonFactory();
    private final Path path;

    public DeadLetterFile(Path path) {
        this.path = path.toAbsolutePath();
    }

    public Path path() {
        return path;
    }

    @Override
    public synchronized void write(String sink, List<SinkMessage> batch, Exception cause) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (SinkMessage m : batch) {
            try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
                g.writeStartObject();
                g.writeStringField("sink", sink);
                g.writeStringField("id", m.id());
                g.writeStringField("failed_at", Instant.now().toString());
                g.writeStringField("error", String.valueOf(cause.getMessage()));
                g.writeFieldName("event");
                g.writeRawValue(new String(m.body(), StandardCharsets.UTF_8));
                g.writeEndObject();
            }
            out.write('\n');
        }
        Files.createDirectories(path.getParent());
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap(out.toByteArray());
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(false);
        }
    }

    /** One dead letter as read back. */
    public record Letter(String id, String sink, byte[] event, String line) {}

    /** The letters in the file, oldest first; a torn last line (a crash while writing) is skipped. */
    public synchronized List<Letter> read() throws IOException {
        List<Letter> letters = new ArrayList<>();
        if (!Files.exists(path)) {
            return letters;
        }
        ObjectMapper mapper = new ObjectMapper();
        String text = Files.readString(path);
        int end = text.lastIndexOf('\n');
        if (end < 0) {
            return letters;
        }
        for (String line : text.substring(0, end).split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = mapper.readTree(line);
            // the event's own bytes, not a re-serialization (which could change how numbers are written);
            // "event" is the last field, and ,"event": cannot occur unescaped inside a string before it
            int at = line.indexOf(",\"event\":");
            byte[] event = line.substring(at + 9, line.length() - 1).getBytes(StandardCharsets.UTF_8);
            letters.add(new Letter(n.path("id").asText(), n.path("sink").asText(), event, line));
        }
        return letters;
    }

    /** Replaces the file's content with {@code remaining} (atomically); deletes it when none remain. */
    public synchronized void keepOnly(List<Letter> remaining) throws IOException {
        if (remaining.isEmpty()) {
            Files.deleteIfExists(path);
            return;
        }
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        StringBuilder b = new StringBuilder();
        for (Letter l : remaining) {
            b.append(l.line()).append('\n');
        }
        Files.writeString(tmp, b.toString());
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
