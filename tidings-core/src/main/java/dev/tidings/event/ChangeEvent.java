package dev.tidings.event;

import dev.tidings.base.Lsn;
import dev.tidings.base.TableName;

import java.util.List;

/**
 * One committed change, the unit every consumer receives. Its JSON forms are in docs/events.md.
 *
 * <p>{@code id} is {@code <commit LSN>:<index>}: the same on every redelivery of the same change,
 * so consumers can deduplicate. {@code index} counts the changes of a transaction from 0. A
 * non-transactional logical message has the id {@code <its LSN>:m}: its LSN can be the commit LSN
 * of the transaction that follows it, and the two ids must not collide.
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
 * @param truncate       for {@link Op#TRUNCATE}: the statement's options; null otherwise
 * @param snapshot       for {@link Op#READ}: which backfill and chunk read the row; null otherwise
 */
public record ChangeEvent(Op op, String schema, String table, List<Column> columns, Row record, Row oldRecord,
                          List<String> unchangedToast, Transaction tx, int index, Lsn lsn, LogicalMessage message,
                          TruncateOptions truncate, SnapshotRead snapshot) {

    /** A change, truncate or message from the stream (no snapshot). */
    public ChangeEvent(Op op, String schema, String table, List<Column> columns, Row record, Row oldRecord,
                       List<String> unchangedToast, Transaction tx, int index, Lsn lsn, LogicalMessage message,
                       TruncateOptions truncate) {
        this(op, schema, table, columns, record, oldRecord, unchangedToast, tx, index, lsn, message, truncate, null);
    }

    public ChangeEvent(Op op, String schema, String table, List<Column> columns, Row record, Row oldRecord,
                       List<String> unchangedToast, Transaction tx, int index, Lsn lsn, LogicalMessage message) {
        this(op, schema, table, columns, record, oldRecord, unchangedToast, tx, index, lsn, message, null, null);
    }

    /** The changed table; for {@link Op#MESSAGE} an empty schema and the message prefix. */
    public TableName tableName() {
        return new TableName(schema, table);
    }

    public String id() {
        return standaloneMessage() ? tx.commitLsn() + STANDALONE_MESSAGE_SUFFIX : tx.commitLsn() + ":" + index;
    }

    /** The end of a non-transactional message's id, after its LSN. */
    static final String STANDALONE_MESSAGE_SUFFIX = ":m";

    /** True for a non-transactional logical message, which belongs to no transaction. */
    public boolean standaloneMessage() {
        return message != null && !message.transactional();
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
