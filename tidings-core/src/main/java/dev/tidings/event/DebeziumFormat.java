package dev.tidings.event;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;
import dev.tidings.base.Version;

import java.io.IOException;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;
import java.util.Objects;

/**
 * The value of a Debezium PostgreSQL connector change event as Kafka Connect's
 * {@code JsonConverter} writes it with {@code schemas.enable=false}, so that consumers written for
 * Debezium can switch to Tidings:
 *
 * <pre>{@code
 * {"before":null,"after":{"id":5,"title":"buy milk"},
 *  "source":{"version":"…","connector":"postgresql","name":"tidings","ts_ms":1795773600123,
 *            "snapshot":"false","db":"app","sequence":"[\"27440068\",\"27440000\"]",
 *            "ts_us":1795773600123456,"ts_ns":1795773600123456000,"schema":"public","table":"todos",
 *            "txId":742,"lsn":27440000,"xmin":null},
 *  "op":"c","ts_ms":1795773600200,"ts_us":…,"ts_ns":…,"transaction":null}
 * }</pre>
 *
 * <ul>
 *   <li>{@code op}: {@code c}, {@code u}, {@code d}, {@code r} for a row read by a backfill
 *       (Debezium's snapshot read), or {@code t} for a truncate (one event per table,
 *       {@code before} and {@code after} null). A logical decoding message has Debezium's
 *       message shape instead: {@code {"op":"m","ts_ms":…,"ts_us":…,"ts_ns":…,"source":{…},
 *       "message":{"prefix":"…","content":"<base64>"}}} with empty {@code source.schema} and
 *       {@code source.table}, and {@code source.txId} null for a non-transactional message.
 *   <li>{@code before}: the old row exactly as Postgres sent it, as in the {@code old_record} of
 *       the Tidings format: null for an update that kept its key under the default replica
 *       identity, the key columns for deletes, the whole row under {@code REPLICA IDENTITY FULL}.
 *   <li>{@code source.ts_ms/ts_us/ts_ns}: the commit time. The top-level {@code ts_ms/ts_us/ts_ns}:
 *       when the event was serialized, as Debezium's "when the connector processed the event".
 *   <li>{@code source.lsn}: the change's own LSN as a number. {@code source.sequence}: the JSON
 *       text {@code ["<commit LSN>","<change LSN>"]}, decimal strings. Debezium puts the commit LSN of
 *       the <em>previous</em> transaction first, which Tidings does not track; the pair
 *       orders events in commit order all the same.
 *   <li>{@code source.name}: Debezium's {@code topic.prefix} (server name), default {@code tidings}.
 *       {@code source.db}: the database name, given to the constructor; an event does not
 *       carry it, so the default is the empty string. {@code source.version} is the Tidings
 *       version ({@link Version}), not a Debezium one.
 *       {@code snapshot} is {@code "true"} for a row read by a backfill ({@code "last"} for the
 *       backfill's last row of a table), {@code "false"} for every change; {@code xmin} always null, {@code transaction}
 *       always null (no transaction metadata topic).
 * </ul>
 *
 * <p><b>Known differences from Debezium.</b> Column values are the JSON that {@code to_jsonb()}
 * gives, the same as in every Tidings format, and not Debezium's Connect encodings: timestamps
 * are ISO strings (not epoch micros), {@code numeric} is a JSON number with every digit (not
 * base64 bytes or a double), {@code bytea} is {@code "\\x…"} hex, arrays and composites are
 * JSON arrays and objects. Columns whose TOASTed value was not sent are left out, where Debezium
 * writes its {@code __debezium_unavailable_value} placeholder; columns Postgres did not send in an
 * old key are left out of {@code before}, where Debezium writes null. Tombstones (the null value
 * after a delete, for Kafka log compaction) are the Kafka sink's business, not this format's.
 */
public final class DebeziumFormat implements EventFormat {
    static final DebeziumFormat DEFAULT = new DebeziumFormat();

    private static final String VERSION = Version.CURRENT;

    private static final SerializableString BEFORE = new SerializedString("before");
    private static final SerializableString AFTER = new SerializedString("after");
    private static final SerializableString SOURCE = new SerializedString("source");
    private static final SerializableString OP = new SerializedString("op");
    private static final SerializableString TS_MS = new SerializedString("ts_ms");
    private static final SerializableString TS_US = new SerializedString("ts_us");
    private static final SerializableString TS_NS = new SerializedString("ts_ns");
    private static final SerializableString TRANSACTION = new SerializedString("transaction");
    private static final SerializableString MESSAGE = new SerializedString("message");
    private static final SerializableString PREFIX = new SerializedString("prefix");
    private static final SerializableString CONTENT = new SerializedString("content");
    private static final SerializableString VERSION_FIELD = new SerializedString("version");
    private static final SerializableString CONNECTOR = new SerializedString("connector");
    private static final SerializableString POSTGRESQL = new SerializedString("postgresql");
    private static final SerializableString NAME = new SerializedString("name");
    private static final SerializableString SNAPSHOT = new SerializedString("snapshot");
    private static final SerializableString TRUE = new SerializedString("true");
    private static final SerializableString LAST = new SerializedString("last");
    private static final SerializableString FALSE = new SerializedString("false");
    private static final SerializableString DB = new SerializedString("db");
    private static final SerializableString SEQUENCE = new SerializedString("sequence");
    private static final SerializableString SCHEMA = new SerializedString("schema");
    private static final SerializableString TABLE = new SerializedString("table");
    private static final SerializableString TX_ID = new SerializedString("txId");
    private static final SerializableString LSN = new SerializedString("lsn");
    private static final SerializableString XMIN = new SerializedString("xmin");

