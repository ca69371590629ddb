package dev.tidings.event;

import dev.tidings.base.Lsn;
import dev.tidings.base.TableName;

import java.util.List;

/**
 * One committed change, the unit every consumer receives. Its JSON forms are in docs/events.md.
 *
 * <p>{@code id} is {@code <commit LSN>:<index>}: the same on every redelivery of the same change,
 * so consumers can deduplicate. {@code index} counts the changes of a transaction from 0.
 *
 * @param op             what happened
 * @param schema         the table's schema (for {@link Op#MESSAGE}: empty)
 * @param table          the table's name (for {@link Op#MESSAGE}: the message prefix)
 * @param columns        the table's columns at the time of the change (empty for messages)
 * @param record         the new row for insert and update; null otherwise
 * @param oldRecord      the old row as Postgres sent it: the whole row under REPLICA IDENTITY FULL,
 *                       the key columns on delete or when an update changed the key; null otherwise
 * @param unchangedToast names of columns left out of {@code record} because their TOASTed value did
 *                       not change and was not sent
 * @param tx             the transaction
 * @param index          position of the change inside its transaction, from 0
 * @param lsn            the WAL position of the change itself
 * @param message        for {@link Op#MESSAGE}: the logical decoding message; null otherwise
 */
public record ChangeEvent(Op op, String schema, String table, List<Column> columns, Row record, Row oldRecord,
                          List<String> unchangedToast, Transaction tx, int index, Lsn lsn, LogicalMessage message) {

    /** The changed table; for {@link Op#MESSAGE} an empty schema and the message prefix. */
    public TableName tableName() {
        return new TableName(schema, table);
    }

    public String id() {
        return tx.commitLsn() + ":" + index;
    }

    /**
     * The key columns of the row this event is about, aligned with the key columns of {@link #columns()}:
     * from the new row, or from the old row for deletes. Null when the table has no key columns.
     */
    public Row key() {
        Row source = record != null ? record : oldRecord;
        if (source == null) {
            return null;
        }
        int n = 0;
        for (Column c : columns) {
            if (c.key()) {
                n++;
            }
        }
        if (n == 0) {
            return null;
        }
        Column[] keyColumns = new Column[n];
        String[] values = new String[n];
        int k = 0;
        for (int i = 0; i < columns.size(); i++) {
            if (columns.get(i).key()) {
                keyColumns[k] = columns.get(i);
                values[k++] = source.json(i);
            }
        }
        return new Row(List.of(keyColumns), values);
    }
}
