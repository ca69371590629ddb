package dev.tidings.server.sinks;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Row;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The primary key of an event's row as a JSON object, e.g. {@code {"id":5}}: a message key that keeps per-row order. */
final class KeyJson {
    private static final JsonFactory JSON = new JsonFactory();

    private KeyJson() {}

    /** The key as UTF-8 JSON, or null when the table has no key (or the event is a message or truncate). */
    static byte[] of(ChangeEvent event) {
        Row key = event.key();
        if (key == null) {
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(32);
        try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            for (int i = 0; i < key.size(); i++) {
                g.writeFieldName(key.columns().get(i).name());
                g.writeRawValue(key.has(i) ? key.json(i) : "null");
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
