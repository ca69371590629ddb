package dev.tidings.server.log;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.ColumnList;
import dev.tidings.event.LogicalMessage;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import dev.tidings.event.TruncateOptions;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link ChangeEvent} as the bytes of one log record, and back: every field a live consumer's
 * filters, policies and formats read, so a replayed event is the event that was streamed. A
 * record starts with the time it was appended (for retention by age) and a format version.
 *
 * <p>Values stay the JSON text the decoder made ({@code to_jsonb}), so nothing is converted twice.
 * Snapshot reads are not logged (they belong to one consumer's backfill), so {@code snapshot} is
 * not encoded. Thread-safe.
 */
final class EventCodec {
    private static final byte VERSION = 1;
    private static final Op[] OPS = Op.values();
    /** The columns of the last decoded record (see {@link #shared}); an immutable list behind a volatile. */
    private static volatile ColumnList lastColumns;

    private EventCodec() {}

    static byte[] encode(ChangeEvent e, long appendedMillis) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(appendedMillis);
            out.writeByte(VERSION);
            out.writeByte(e.op().ordinal());
            out.writeUTF(e.schema());
            out.writeUTF(e.table());
            out.writeInt(e.columns().size());
            for (Column c : e.columns()) {
                out.writeUTF(c.name());
                out.writeUTF(c.type());
                out.writeInt(c.typeOid());
                out.writeBoolean(c.key());
            }
            writeRow(e.record(), out);
            writeRow(e.oldRecord(), out);
            List<String> toast = e.unchangedToast() == null ? List.of() : e.unchangedToast();
            out.writeInt(toast.size());
            for (String t : toast) {
                out.writeUTF(t);
            }
            Transaction tx = e.tx();
            out.writeLong(tx.xid());
            out.writeLong(tx.commitLsn().value());
            out.writeLong(tx.commitTime() == null ? Long.MIN_VALUE : tx.commitTime().getEpochSecond());
            out.writeInt(tx.commitTime() == null ? 0 : tx.commitTime().getNano());
            writeNullable(tx.origin(), out);
            out.writeInt(e.index());
            out.writeLong(e.lsn() == null ? 0 : e.lsn().value());
            LogicalMessage m = e.message();
            out.writeBoolean(m != null);
            if (m != null) {
                out.writeBoolean(m.transactional());
                out.writeUTF(m.prefix());
                out.writeInt(m.content().length);
                out.write(m.content());
            }
            TruncateOptions t = e.truncate();
            out.writeByte(t == null ? 0 : 1 | (t.cascade() ? 2 : 0) | (t.restartIdentity() ? 4 : 0));
        } catch (IOException impossible) {
            throw new UncheckedIOException(impossible);
        }
        return bytes.toByteArray();
    }

    /** When the record was appended, without decoding the event. */
    static long appendedMillis(byte[] record) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = v << 8 | (record[i] & 0xff);
        }
        return v;
    }

    static ChangeEvent decode(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            in.readLong();
            byte version = in.readByte();
            if (version != VERSION) {
                throw new IllegalStateException("a change log record of format " + version + "; this Tidings reads format "
                        + VERSION + ": remove the log directory (log.dir) to start a new log");
            }
            Op op = OPS[in.readByte()];
            String schema = in.readUTF();
            String table = in.readUTF();
            int n = in.readInt();
            List<Column> columns = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                columns.add(new Column(in.readUTF(), in.readUTF(), in.readInt(), in.readBoolean()));
            }
            columns = shared(columns);
            Row record = readRow(columns, in);
            Row oldRecord = readRow(columns, in);
            int toastCount = in.readInt();
            List<String> toast = new ArrayList<>(toastCount);
            for (int i = 0; i < toastCount; i++) {
                toast.add(in.readUTF());
            }
            long xid = in.readLong();
            Lsn commitLsn = Lsn.of(in.readLong());
            long seconds = in.readLong();
            int nanos = in.readInt();
            Transaction tx = new Transaction(xid, commitLsn, seconds == Long.MIN_VALUE ? null : Instant.ofEpochSecond(seconds, nanos),
                    readNullable(in));
            int index = in.readInt();
            Lsn lsn = Lsn.of(in.readLong());
            LogicalMessage message = null;
            if (in.readBoolean()) {
                boolean transactional = in.readBoolean();
                String prefix = in.readUTF();
                byte[] content = new byte[in.readInt()];
                in.readFully(content);
                message = new LogicalMessage(transactional, prefix, content);
            }
            int t = in.readByte();
            TruncateOptions truncate = t == 0 ? null : new TruncateOptions((t & 2) != 0, (t & 4) != 0);
            return new ChangeEvent(op, schema, table, columns, record, oldRecord, List.copyOf(toast), tx, index, lsn, message,
                    truncate);
        } catch (IOException e) {
            throw new UncheckedIOException("a damaged change log record", e);
        }
    }

    /**
     * The decoded columns as one {@link ColumnList} shared by consecutive events of a table, as the
     * decoder shares them: the formats then encode a table's names and {@code columns} array once,
     * not once per replayed event (a consumer group's receive spent most of its time there).
     */
    private static List<Column> shared(List<Column> columns) {
        ColumnList last = lastColumns;
        if (last != null && last.equals(columns)) {
            return last;
        }
        last = ColumnList.of(columns);
        lastColumns = last;
        return last;
    }

    /** A row: whether there is one, then per value -1 when absent, else its UTF-8 length and bytes. */
    private static void writeRow(Row row, DataOutputStream out) throws IOException {
        out.writeBoolean(row != null);
        if (row == null) {
            return;
        }
        for (int i = 0; i < row.size(); i++) {
            String v = row.json(i);
            if (v == null) {
                out.writeInt(-1);
            } else {
                byte[] b = v.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                out.writeInt(b.length);
                out.write(b);
            }
        }
    }

    private static Row readRow(List<Column> columns, DataInputStream in) throws IOException {
        if (!in.readBoolean()) {
            return null;
        }
        String[] values = new String[columns.size()];
        for (int i = 0; i < values.length; i++) {
            int len = in.readInt();
            if (len >= 0) {
                byte[] b = new byte[len];
                in.readFully(b);
                values[i] = new String(b, java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        return new Row(columns, values);
    }

    private static void writeNullable(String s, DataOutputStream out) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    private static String readNullable(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
