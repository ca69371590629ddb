package dev.tidings.event;

import java.util.List;

/**
 * The values of one row, aligned with the event's {@link Column}s. Each value is JSON text exactly
 * as {@code to_jsonb()} renders it ({@code "null"} for SQL NULL), or Java {@code null} when the
 * column is absent: an unchanged TOAST value that was not sent, or a non-key column of an old key.
 */
public record Row(List<Column> columns, String[] values) {

    public Row {
        if (columns.size() != values.length) {
            throw new IllegalArgumentException(columns.size() + " columns but " + values.length + " values");
        }
    }

    public int size() {
        return values.length;
    }

    /** JSON text of the column at {@code index}, or null when absent. */
    public String json(int index) {
        return values[index];
    }

    /** JSON text of the named column, or null when absent or no such column. */
    public String json(String column) {
        for (int i = 0; i < values.length; i++) {
            if (columns.get(i).name().equals(column)) {
                return values[i];
            }
        }
        return null;
    }

    public boolean has(int index) {
        return values[index] != null;
    }
}
