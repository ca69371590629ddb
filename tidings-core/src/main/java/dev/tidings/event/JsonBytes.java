package dev.tidings.event;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Serializes one event to a byte array the way {@code ObjectMapper.writeValueAsBytes} does: the
 * output and generator buffers are borrowed from Jackson's buffer-recycler pool (safe with
 * virtual threads, unlike a {@code ThreadLocal} buffer) and returned afterwards, so the only
 * allocation per event is the result array.
 */
final class JsonBytes {
    private static final JsonFactory FACTORY = JsonFactory.builder().build();

    private JsonBytes() {}

    static byte[] write(EventFormat format, ChangeEvent event) {
        BufferRecycler recycler = FACTORY._getBufferRecycler();
        try (ByteArrayBuilder bytes = new ByteArrayBuilder(recycler)) {
            try (JsonGenerator out = FACTORY.createGenerator(bytes, JsonEncoding.UTF8)) {
                format.write(event, out);
            }
            byte[] result = bytes.toByteArray();
            bytes.release();
            return result;
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail; Jackson said otherwise", e);
        } finally {
            recycler.releaseToPool();
        }
    }
}
