package dev.tidings.event;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;

import java.io.IOException;
import java.util.List;

/**
 * The change payload of Supabase Realtime: the {@code payload} of a legacy {@code INSERT} /
 * {@code UPDATE} / {@code DELETE} push and the {@code data} of a {@code postgres_changes} push.
 * Shape and member order are Supabase Realtime's (it encodes small Elixir maps, whose keys
 * come out sorted); docs/realtime-protocol.md shows them in their frames:
 *
 * <pre>{@code
 * {"columns":[{"name":"id","type":"int8"},{"name":"title","type":"text"}],
 *  "commit_timestamp":"2024-05-01T12:00:00.123Z","errors":null,
 *  "old_record":{"id":5},"record":{"id":5,"title":"buy milk"},
 *  "schema":"public","table":"todos","type":"UPDATE"}
 * }</pre>
 *
 * <ul>
 *   <li>{@code record} only for INSERT and UPDATE; {@code old_record} only for UPDATE and DELETE
 *       (the member is missing otherwise, as Realtime sends it; realtime-js turns a missing one
 *       into {@code {}}).
 *   <li>{@code old_record} holds what Postgres sent as the old row: the whole row under
 *       {@code REPLICA IDENTITY FULL}, the key on delete. An update that kept its key under the
 *       default identity carries no old row in pgoutput; Realtime still shows the key there, so
 *       it is taken from the new row ({@code {}} when the table has no key).
 *   <li>{@code commit_timestamp}: UTC with exactly three fraction digits, truncated, as Realtime's
 *       {@code to_char(…, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')}.
 *   <li>{@code columns[].type}: the bare {@code pg_type.typname} Realtime reports ({@code int8},
 *       {@code _text}, {@code mood}): a schema qualifier in {@link Column#type()} is dropped.
 *   <li>Values are the {@code to_jsonb()} JSON, which is what Realtime sends too. Columns not
 *       sent (unchanged TOAST) are left out, as Realtime does.
 * </ul>
 * Realtime sends no truncates and no logical messages, so neither does this format:
 * {@link #supports} is false for them and callers skip those events.
 */
public final class SupabaseFormat implements EventFormat {
    static final SupabaseFormat DEFAULT = new SupabaseFormat(null);

    private static final SerializableString COLUMNS = new SerializedString("columns");
    private static final SerializableString NAME = new SerializedString("name");
    private static final SerializableString TYPE = new SerializedString("type");
    private static final SerializableString COMMIT_TIMESTAMP = new SerializedString("commit_timestamp");
    private static final SerializableString ERRORS = new SerializedString("errors");
    private static final SerializableString OLD_RECORD = new SerializedString("old_record");
    private static final SerializableString RECORD = new SerializedString("record");
    private static final SerializableString SCHEMA = new SerializedString("schema");
    private static final SerializableString TABLE = new SerializedString("table");
    private static final SerializableString INSERT = new SerializedString("INSERT");
    private static final SerializableString UPDATE = new SerializedString("UPDATE");
    private static final SerializableString DELETE = new SerializedString("DELETE");

    /** What {@code errors} holds: null, or the entries of Realtime's RLS checks ({@code "Error 401: Unauthorized"}). */
    private final List<String> errors;

    private SupabaseFormat(List<String> errors) {
        this.errors = errors == null ? null : List.copyOf(errors);
    }

    /** This payload with {@code errors} listing {@code errors} rather than null. */
    public static SupabaseFormat withErrors(List<String> errors) {
        return new SupabaseFormat(errors);
    }

    @Override
    public String name() {
        return "supabase";
    }

    @Override
    public boolean supports(Op op) {
        return op == Op.INSERT || op == Op.UPDATE || op == Op.DELETE;
    }

    /** {@code "INSERT"}, {@code "UPDATE"} or {@code "DELETE"}: the Realtime event name of a supported op. */
    public static String eventType(Op op) {
        return switch (op) {
            case INSERT -> "INSERT";
            case UPDATE -> "UPDATE";
            case DELETE -> "DELETE";
            case TRUNCATE, MESSAGE, READ -> throw unsupported(op);
        };
    }

    @Override
    public void write(ChangeEvent event, JsonGenerator out) throws IOException {
        Op op = event.op();
        if (!supports(op)) {
            throw unsupported(op);
        }
        out.writeStartObject();
        out.writeFieldName(COLUMNS);
        out.writeStartArray();
        List<Column> columns = event.columns();
        for (int i = 0; i < columns.size(); i++) {
            Column c = columns.get(i);
            out.writeStartObject();
            out.writeFieldName(NAME);
            out.writeString(c.name());
            out.writeFieldName(TYPE);
            out.writeString(typname(c.type()));
            out.writeEndObject();
        }
        out.writeEndArray();
        out.writeFieldName(COMMIT_TIMESTAMP);
        UtcTimestamp.writeMillis(event.tx().commitTime(), out);
        out.writeFieldName(ERRORS);
        if (errors == null) {
            out.writeNull();
        } else {
            out.writeStartArray();
            for (String e : errors) {
                out.writeString(e);
            }
            out.writeEndArray();
        }
        if (op != Op.INSERT) {
            out.writeFieldName(OLD_RECORD);
            if (event.oldRecord() != null) {
                RowJson.writeRow(event.oldRecord(), out);
            } else if (event.record() != null) {
                RowJson.writeKeyObject(event.record(), out);
            } else {
                out.writeStartObject();
                out.writeEndObject();
            }
        }
        if (op != Op.DELETE) {
            out.writeFieldName(RECORD);
            RowJson.writeRow(event.record(), out);
        }
        out.writeFieldName(SCHEMA);
        out.writeString(event.schema());
        out.writeFieldName(TABLE);
        out.writeString(event.table());
        out.writeFieldName(TYPE);
        out.writeString(op == Op.INSERT ? INSERT : op == Op.UPDATE ? UPDATE : DELETE);
        out.writeEndObject();
    }

    /**
     * {@code myschema.mood} → {@code mood}. Column types are display names, schema-qualified
     * outside pg_catalog and public; the last dot is taken as the separator.
     */
    static String typname(String type) {
        int dot = type.lastIndexOf('.');
        return dot < 0 ? type : type.substring(dot + 1);
    }

    private static IllegalArgumentException unsupported(Op op) {
        return new IllegalArgumentException("the supabase format has no " + op.json()
                + " events (Supabase Realtime sends only INSERT, UPDATE and DELETE); check supports(op) before write");
    }
}
