package dev.tidings.event;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.util.List;

/**
 * Writes rows as JSON objects of column name → value, the one piece every format shares.
 *
 * <p>Values are already JSON text as {@code to_jsonb()} renders them, so they are copied with
 * {@link JsonGenerator#writeRawValue(String)} (or, for a row that holds UTF-8 bytes, as bytes: see
 * {@link JsonUtf8}): numbers keep every digit, nothing is parsed or re-encoded. An absent value
 * (Java null: an unchanged TOAST column that was not sent, or a non-key column of an old key) is
 * left out of the object, never written as null or as a placeholder.
 */
final class RowJson {
    private RowJson() {}

    /** The row's present columns as an object, or JSON null when there is no row. */
    static void writeRow(Row row, JsonGenerator out) throws IOException {
        if (row == null) {
            out.writeNull();
            return;
        }
        List<Column> columns = row.columns();
        ColumnList encoded = columns instanceof ColumnList c ? c : null;
        out.writeStartObject();
        for (int i = 0; i < row.size(); i++) {
            if (row.has(i)) {
                writeName(columns, encoded, i, out);
                writeValue(row, i, out);
            }
        }
        out.writeEndObject();
    }

    /**
     * The key columns of {@code source} that are present, as an object; JSON null when there is
     * no source row or the table has no key columns. Same result as {@link ChangeEvent#key()}
     * without building a {@link Row}.
     */
    static void writeKey(Row source, JsonGenerator out) throws IOException {
        if (source == null || !hasKey(source.columns())) {
            out.writeNull();
            return;
        }
        writeKeyObject(source, out);
    }

    /** The key columns of {@code source} that are present, as an object (empty when none). */
    static void writeKeyObject(Row source, JsonGenerator out) throws IOException {
        List<Column> columns = source.columns();
        ColumnList encoded = columns instanceof ColumnList c ? c : null;
        out.writeStartObject();
        for (int i = 0; i < source.size(); i++) {
            if (source.has(i) && columns.get(i).key()) {
                writeName(columns, encoded, i, out);
                writeValue(source, i, out);
            }
        }
        out.writeEndObject();
    }

    /** A present value as it is: its UTF-8 bytes when the row holds them (a backfill's rows), else its String. */
    private static void writeValue(Row row, int i, JsonGenerator out) throws IOException {
        byte[] utf8 = row.utf8(i);
        if (utf8 != null) {
            out.writeRawValue(new JsonUtf8(utf8));
        } else {
            out.writeRawValue(row.json(i));
        }
    }

    /** The column's name as a field name: pre-encoded when the columns come from the relation cache. */
    private static void writeName(List<Column> columns, ColumnList encoded, int i, JsonGenerator out) throws IOException {
        if (encoded != null) {
            out.writeFieldName(encoded.jsonName(i));
        } else {
            out.writeFieldName(columns.get(i).name());
        }
    }

    private static boolean hasKey(List<Column> columns) {
        for (int i = 0; i < columns.size(); i++) {
            if (columns.get(i).key()) {
                return true;
            }
        }
        return false;
    }
}
