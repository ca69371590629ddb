package dev.tidings.backfill;

import dev.tidings.base.Lsn;
import dev.tidings.base.TableName;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.ColumnList;
import dev.tidings.event.LogicalMessage;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import dev.tidings.pipeline.Delivery;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The merge of a chunk at its high watermark, for the case a real PostgreSQL shows only rarely: a
 * transaction committed before the low watermark that the read's snapshot did not see yet (its
 * commit record was written, it was not yet visible). The real-database cases are in {@link SnapshotTest}.
 */
@Tag("unit")
class BackfillDeliveryTest {
    private static final ColumnList COLUMNS = ColumnList.of(List.of(new Column("id", "int4", 23, true),
            new Column("v", "int4", 23, false)));
    private static final BackfillTable TABLE = new BackfillTable(new TableName("public", "t"), COLUMNS,
            new String[]{"int4", "int4"}, new int[]{0});

    private final List<ChangeEvent> delivered = new ArrayList<>();
    private final BackfillDelivery delivery = new BackfillDelivery(new Delivery() {
        @Override
        public void change(ChangeEvent event) {
            delivered.add(event);
        }

        @Override
        public void commit(Transaction tx, Acknowledgement ack) {
            ack.acknowledge();
        }
    });
    private long lsn = 1_000;

    @Test
    void a_row_changed_before_the_low_watermark_by_a_transaction_the_read_did_not_see_is_not_delivered() throws Exception {
        assertThat(readIds("101:103:101")).containsExactly(6L, 8L);
    }

    @Test
    void a_row_changed_before_the_low_watermark_by_a_transaction_the_read_saw_is_delivered() throws Exception {
        assertThat(readIds("102:103:")).containsExactly(6L, 7L, 8L);
    }

    @Test
    void a_transaction_still_unseen_by_the_next_read_keeps_its_rows_out_of_that_chunk_too() throws Exception {
        BackfillDelivery.Chunk first = chunk(1);
        mark(100, first, "open");
        update(101, 7);
        mark(102, first, "low");
        delivery.rowsRead(first, rows(1, 2), keys(1, 2), false, ReadSnapshot.parse("101:103:101"));
        mark(103, first, "high");
        BackfillDelivery.Chunk second = chunk(2);
        mark(104, second, "low");
        delivery.rowsRead(second, rows(6, 7, 8), keys(6, 7, 8), true, ReadSnapshot.parse("101:105:101"));
        mark(105, second, "high");
        assertThat(reads()).containsExactly(1L, 2L, 6L, 8L);
    }

    @Test
    void snapshots_compare_transaction_ids_across_the_32_bit_wraparound() {
        ReadSnapshot s = ReadSnapshot.parse("4294967290:4294967300:4294967295");
        assertThat(s.sees(4_294_967_289L)).as("before xmin").isTrue();
        assertThat(s.sees(4_294_967_291L)).as("finished before the snapshot").isTrue();
        assertThat(s.sees(4_294_967_295L)).as("running").isFalse();
        assertThat(s.sees(3)).as("after the wraparound, before xmax").isTrue();
        assertThat(s.sees(4)).as("xmax").isFalse();
        assertThat(s.sees(100)).as("after xmax").isFalse();
    }

    /** open mark, an update of row 7 by transaction 101, low mark, a read of rows 6–8 in {@code snapshot}, high mark. */
    private List<Long> readIds(String snapshot) throws Exception {
        BackfillDelivery.Chunk c = chunk(1);
        mark(100, c, "open");
        update(101, 7);
        mark(102, c, "low");
        delivery.rowsRead(c, rows(6, 7, 8), keys(6, 7, 8), true, ReadSnapshot.parse(snapshot));
        mark(103, c, "high");
        assertThat(delivered.get(0).op()).isEqualTo(Op.UPDATE);
        return reads();
    }

    private BackfillDelivery.Chunk chunk(long number) {
        BackfillDelivery.Chunk c = new BackfillDelivery.Chunk("run:" + number, TABLE, "bf", "", number);
        delivery.expect(c);
        return c;
    }

    private void mark(long xid, BackfillDelivery.Chunk c, String which) throws Exception {
        Transaction tx = tx(xid);
        delivery.begin(tx);
        delivery.change(new ChangeEvent(Op.MESSAGE, null, null, List.of(), null, null, List.of(), tx, 0, tx.commitLsn(),
                new LogicalMessage(true, Watermarks.PREFIX, (c.mark + ":" + which).getBytes(StandardCharsets.UTF_8))));
        delivery.commit(tx, ack());
    }

    private void update(long xid, long id) throws Exception {
        Transaction tx = tx(xid);
        delivery.begin(tx);
        delivery.change(new ChangeEvent(Op.UPDATE, "public", "t", COLUMNS, row(id, 1), null, List.of(), tx, 0,
                tx.commitLsn(), null));
        delivery.commit(tx, ack());
    }

    private Transaction tx(long xid) {
        lsn += 100;
        return new Transaction(xid, Lsn.of(lsn), Instant.now());
    }

    private static Delivery.Acknowledgement ack() {
        return new Delivery.Acknowledgement() {
            @Override
            public void acknowledge() {}

            @Override
            public void fail(Exception cause) {}
        };
    }

    private static Row row(long id, int v) {
        return new Row(COLUMNS, new String[]{Long.toString(id), Integer.toString(v)});
    }

    private static List<Row> rows(long... ids) {
        List<Row> out = new ArrayList<>();
        for (long id : ids) {
            out.add(row(id, 0));
        }
        return out;
    }

    private static List<String> keys(long... ids) {
        List<String> out = new ArrayList<>();
        for (long id : ids) {
            out.add(BackfillDelivery.keyOf(row(id, 0), new int[]{0}));
        }
        return out;
    }

    private List<Long> reads() {
        return delivered.stream().filter(e -> e.op() == Op.READ).map(e -> Long.parseLong(e.record().json(0))).toList();
    }
}
