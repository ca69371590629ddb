package dev.tidings.event;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The values of one row, aligned with the event's {@link Column}s. Each value is JSON text exactly
 * as {@code to_jsonb()} renders it ({@code "null"} for SQL NULL), or Java {@code null} when the
 * column is absent: an unchanged TOAST value that was not sent, or a non-key column of an old key.
 *
 * <p>A row holds its values as Strings, or as the UTF-8 bytes of their JSON ({@link #ofUtf8}): a
 * backfill converts the bytes of the query result to JSON bytes, and the formats copy those bytes
 * to their output ({@link RowJson}) without ever making Strings of them. {@link #json} decodes a
 * value of such a row on first use and keeps the String (racy but safe: Strings are immutable, and
 * any thread decodes the same text).
 */
public final class Row {
    private final List<Column> columns;
    private final String[] values;
    private final byte[][] utf8; // null unless built by ofUtf8

    public Row(List<Column> columns, String[] values) {
        this(columns, values, null);
    }

    private Row(List<Column> columns, String[] values, byte[][] utf8) {
        if (columns.size() != values.length) {
            throw new IllegalArgumentException(columns.size() + " columns but " + values.length + " values");
        }
        this.columns = columns;
        this.values = values;
        this.utf8 = utf8;
    }

    /** A row whose values are the UTF-8 bytes of their JSON text (null for an absent column); the arrays are kept, not copied. */
    public static Row ofUtf8(List<Column> columns, byte[][] values) {
        return new Row(columns, new String[values.length], values);
    }

    public List<Column> columns() {
        return columns;
    }

    /** The JSON text of every column (null when absent), as a new array. */
    public String[] values() {
        String[] out = new String[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = json(i);
        }
        return out;
    }

    public int size() {
        return values.length;
    }

    /** JSON text of the column at {@code index}, or null when absent. */
    public String json(int index) {
        String value = values[index];
        if (value == null && utf8 != null && utf8[index] != null) {
            value = new String(utf8[index], StandardCharsets.UTF_8);
            values[index] = value;
        }
        return value;
    }

    /** The UTF-8 bytes of the column's JSON as the row holds them, or null when it holds a String (or nothing). */
    byte[] utf8(int index) {
        return utf8 == null ? null : utf8[index];
    }

    /** JSON text of the named column, or null when absent or no such column. */
    public String json(String column) {
        for (int i = 0; i < values.length; i++) {
            if (columns.get(i).name().equals(column)) {
                return json(i);
            }
        }
        return null;
    }

    public boolean has(int index) {
        return values[index] != null || utf8 != null && utf8[index] != null;
    }

    /** Equal columns and equal JSON text in every column, however each row holds it. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Row r && columns.equals(r.columns) && Arrays.equals(values(), r.values());
    }

    @Override
    public int hashCode() {
        return 31 * columns.hashCode() + Arrays.hashCode(values());
    }

    @Override
    public String toString() {
        return "Row" + Arrays.toString(values());
    }
}
