package dev.tidings.event;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.base.Lsn;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import static dev.tidings.testing.TypeOids.*;

/** Change events for format tests, built by hand, and a parser that keeps numbers exact. */
final class Events {
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);

    static final Column ID = new Column("id", "int8", INT8, true);
    static final Column TITLE = new Column("title", "text", TEXT, false);
    static final Column AMOUNT = new Column("amount", "numeric", NUMERIC, false);
    static final Column BODY = new Column("body", "text", TEXT, false);
    static final Column MOOD = new Column("mood", "app.mood", 16_390, false);
    static final List<Column> COLUMNS = List.of(ID, TITLE, AMOUNT, BODY, MOOD);

    static final String BIG_DECIMAL = "12345678901234567890.123";
    static final String BIG_INTEGER = "123456789012345678901234567890";

    static final Instant COMMIT_TIME = Instant.parse("2026-11-27T10:00:00.123456Z");
    static final Lsn COMMIT_LSN = Lsn.parse("0/1A2B3C4");
    static final Transaction TX = new Transaction(742, COMMIT_LSN, COMMIT_TIME);
    static final Lsn CHANGE_LSN = Lsn.parse("0/1A2B380");

    private Events() {}

    static Row row(String... values) {
        return new Row(COLUMNS, values);
    }

    static ChangeEvent insert() {
        Row record = row("5", "\"buy milk\"", BIG_DECIMAL, "\"long text\"", "\"happy\"");
        return new ChangeEvent(Op.INSERT, "public", "todos", COLUMNS, record, null, List.of(), TX, 2, CHANGE_LSN, null);
    }

    /** An update that changed the key from 5 to 6: Postgres sends the old key columns. */
    static ChangeEvent updateWithKeyChange() {
        Row record = row("6", "\"buy oat milk\"", BIG_INTEGER, "null", "\"sad\"");
        Row oldKey = row("5", null, null, null, null);
        return new ChangeEvent(Op.UPDATE, "public", "todos", COLUMNS, record, oldKey, List.of(), TX, 3, CHANGE_LSN, null);
    }

    /** An update under the default replica identity that kept its key and did not touch the TOASTed body. */
    static ChangeEvent updateWithUnchangedToast() {
        Row record = row("5", "\"buy milk\"", "0.10", null, "null");
        return new ChangeEvent(Op.UPDATE, "public", "todos", COLUMNS, record, null, List.of("body"), TX, 4, CHANGE_LSN, null);
    }

    static ChangeEvent delete() {
        Row oldKey = row("5", null, null, null, null);
        return new ChangeEvent(Op.DELETE, "public", "todos", COLUMNS, null, oldKey, List.of(), TX, 5, CHANGE_LSN, null);
    }

    static ChangeEvent truncate() {
        return new ChangeEvent(Op.TRUNCATE, "public", "todos", COLUMNS, null, null, List.of(), TX, 6, CHANGE_LSN, null);
    }

    static ChangeEvent message(boolean transactional, String prefix, byte[] content) {
        Transaction tx = transactional ? TX : new Transaction(0, CHANGE_LSN, COMMIT_TIME);
        return new ChangeEvent(Op.MESSAGE, "", prefix, List.of(), null, null, List.of(), tx, transactional ? 7 : 0,
                CHANGE_LSN, new LogicalMessage(transactional, prefix, content));
    }

    static ChangeEvent textMessage() {
        return message(true, "outbox", "{\"order\":42,\"note\":\"naïve ☕\"}".getBytes(StandardCharsets.UTF_8));
    }

    static ChangeEvent binaryMessage() {
        return message(false, "bin", new byte[] {(byte) 0xff, 0x00, (byte) 0xc3, 0x28});
    }

    /** Schema, table and column names that need escaping in JSON, and non-ASCII ones. */
    static final String ODD_SCHEMA = "Sch\u00e9ma \"q\"";
    static final String ODD_TABLE = "t\\able\n\u2028\uD83C\uDF89";
    static final Column ODD_KEY = new Column("k\"ey\u0001", "text", TEXT, true);
    static final Column ODD_COLUMN = new Column("\u540d\u524d </script>", "_int4", INT4_ARRAY, false);

    static ChangeEvent oddNames() {
        List<Column> columns = List.of(ODD_KEY, ODD_COLUMN);
        Row record = new Row(columns, new String[] {"\"\\u0000x\"", "[1,2,3]"});
        return new ChangeEvent(Op.INSERT, ODD_SCHEMA, ODD_TABLE, columns, record, null, List.of(), TX, 0, CHANGE_LSN, null);
    }

    static String text(EventFormat format, ChangeEvent event) {
        return new String(format.toBytes(event), StandardCharsets.UTF_8);
    }

    static JsonNode parse(EventFormat format, ChangeEvent event) {
        try {
            return JSON.readTree(format.toBytes(event));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> fieldNames(JsonNode node) {
        java.util.ArrayList<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
