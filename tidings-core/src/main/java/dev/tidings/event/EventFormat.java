package dev.tidings.event;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;

/**
 * A way to write a {@link ChangeEvent} as JSON. Formats are stateless and thread-safe; each writes
 * one JSON object per event to a streaming {@link JsonGenerator}, with values copied as raw JSON
 * text (no reflection, no intermediate tree).
 */
public sealed interface EventFormat permits TidingsFormat {

    /** The name used in configuration and on the command line: tidings, debezium, cloudevents, supabase. */
    String name();

    void write(ChangeEvent event, JsonGenerator out) throws IOException;
}
