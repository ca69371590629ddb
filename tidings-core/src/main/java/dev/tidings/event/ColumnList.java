package dev.tidings.event;

import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;

import java.util.AbstractList;
import java.util.List;
import java.util.RandomAccess;

/**
 * The columns of a table as the decoder's relation cache holds them: an immutable list that also
 * carries what every event of the table would otherwise compute again — each column name as a
 * pre-encoded JSON field name, and (once a format asked for it) the {@code columns} array of
 * {@link TidingsFormat}. One instance is shared by all events of a table until its next Relation
 * message, so the formats pay for names once per table instead of once per value.
 *
 * <p>Equal to any list of the same columns ({@link AbstractList#equals}); formats that get another
 * kind of list (events built by hand) encode names as they go.
 */
public final class ColumnList extends AbstractList<Column> implements RandomAccess {
    private final Column[] columns;
    private final SerializableString[] names;
    private volatile SerializableString tidingsJson;

    private ColumnList(Column[] columns) {
        this.columns = columns;
        this.names = new SerializableString[columns.length];
        for (int i = 0; i < columns.length; i++) {
            names[i] = new SerializedString(columns[i].name());
        }
    }

    /** The columns, copied. */
    public static ColumnList of(List<Column> columns) {
        return columns instanceof ColumnList c ? c : new ColumnList(columns.toArray(new Column[0]));
    }

    @Override
    public Column get(int index) {
        return columns[index];
    }

    @Override
    public int size() {
        return columns.length;
    }

    /** The name of the column at {@code index} as a JSON field name, encoded once. */
    SerializableString jsonName(int index) {
        return names[index];
    }

    /** The {@code columns} array of the tidings format, or null before it was first rendered. */
    SerializableString tidingsJson() {
        return tidingsJson;
    }

    void tidingsJson(SerializableString json) {
        tidingsJson = json;
    }
}
