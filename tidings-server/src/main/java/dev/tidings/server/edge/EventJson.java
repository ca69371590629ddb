package dev.tidings.server.edge;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.ColumnList;
import dev.tidings.event.LogicalMessage;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import dev.tidings.event.TruncateOptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An event of the default {@code tidings} format (docs/events.md), as the leader's NATS or Kafka sink
 * published it, back into the {@link ChangeEvent} the leader streamed — so an edge node's
 * filters, policies and formats see what the leader's do.
 *
 * <p>Row values are kept as the exact JSON text the leader wrote ({@code to_jsonb}'s), sliced
 * out of the message bytes by the parser's offsets, never re-rendered: a numeric with 40 digits
 * stays the same 40 digits. A column absent from {@code record} is absent from the row (an
 * unchanged TOAST value), as on the leader. Column type OIDs are not in the format and are 0:
 * nothing on the live side reads them.
 *
 * <p>Events of one transaction share one {@link Transaction}, and events of one table one column
 * list (the last of each is kept), as the leader's decoder shares them, so the formats' per
 * transaction and per table caches work on edges too. One instance per consuming thread.
 */
final class EventJson {
    private static final JsonFactory JSON = new JsonFactory();

    private Transaction lastTx;
    private String lastColumnsText;
    private List<Column> lastColumns;

    /** The event in {@code bytes}; fails with what is wrong and how to fix it. */
    ChangeEvent read(byte[] bytes) {
        try (JsonParser p = JSON.createParser(bytes)) {
            return read(p, bytes);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not an event of the tidings format (" + e.getMessage() + "): "
                    + "an edge node reads what the leader's NATS or Kafka sink publishes with format: tidings (the default); "
                    + "check the format of that sink", e);
        }
    }

    private ChangeEvent read(JsonParser p, byte[] bytes) throws IOException {
        expect(p.nextToken(), JsonToken.START_OBJECT);
        Op op = null;
        String schema = null;
        String table = null;
        Map<String, String> record = null;
        Map<String, String> oldRecord = null;
        List<Column> columns = null;
        List<String> toast = List.of();
        long xid = 0;
        Lsn commitLsn = null;
        Instant commitTime = null;
        int index = 0;
        String origin = null;
        Lsn lsn = null;
        TruncateOptions truncate = null;
        LogicalMessage message = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "op" -> op = Op.valueOf(p.getText().toUpperCase(Locale.ROOT));
                case "schema" -> schema = p.getText();
                case "table" -> table = p.getText();
                case "record" -> record = rawMembers(p, bytes);
                case "old_record" -> oldRecord = rawMembers(p, bytes);
                case "columns" -> columns = columns(p, bytes);
                case "unchanged_toast" -> toast = strings(p);
                case "lsn" -> lsn = Lsn.parse(p.getText());
                case "tx" -> {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String name = p.currentName();
                        JsonToken t = p.nextToken();
                        switch (name) {
                            case "xid" -> xid = p.getLongValue();
                            case "commit_lsn" -> commitLsn = Lsn.parse(p.getText());
                            case "commit_time" -> commitTime = Instant.parse(p.getText());
                            case "index" -> index = p.getIntValue();
                            case "origin" -> origin = t == JsonToken.VALUE_NULL ? null : p.getText();
                            default -> p.skipChildren();
                        }
                    }
                }
                case "truncate" -> {
                    boolean cascade = false;
                    boolean restart = false;
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String name = p.currentName();
                        p.nextToken();
                        switch (name) {
                            case "cascade" -> cascade = p.getBooleanValue();
                            case "restart_identity" -> restart = p.getBooleanValue();
                            default -> p.skipChildren();
                        }
                    }
                    truncate = new TruncateOptions(cascade, restart);
                }
                case "message" -> {
                    boolean transactional = false;
                    String prefix = null;
                    byte[] content = null;
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String name = p.currentName();
                        p.nextToken();
                        switch (name) {
                            case "transactional" -> transactional = p.getBooleanValue();
                            case "prefix" -> prefix = p.getText();
                            case "content_base64" -> content = Base64.getDecoder().decode(p.getText());
                            default -> p.skipChildren();
                        }
                    }
                    message = new LogicalMessage(transactional, prefix, content == null ? new byte[0] : content);
                }
                default -> {
                    if (value.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        if (op == null || commitLsn == null || commitTime == null || lsn == null || table == null) {
            throw new IllegalArgumentException("missing op, table, lsn or tx.commit_lsn/commit_time");
        }
        List<Column> cols = columns == null ? List.of() : columns;
        return new ChangeEvent(op, schema == null ? "" : schema, table, cols, row(cols, record), row(cols, oldRecord), toast,
                transaction(xid, commitLsn, commitTime, origin), index, lsn, message, truncate);
    }

    private Transaction transaction(long xid, Lsn commitLsn, Instant commitTime, String origin) {
        Transaction last = lastTx;
        if (last == null || last.xid() != xid || !last.commitLsn().equals(commitLsn)) {
            last = new Transaction(xid, commitLsn, commitTime, origin);
            lastTx = last;
        }
        return last;
    }

    private static Row row(List<Column> columns, Map<String, String> members) {
        if (members == null) {
            return null;
        }
        String[] values = new String[columns.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = members.get(columns.get(i).name());
        }
        return new Row(columns, values);
    }

    /** An object's members as name → the raw JSON text of the value; null for JSON null. */
    private static Map<String, String> rawMembers(JsonParser p, byte[] bytes) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        expect(p.currentToken(), JsonToken.START_OBJECT);
        Map<String, String> members = new HashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            members.put(name, raw(p, bytes));
        }
        return members;
    }

    /** The raw text of the value at the current token, which the parser then leaves behind. */
    private static String raw(JsonParser p, byte[] bytes) throws IOException {
        int start = (int) p.currentTokenLocation().getByteOffset();
        if (p.currentToken().isStructStart()) {
            p.skipChildren();
        } else {
            p.finishToken(); // a string is read lazily: its end is only known once it was
        }
        int end = (int) p.currentLocation().getByteOffset();
        return new String(bytes, start, end - start, StandardCharsets.UTF_8);
    }

    private List<Column> columns(JsonParser p, byte[] bytes) throws IOException {
        int start = (int) p.currentTokenLocation().getByteOffset();
        List<Column> columns = new ArrayList<>();
        expect(p.currentToken(), JsonToken.START_ARRAY);
        while (p.nextToken() == JsonToken.START_OBJECT) {
            String name = null;
            String type = null;
            boolean key = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                switch (field) {
                    case "name" -> name = p.getText();
                    case "type" -> type = p.getText();
                    case "key" -> key = p.getBooleanValue();
                    default -> p.skipChildren();
                }
            }
            columns.add(new Column(name, type, 0, key));
        }
        String text = new String(bytes, start, (int) p.currentLocation().getByteOffset() - start, StandardCharsets.UTF_8);
        if (!text.equals(lastColumnsText)) {
            lastColumnsText = text;
            lastColumns = ColumnList.of(columns);
        }
        return lastColumns;
    }

    private static List<String> strings(JsonParser p) throws IOException {
        List<String> out = new ArrayList<>();
        while (p.nextToken() == JsonToken.VALUE_STRING) {
            out.add(p.getText());
        }
        return out;
    }

    private static void expect(JsonToken actual, JsonToken expected) {
        if (actual != expected) {
            throw new IllegalArgumentException("expected " + expected + " but found " + actual);
        }
    }
}
