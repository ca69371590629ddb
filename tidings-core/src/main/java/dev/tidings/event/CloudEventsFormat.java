package dev.tidings.event;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Objects;

/**
 * A CloudEvents 1.0 event in structured content mode, JSON event format: the context
 * attributes and the Tidings event as {@code data}.
 *
 * <pre>{@code
 * {"specversion":"1.0","id":"0/1A2B3C4:2","source":"/tidings","type":"dev.tidings.row.inserted",
 *  "subject":"public.todos","time":"2026-11-27T10:00:00.123456Z","datacontenttype":"application/json",
 *  "data":{ …the tidings format… }}
 * }</pre>
 *
 * <ul>
 *   <li>{@code id}: the event id, commit LSN and index. The spec asks {@code source + id} to be
 *       unique per distinct event and equal on redelivery; the event id is exactly that within
 *       one database, so {@code source} must name the database (or the Tidings instance that
 *       reads it), never anything coarser shared by two databases.
 *   <li>{@code source}: a URI-reference given to the constructor; default {@code /tidings}. A
 *       deployment reading several databases gives each its own, e.g. {@code /tidings/orders-db}.
 *       The table is not part of it: routing by table is what {@code subject} is for, and
 *       identifiers with odd characters would otherwise need percent-encoding.
 *   <li>{@code type}: {@code dev.tidings.row.inserted}, {@code dev.tidings.row.updated},
 *       {@code dev.tidings.row.deleted}, {@code dev.tidings.row.read} (a row read by a backfill),
 *       {@code dev.tidings.table.truncated},
 *       {@code dev.tidings.message} (reverse-DNS prefix, as the spec recommends).
 *   <li>{@code subject}: {@code <schema>.<table>} as they are named (unquoted; a name that
 *       itself contains a dot is ambiguous here, and unambiguous in {@code data}); for a message,
 *       its prefix.
 *   <li>{@code time}: the commit time, RFC 3339 UTC with six fraction digits.
 * </ul>
 * The optional {@code dataschema} attribute and extension attributes are not written.
 */
public final class CloudEventsFormat implements EventFormat {
    static final CloudEventsFormat DEFAULT = new CloudEventsFormat("/tidings");

    private static final SerializableString SPECVERSION = new SerializedString("specversion");
    private static final SerializableString V1_0 = new SerializedString("1.0");
    private static final SerializableString ID = new SerializedString("id");
    private static final SerializableString SOURCE = new SerializedString("source");
    private static final SerializableString TYPE = new SerializedString("type");
    private static final SerializableString SUBJECT = new SerializedString("subject");
    private static final SerializableString TIME = new SerializedString("time");
    private static final SerializableString DATACONTENTTYPE = new SerializedString("datacontenttype");
    private static final SerializableString APPLICATION_JSON = new SerializedString("application/json");
    private static final SerializableString DATA = new SerializedString("data");

    private static final SerializableString INSERTED = new SerializedString("dev.tidings.row.inserted");
    private static final SerializableString UPDATED = new SerializedString("dev.tidings.row.updated");
    private static final SerializableString DELETED = new SerializedString("dev.tidings.row.deleted");
    private static final SerializableString TRUNCATED = new SerializedString("dev.tidings.table.truncated");
    private static final SerializableString MESSAGE = new SerializedString("dev.tidings.message");
    private static final SerializableString READ = new SerializedString("dev.tidings.row.read");

    private final String source;
    private final SerializableString sourceValue;

    /**
     * @param source the CloudEvents {@code source}: a non-empty URI-reference naming the database,
     *               e.g. {@code /tidings/orders-db} or {@code postgres://db.internal/orders}
     * @throws IllegalArgumentException when {@code source} is empty or not a URI-reference
     */
    public CloudEventsFormat(String source) {
        Objects.requireNonNull(source, "source");
        if (source.isEmpty()) {
            throw new IllegalArgumentException("CloudEvents source must not be empty; use a URI-reference such as /tidings/<database>");
        }
        try {
            new URI(source);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("CloudEvents source '" + source + "' is not a URI-reference ("
                    + e.getReason() + "); percent-encode it or use a path such as /tidings/<database>");
        }
        this.source = source;
        this.sourceValue = new SerializedString(source);
    }

    @Override
    public String name() {
        return "cloudevents";
    }

    public String source() {
        return source;
    }

    @Override
    public void write(ChangeEvent event, JsonGenerator out) throws IOException {
        out.writeStartObject();
        out.writeFieldName(SPECVERSION);
        out.writeString(V1_0);
        out.writeFieldName(ID);
        out.writeString(event.id());
        out.writeFieldName(SOURCE);
        out.writeString(sourceValue);
        out.writeFieldName(TYPE);
        out.writeString(switch (event.op()) {
            case INSERT -> INSERTED;
            case UPDATE -> UPDATED;
            case DELETE -> DELETED;
            case TRUNCATE -> TRUNCATED;
            case MESSAGE -> MESSAGE;
            case READ -> READ;
        });
        out.writeFieldName(SUBJECT);
        out.writeString(event.op() == Op.MESSAGE ? event.table() : event.schema() + "." + event.table());
        out.writeFieldName(TIME);
        UtcTimestamp.writeMicros(event.tx().commitTime(), out);
        out.writeFieldName(DATACONTENTTYPE);
        out.writeString(APPLICATION_JSON);
        out.writeFieldName(DATA);
        TidingsFormat.DEFAULT.write(event, out);
        out.writeEndObject();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CloudEventsFormat other && source.equals(other.source);
    }

    @Override
    public int hashCode() {
        return source.hashCode();
    }

    @Override
    public String toString() {
        return "cloudevents(source=" + source + ")";
    }
}
