package dev.tidings.event;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.util.List;
import java.util.Locale;

/**
 * A way to write a {@link ChangeEvent} as JSON. Formats are stateless and thread-safe: one
 * instance serves every thread. Each writes one JSON object per event to a streaming
 * {@link JsonGenerator}, with row values copied as raw JSON text (no reflection, no maps, no
 * intermediate tree).
 *
 * <ul>
 *   <li>{@code tidings} ({@link TidingsFormat}, the default): the event of docs/events.md.
 *   <li>{@code debezium} ({@link DebeziumFormat}): the Debezium envelope, for existing Debezium consumers.
 *   <li>{@code cloudevents} ({@link CloudEventsFormat}): CloudEvents 1.0, structured JSON mode.
 *   <li>{@code supabase} ({@link SupabaseFormat}): the Supabase Realtime change payload.
 * </ul>
 */
public sealed interface EventFormat permits TidingsFormat, DebeziumFormat, CloudEventsFormat, SupabaseFormat {

    /** The name used in configuration and on the command line: tidings, debezium, cloudevents, supabase. */
    String name();

    /**
     * Whether this format has a shape for events of {@code op}. Callers skip events it has none
     * for (the Supabase payload knows no truncates or messages); {@link #write} rejects them.
     */
    default boolean supports(Op op) {
        return true;
    }

    /**
     * Writes {@code event} as one JSON object. Leaves flushing and closing {@code out} to the caller.
     *
     * @throws IllegalArgumentException when {@link #supports} is false for the event's op
     */
    void write(ChangeEvent event, JsonGenerator out) throws IOException;

    /** {@code event} as UTF-8 JSON bytes. Generator buffers come from Jackson's recycler pool. */
    default byte[] toBytes(ChangeEvent event) {
        return JsonBytes.write(this, event);
    }

    /** The format called {@code name} (any case), with default settings. */
    static EventFormat named(String name) {
        return switch (name == null ? "" : name.toLowerCase(Locale.ROOT)) {
            case "tidings" -> TidingsFormat.DEFAULT;
            case "debezium" -> DebeziumFormat.DEFAULT;
            case "cloudevents" -> CloudEventsFormat.DEFAULT;
            case "supabase" -> SupabaseFormat.DEFAULT;
            default -> throw new IllegalArgumentException(
                    "unknown event format '" + name + "'; use one of: tidings, debezium, cloudevents, supabase");
        };
    }

    /** Every format with default settings, the default ({@code tidings}) first. */
    static List<EventFormat> all() {
        return List.of(TidingsFormat.DEFAULT, DebeziumFormat.DEFAULT, CloudEventsFormat.DEFAULT, SupabaseFormat.DEFAULT);
    }
}
