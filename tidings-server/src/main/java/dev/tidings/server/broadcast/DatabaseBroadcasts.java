package dev.tidings.server.broadcast;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Op;
import dev.tidings.event.Row;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * Broadcast from the database: each row inserted into {@code realtime.messages} (by
 * {@code realtime.send(…)}, {@code realtime.broadcast_changes(…)} or a plain INSERT; see
 * {@code tidings install-realtime-sql}) reaches the members of its topic as a user broadcast with
 * metadata {@code {"id": <row id>}}, as Supabase's server sends it. The rows come through the
 * replication stream the server already reads, in commit order: nothing polls the table.
 *
 * <p>Rows for private topics ({@code private = true}, the default of {@code realtime.send}) go to
 * the private channel of the topic, to the members whose policies let them read broadcasts there
 * ({@link dev.tidings.server.auth.ChannelAuthorization}); the others to the public one. Rows with
 * {@code extension} other than {@code broadcast}, or without a topic or event, are skipped.
 * Runs on the replication stream's delivery thread and never blocks it (members only queue).
 */
public final class DatabaseBroadcasts {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String SCHEMA = "realtime";
    public static final String TABLE = "messages";

    private final BroadcastService service;

    public DatabaseBroadcasts(BroadcastService service) {
        this.service = service;
    }

    /** A change of {@code realtime.messages}. */
    public void onChange(ChangeEvent event) {
        if (event.op() != Op.INSERT || !SCHEMA.equals(event.schema()) || !TABLE.equals(event.table())) {
            return;
        }
        Row row = event.record();
        String extension = string(row.json("extension"));
        String topic = string(row.json("topic"));
        String name = string(row.json("event"));
        if (!"broadcast".equals(extension) || topic == null || name == null) {
            return;
        }
        String id = string(row.json("id"));
        String binary = string(row.json("binary_payload"));
        String payload = row.json("payload");
        boolean isBinary = binary != null;
        byte[] body = isBinary ? bytea(binary) : payload == null || payload.equals("null") ? null
                : payload.getBytes(StandardCharsets.UTF_8);
        if (body == null || service.tooLarge(body.length) || !service.admitServerEvent()) {
            return;
        }
        boolean isPrivate = !"false".equals(row.json("private"));
        BroadcastMessage message = id == null ? BroadcastMessage.user(topic, name, body, isBinary, null, null)
                : BroadcastMessage.stored(topic, name, body, isBinary, id, false);
        service.publish(message.toPrivate(isPrivate), BroadcastService.Source.DATABASE);
    }

    /** The text of a JSON string value, or null for SQL NULL, an absent column or a non-string. */
    private static String string(String json) {
        if (json == null || !json.startsWith("\"")) {
            return null;
        }
        try {
            return JSON.readValue(json, String.class);
        } catch (IOException e) {
            return null;
        }
    }

    /** A {@code bytea} as {@code to_jsonb} renders it: {@code \x} and hex digits. */
    private static byte[] bytea(String text) {
        return HexFormat.of().parseHex(text.startsWith("\\x") ? text.substring(2) : text);
    }
}
