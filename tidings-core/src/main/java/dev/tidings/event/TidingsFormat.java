package dev.tidings.event;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;
import dev.tidings.base.Lsn;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * The default event JSON, as docs/events.md documents it field by field:
 *
 * <pre>{@code
 * {"id":"0/1A2B3C4:2","op":"insert","schema":"public","table":"todos",
 *  "key":{"id":5},"record":{"id":5,"title":"buy milk"},"old_record":null,
 *  "columns":[{"name":"id","type":"int8","key":true},{"name":"title","type":"text","key":false}],
 *  "unchanged_toast":[],
 *  "tx":{"xid":742,"commit_lsn":"0/1A2B3C4","commit_time":"2026-11-27T10:00:00.123456Z","index":2,"origin":null},
 *  "lsn":"0/1A2B380"}
 * }</pre>
 *
 * <ul>
 *   <li>{@code key}, {@code record}, {@code old_record}: objects over the columns that are present
 *       (see {@link RowJson}), or null. {@code key} is taken from {@code record}, or from
 *       {@code old_record} for deletes; null when the table has no key columns, and for
 *       truncates and messages.
 *   <li>{@code tx.commit_time}: UTC, always exactly six fraction digits (PostgreSQL's own
 *       precision), so the string has a fixed width and sorts like the time it names.
 *   <li>{@code tx.xid}: 0 for a non-transactional message, whose {@code commit_lsn} is its own LSN
 *       and whose {@code id} is {@code <LSN>:m}.
 *   <li>{@code tx.origin}: the replication origin the transaction was replayed from, or null.
 *   <li>For {@code op = "truncate"} one more member, {@code "truncate":{"cascade":…,"restart_identity":…}}.
 *   <li>For {@code op = "message"} (from {@code pg_logical_emit_message}) one more member,
 *       {@code "message":{"transactional":true,"prefix":"…","content":"…","content_base64":"…"}}.
 *       {@code content_base64} is always there and always exact: the bytes as sent. {@code content}
 *       is the same bytes as text when they are valid UTF-8, and null when they are not. Readers
 *       of text messages (the common case: JSON sent by the application) use {@code content};
 *       readers of binary messages use {@code content_base64}; nobody has to guess which
 *       encoding a single field is in. {@code schema} is empty and {@code table} is the prefix,
 *       as in {@link ChangeEvent}.
 *   <li>For {@code op = "read"} (a row read by a backfill, see {@link SnapshotRead}) one more member,
 *       {@code "snapshot":{"backfill":"…","chunk":3,"last":false}}.
 * </ul>
 */
public final class TidingsFormat implements EventFormat {
    static final TidingsFormat DEFAULT = new TidingsFormat();
    private static final JsonFactory COLUMNS_JSON = new JsonFactory();

    private static final SerializableString ID = new SerializedString("id");
    private static final SerializableString OP = new SerializedString("op");
    private static final SerializableString SCHEMA = new SerializedString("schema");
    private static final SerializableString TABLE = new SerializedString("table");
    private static final SerializableString KEY = new SerializedString("key");
    private static final SerializableString RECORD = new SerializedString("record");
    private static final SerializableString OLD_RECORD = new SerializedString("old_record");
    private static final SerializableString COLUMNS = new SerializedString("columns");
    private static final SerializableString NAME = new SerializedString("name");
    private static final SerializableString TYPE = new SerializedString("type");
    private static final SerializableString UNCHANGED_TOAST = new SerializedString("unchanged_toast");
    private static final SerializableString TX = new SerializedString("tx");
    private static final SerializableString XID = new SerializedString("xid");
    private static final SerializableString COMMIT_LSN = new SerializedString("commit_lsn");
    private static final SerializableString COMMIT_TIME = new SerializedString("commit_time");
    private static final SerializableString INDEX = new SerializedString("index");
    private static final SerializableString LSN = new SerializedString("lsn");
    private static final SerializableString MESSAGE = new SerializedString("message");
    private static final SerializableString TRANSACTIONAL = new SerializedString("transactional");
    private static final SerializableString PREFIX = new SerializedString("prefix");
    private static final SerializableString CONTENT = new SerializedString("content");
    private static final SerializableString CONTENT_BASE64 = new SerializedString("content_base64");
    private static final SerializableString SNAPSHOT = new SerializedString("snapshot");
    private static final SerializableString BACKFILL = new SerializedString("backfill");
    private static final SerializableString CHUNK = new SerializedString("chunk");
    private static final SerializableString LAST = new SerializedString("last");
    private static final SerializableString ORIGIN = new SerializedString("origin");
    private static final SerializableString TRUNCATE = new SerializedString("truncate");
    private static final SerializableString CASCADE = new SerializedString("cascade");
    private static final SerializableString RESTART_IDENTITY = new SerializedString("restart_identity");