    private final String serverName;
    private final String database;
    private final InstantSource clock;
    private final SerializableString serverNameValue;
    private final SerializableString databaseValue;

    /** Server name {@code tidings}, database name unknown (empty). */
    public DebeziumFormat() {
        this("tidings", "");
    }

    /**
     * @param serverName what Debezium calls {@code topic.prefix}: {@code source.name}
     * @param database   the database the events come from: {@code source.db}
     */
    public DebeziumFormat(String serverName, String database) {
        this(serverName, database, InstantSource.system());
    }

    DebeziumFormat(String serverName, String database, InstantSource clock) {
        this.serverName = Objects.requireNonNull(serverName, "serverName");
        this.database = Objects.requireNonNull(database, "database");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.serverNameValue = new SerializedString(serverName);
        this.databaseValue = new SerializedString(database);
    }

    @Override
    public String name() {
        return "debezium";
    }

    public String serverName() {
        return serverName;
    }

    public String database() {
        return database;
    }

    @Override
    public void write(ChangeEvent event, JsonGenerator out) throws IOException {
        Instant now = clock.instant();
        out.writeStartObject();
        if (event.op() == Op.MESSAGE) {
            writeOp(event.op(), out);
            writeTimestamps(now, out);
            writeSource(event, out);
            LogicalMessage message = event.message();
            out.writeFieldName(MESSAGE);
            out.writeStartObject();
            out.writeFieldName(PREFIX);
            out.writeString(message.prefix());
            out.writeFieldName(CONTENT);
            out.writeString(Base64.getEncoder().encodeToString(message.content()));
            out.writeEndObject();
        } else {
            out.writeFieldName(BEFORE);
            RowJson.writeRow(event.oldRecord(), out);
            out.writeFieldName(AFTER);
            RowJson.writeRow(event.record(), out);
            writeSource(event, out);
            writeOp(event.op(), out);
            writeTimestamps(now, out);
            out.writeFieldName(TRANSACTION);
            out.writeNull();
        }
        out.writeEndObject();
    }

    private static void writeOp(Op op, JsonGenerator out) throws IOException {
        out.writeFieldName(OP);
        out.writeString(switch (op) {
            case INSERT -> "c";
            case UPDATE -> "u";
            case DELETE -> "d";
            case TRUNCATE -> "t";
            case MESSAGE -> "m";
            case READ -> "r";
        });
    }

    private void writeSource(ChangeEvent event, JsonGenerator out) throws IOException {
        Transaction tx = event.tx();
        boolean message = event.op() == Op.MESSAGE;
        out.writeFieldName(SOURCE);
        out.writeStartObject();
        out.writeFieldName(VERSION_FIELD);
        out.writeString(VERSION);
        out.writeFieldName(CONNECTOR);
        out.writeString(POSTGRESQL);
        out.writeFieldName(NAME);
        out.writeString(serverNameValue);
        out.writeFieldName(TS_MS);
        out.writeNumber(tx.commitTime().toEpochMilli());
        out.writeFieldName(SNAPSHOT);
        SnapshotRead snapshot = event.snapshot();
        out.writeString(snapshot == null ? FALSE : snapshot.last() ? LAST : TRUE);
        out.writeFieldName(DB);
        out.writeString(databaseValue);
        out.writeFieldName(SEQUENCE);
        out.writeString("[\"" + Long.toUnsignedString(tx.commitLsn().value()) + "\",\""
                + Long.toUnsignedString(event.lsn().value()) + "\"]");
        out.writeFieldName(TS_US);
        out.writeNumber(micros(tx.commitTime()));
        out.writeFieldName(TS_NS);
        out.writeNumber(nanos(tx.commitTime()));
        out.writeFieldName(SCHEMA);
        out.writeString(message ? "" : event.schema());
        out.writeFieldName(TABLE);
        out.writeString(message ? "" : event.table());
        out.writeFieldName(TX_ID);
        if (tx.xid() == 0) {
            out.writeNull();
        } else {
            out.writeNumber(tx.xid());
        }
        out.writeFieldName(LSN);
        out.writeNumber(event.lsn().value());
        out.writeFieldName(XMIN);
        out.writeNull();
        out.writeEndObject();
    }

    private static void writeTimestamps(Instant t, JsonGenerator out) throws IOException {
        out.writeFieldName(TS_MS);
        out.writeNumber(t.toEpochMilli());
        out.writeFieldName(TS_US);
        out.writeNumber(micros(t));
        out.writeFieldName(TS_NS);
        out.writeNumber(nanos(t));
    }

    private static long micros(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
    }

    private static long nanos(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DebeziumFormat other && serverName.equals(other.serverName)
                && database.equals(other.database) && clock.equals(other.clock);
    }

    @Override
    public int hashCode() {
        return Objects.hash(serverName, database);
    }

    @Override
    public String toString() {
        return "debezium(name=" + serverName + ", db=" + database + ")";
    }
}
