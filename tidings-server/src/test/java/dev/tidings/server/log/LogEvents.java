package dev.tidings.server.log;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.EventFormat;
import dev.tidings.event.LogicalMessage;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import dev.tidings.event.TruncateOptions;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/** Change events for the log's tests, and their JSON (events hold arrays, so they are compared as JSON). */
final class LogEvents {
    static final List<Column> COLUMNS = List.of(new Column("id", "int8", 20, true), new Column("title", "text", 25, false),
            new Column("body", "text", 25, false));
    static final Instant COMMIT_TIME = Instant.parse("2026-11-27T10:00:00.123456Z");

    private LogEvents() {}

    static Transaction tx(long commitLsn) {
        return new Transaction(700 + commitLsn, Lsn.of(commitLsn), COMMIT_TIME);
    }

    static ChangeEvent insert(long commitLsn, int index) {
        Row record = new Row(COLUMNS, new String[] {Long.toString(commitLsn * 1000 + index), "\"naïve ☕\"", "null"});
        return new ChangeEvent(Op.INSERT, "public", "todos", COLUMNS, record, null, List.of(), tx(commitLsn), index,
                Lsn.of(commitLsn - 1), null);
    }

    static ChangeEvent updateWithOldKeyAndToast(long commitLsn, int index) {
        Row record = new Row(COLUMNS, new String[] {"6", "\"b\"", null});
        Row oldKey = new Row(COLUMNS, new String[] {"5", null, null});
        return new ChangeEvent(Op.UPDATE, "public", "todos", COLUMNS, record, oldKey, List.of("body"),
                tx(commitLsn).withOrigin("other_node"), index, Lsn.of(commitLsn - 1), null);
    }

    static ChangeEvent truncate(long commitLsn, int index) {
        return new ChangeEvent(Op.TRUNCATE, "public", "todos", COLUMNS, null, null, List.of(), tx(commitLsn), index,
                Lsn.of(commitLsn - 1), null, new TruncateOptions(true, false));
    }

    /** A non-transactional message at {@code lsn}: its id is {@code <lsn>:m}. */
    static ChangeEvent standaloneMessage(long lsn) {
        return new ChangeEvent(Op.MESSAGE, "", "bin", List.of(), null, null, List.of(), new Transaction(0, Lsn.of(lsn), COMMIT_TIME),
                0, Lsn.of(lsn), new LogicalMessage(false, "bin", new byte[] {(byte) 0xff, 0, 42}));
    }

    static ChangeEvent transactionalMessage(long commitLsn, int index) {
        return new ChangeEvent(Op.MESSAGE, "", "outbox", List.of(), null, null, List.of(), tx(commitLsn), index,
                Lsn.of(commitLsn - 1), new LogicalMessage(true, "outbox", "{\"order\":42}".getBytes(StandardCharsets.UTF_8)));
    }

    static String json(ChangeEvent e) {
        return new String(EventFormat.named("tidings").toBytes(e), StandardCharsets.UTF_8);
    }

    static List<String> json(List<ChangeEvent> events) {
        return events.stream().map(LogEvents::json).toList();
    }
}