    private static final SerializableString[] OPS = new SerializableString[Op.values().length];

    static {
        for (Op op : Op.values()) {
            OPS[op.ordinal()] = new SerializedString(op.json());
        }
    }

    private volatile ColumnsJson lastColumns;
    private volatile TxText lastTx;
    private volatile TableText lastTable;
    private volatile LsnText lastLsn;

    @Override
    public String name() {
        return "tidings";
    }

    @Override
    public void write(ChangeEvent event, JsonGenerator out) throws IOException {
        Transaction tx = event.tx();
        out.writeStartObject();
        TxText txText = txText(tx);
        out.writeFieldName(ID);
        out.writeString(event.standaloneMessage() ? event.id() : txText.idPrefix() + event.index());
        out.writeFieldName(OP);
        out.writeString(OPS[event.op().ordinal()]);
        TableText table = tableText(event);
        out.writeFieldName(SCHEMA);
        out.writeString(table.schema());
        out.writeFieldName(TABLE);
        out.writeString(table.table());

        out.writeFieldName(KEY);
        RowJson.writeKey(event.record() != null ? event.record() : event.oldRecord(), out);
        out.writeFieldName(RECORD);
        RowJson.writeRow(event.record(), out);
        out.writeFieldName(OLD_RECORD);
        RowJson.writeRow(event.oldRecord(), out);

        out.writeFieldName(COLUMNS);
        out.writeRawValue(columnsJson(event.columns()));

        out.writeFieldName(UNCHANGED_TOAST);
        out.writeStartArray();
        List<String> toast = event.unchangedToast();
        if (toast != null) {
            for (int i = 0; i < toast.size(); i++) {
                out.writeString(toast.get(i));
            }
        }
        out.writeEndArray();

        out.writeFieldName(TX);
        out.writeStartObject();
        out.writeFieldName(XID);
        out.writeNumber(tx.xid());
        out.writeFieldName(COMMIT_LSN);
        out.writeString(txText.commitLsn());
        out.writeFieldName(COMMIT_TIME);
        out.writeString(txText.commitTime());
        out.writeFieldName(INDEX);
        out.writeNumber(event.index());
        out.writeFieldName(ORIGIN);
        if (tx.origin() == null) {
            out.writeNull();
        } else {
            out.writeString(tx.origin());
        }
        out.writeEndObject();

        out.writeFieldName(LSN);
        out.writeString(lsnText(event.lsn()));

        TruncateOptions truncate = event.truncate();
        if (event.op() == Op.TRUNCATE && truncate != null) {
            out.writeFieldName(TRUNCATE);
            out.writeStartObject();
            out.writeFieldName(CASCADE);
            out.writeBoolean(truncate.cascade());
            out.writeFieldName(RESTART_IDENTITY);
            out.writeBoolean(truncate.restartIdentity());
            out.writeEndObject();
        }

        LogicalMessage message = event.message();
        if (event.op() == Op.MESSAGE && message != null) {
            out.writeFieldName(MESSAGE);
            out.writeStartObject();
            out.writeFieldName(TRANSACTIONAL);
            out.writeBoolean(message.transactional());
            out.writeFieldName(PREFIX);
            out.writeString(message.prefix());
            out.writeFieldName(CONTENT);
            String text = utf8OrNull(message.content());
            if (text == null) {
                out.writeNull();
            } else {
                out.writeString(text);
            }
            out.writeFieldName(CONTENT_BASE64);
            out.writeString(Base64.getEncoder().encodeToString(message.content()));
            out.writeEndObject();
        }
        SnapshotRead snapshot = event.snapshot();
        if (snapshot != null) {
            out.writeFieldName(SNAPSHOT);
            out.writeStartObject();
            out.writeFieldName(BACKFILL);
            out.writeString(snapshot.backfill());
            out.writeFieldName(CHUNK);
            out.writeNumber(snapshot.chunk());
            out.writeFieldName(LAST);
            out.writeBoolean(snapshot.last());
            out.writeEndObject();
        }
        out.writeEndObject();
    }

