package dev.tidings.server.cli;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.EventFormat;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static dev.tidings.testing.TypeOids.*;

/** What {@code tidings tail} writes per event: one line each, events a format has no shape for skipped. */
@Tag("unit")
class JsonLinesTest {
    private static final Transaction TX = new Transaction(7, Lsn.parse("0/16B3748"), Instant.parse("2026-11-27T10:00:00Z"));
    private static final List<Column> COLUMNS = List.of(new Column("id", "int4", INT4, true));

    private static ChangeEvent event(Op op, int index) {
        Row row = op == Op.TRUNCATE ? null : new Row(COLUMNS, new String[] {String.valueOf(index)});
        return new ChangeEvent(op, "public", "t", COLUMNS, row, null, List.of(), TX, index, TX.commitLsn(), null);
    }

    @Test
    void the_supabase_format_skips_truncates_instead_of_stopping_the_stream() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TailCommand.JsonLines lines = new TailCommand.JsonLines(out, EventFormat.named("supabase"));
        lines.onEvent(event(Op.INSERT, 0));
        lines.onEvent(event(Op.TRUNCATE, 1));
        lines.onEvent(event(Op.INSERT, 2));
        lines.onTransaction(TX);
        String[] written = out.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(written).hasSize(2).allSatisfy(l -> assertThat(l).contains("\"type\":\"INSERT\""));
    }

    @Test
    void the_tidings_format_writes_every_event_as_one_line_flushed_at_commit() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TailCommand.JsonLines lines = new TailCommand.JsonLines(out, EventFormat.named("tidings"));
        lines.onEvent(event(Op.INSERT, 0));
        lines.onEvent(event(Op.TRUNCATE, 1));
        lines.onTransaction(TX);
        String[] written = out.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(written).hasSize(2);
        assertThat(written[0]).startsWith("{\"id\":\"0/16B3748:0\",\"op\":\"insert\"");
        assertThat(written[1]).startsWith("{\"id\":\"0/16B3748:1\",\"op\":\"truncate\"");
    }
}
