package dev.tidings.testing;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The fold invariant's checker: events (Tidings format) folded by key — read, insert and update
 * put the record (an update that moved the key removes the old one), delete removes — must equal
 * the table as {@code to_jsonb()} shows it. Keys are the {@code id} column.
 */
public final class Fold {
    private final Map<String, JsonNode> rows = new HashMap<>();
    public long reads;
    public long changes;

    public void apply(JsonNode event) {
        String op = event.get("op").asText();
        switch (op) {
            case "read", "insert", "update" -> {
                JsonNode record = event.get("record");
                JsonNode old = event.get("old_record");
                if (old != null && !old.isNull() && old.has("id") && !old.get("id").equals(record.get("id"))) {
                    rows.remove(old.get("id").asText());
                }
                rows.put(record.get("id").asText(), record);
                if (op.equals("read")) {
                    reads++;
                } else {
                    changes++;
                }
            }
            case "delete" -> {
                rows.remove(event.get("old_record").get("id").asText());
                changes++;
            }
            case "truncate" -> rows.clear();
            default -> { }
        }
    }

    /** Differences from the table's rows (as {@code to_jsonb} gives them): empty when the fold holds. */
    public List<String> differences(JsonNode table) {
        Map<String, JsonNode> expected = new HashMap<>();
        for (JsonNode row : table) {
            expected.put(row.get("id").asText(), row);
        }
        List<String> out = new ArrayList<>();
        TreeSet<String> keys = new TreeSet<>(expected.keySet());
        keys.addAll(rows.keySet());
        for (String key : keys) {
            JsonNode want = expected.get(key);
            JsonNode got = rows.get(key);
            if (want == null || !want.equals(got)) {
                out.add("id " + key + ": table " + want + ", events " + got);
            }
        }
        return out;
    }

    public int size() {
        return rows.size();
    }
}
