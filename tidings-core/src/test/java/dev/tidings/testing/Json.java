package dev.tidings.testing;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import dev.tidings.event.Row;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** JSON helpers for tests: exact numbers (BigDecimal), so 1.50 and 1.5 differ. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);

    private Json() {}

    public static JsonNode parse(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + json, e);
        }
    }

    /** A row as a JSON object of its present columns. */
    public static JsonNode row(Row row) {
        if (row == null) {
            return null;
        }
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < row.size(); i++) {
            if (row.has(i)) {
                if (b.length() > 1) {
                    b.append(',');
                }
                b.append(quote(row.columns().get(i).name()))
                        .append(':').append(row.json(i));
            }
        }
        return parse(b.append('}').toString());
    }

    public static JsonNode event(ChangeEvent event, EventFormat format) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            format.write(event, g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return parse(out.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static String quote(String s) {
        try {
            return MAPPER.writeValueAsString(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