    /**
     * The {@code columns} array, written once per table rather than once per event: every event of
     * a table carries the same immutable column list (the decoder's relation cache), so the last
     * list seen is kept with its JSON, compared by identity. In the end-to-end benchmark this array
     * was a third of the generator calls per event. An immutable pair behind a volatile field keeps
     * the format thread-safe; several tables in turn only cost a rebuild.
     */
    private SerializableString columnsJson(List<Column> columns) throws IOException {
        if (columns instanceof ColumnList list) {
            SerializableString json = list.tidingsJson();
            if (json == null) {
                json = renderColumns(columns);
                list.tidingsJson(json);
            }
            return json;
        }
        ColumnsJson last = lastColumns;
        if (last != null && last.columns() == columns) {
            return last.json();
        }
        SerializableString json = renderColumns(columns);
        lastColumns = new ColumnsJson(columns, json);
        return json;
    }

    private static SerializableString renderColumns(List<Column> columns) throws IOException {
        StringWriter text = new StringWriter(64 * columns.size());
        try (JsonGenerator g = COLUMNS_JSON.createGenerator(text)) {
            g.writeStartArray();
            for (int i = 0; i < columns.size(); i++) {
                Column c = columns.get(i);
                g.writeStartObject();
                g.writeFieldName(NAME);
                g.writeString(c.name());
                g.writeFieldName(TYPE);
                g.writeString(c.type());
                g.writeFieldName(KEY);
                g.writeBoolean(c.key());
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        return new SerializedString(text.toString());
    }

    private record ColumnsJson(List<Column> columns, SerializableString json) {}

    /**
     * The text every event of a transaction repeats — its commit LSN, the id prefix, the commit
     * time — made once per transaction: the last transaction seen is kept, compared by identity
     * (one {@link Transaction} object is shared by all its events). Immutable, behind a volatile
     * field, like {@link #lastColumns}.
     */
    private TxText txText(Transaction tx) {
        TxText last = lastTx;
        if (last != null && last.tx() == tx) {
            return last;
        }
        String lsn = tx.commitLsn().toString();
        TxText text = new TxText(tx, lsn + ":", new SerializedString(lsn),
                new SerializedString(UtcTimestamp.micros(tx.commitTime())));
        lastTx = text;
        return text;
    }

    private record TxText(Transaction tx, String idPrefix, SerializableString commitLsn, SerializableString commitTime) {}

    /**
     * The schema and table names, encoded once for consecutive events of a table (the same String
     * objects: the decoder's relation, or the backfill's table), kept like {@link #lastTx}.
     */
    private TableText tableText(ChangeEvent event) {
        TableText last = lastTable;
        if (last != null && last.schemaName() == event.schema() && last.tableName() == event.table()) {
            return last;
        }
        TableText text = new TableText(event.schema(), event.table(), new SerializedString(event.schema()),
                new SerializedString(event.table()));
        lastTable = text;
        return text;
    }

    private record TableText(String schemaName, String tableName, SerializableString schema, SerializableString table) {}

    /** The event's LSN as text, made once for consecutive events at the same LSN (a backfill chunk's rows share one). */
    private SerializableString lsnText(Lsn lsn) {
        LsnText last = lastLsn;
        if (last != null && last.lsn().equals(lsn)) {
            return last.text();
        }
        LsnText text = new LsnText(lsn, new SerializedString(lsn.toString()));
        lastLsn = text;
        return text.text();
    }

    private record LsnText(Lsn lsn, SerializableString text) {}

    /** The bytes as text when they are well-formed UTF-8, else null. */
    private static String utf8OrNull(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
