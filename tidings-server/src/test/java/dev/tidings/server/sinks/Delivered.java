package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a sink holds of a {@link ChangeLoad}, in sink order, and the checks of guarantees 1 and 3:
 * complete, in commit order per table, duplicates identical and only where allowed.
 */
final class Delivered {
    static final ObjectMapper MAPPER = new ObjectMapper();

    /** One delivered message: event id, table, row number n, and the raw bytes. */
    record Message(String id, String table, int n, String raw) {}

    final List<List<Message>> runs = new ArrayList<>();

    /** Adds one run (the output of one process lifetime, or of a sink that cannot tell runs apart). */
    Delivered run(List<Message> messages) {
        runs.add(messages);
        return this;
    }

    static Message parse(String raw) {
        try {
            JsonNode e = MAPPER.readTree(raw);
            return new Message(e.get("id").asText(), e.get("table").asText(), e.get("record").get("n").asInt(), raw);
        } catch (IOException ex) {
            throw new UncheckedIOException("not an event: " + raw, ex);
        }
    }

    /** The whole lines of a JSON-lines file (a torn last line is ignored: it was never confirmed). */
    static List<Message> jsonLines(Path file) {
        try {
            if (!Files.exists(file)) {
                return List.of();
            }
            String text = Files.readString(file, StandardCharsets.UTF_8);
            int end = text.lastIndexOf('\n');
            List<Message> out = new ArrayList<>();
            if (end > 0) {
                for (String line : text.substring(0, end).split("\n")) {
                    out.add(parse(line));
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int total() {
        return runs.stream().mapToInt(List::size).sum();
    }

    int distinct() {
        Set<String> ids = new HashSet<>();
        runs.forEach(r -> r.forEach(m -> ids.add(m.id())));
        return ids.size();
    }

    /**
     * Every committed row is there; per table, first occurrences come in commit order; every
     * copy of an id carries the same event; within one run no id repeats unless {@code dupesInRun}.
     */
    void verify(int[] committedPerTable, boolean dupesInRun) {
        Map<String, String> byId = new HashMap<>();
        Map<String, Integer> lastN = new HashMap<>();
        for (List<Message> run : runs) {
            Set<String> inRun = new HashSet<>();
            for (Message m : run) {
                if (!dupesInRun) {
                    assertThat(inRun.add(m.id())).as("id %s twice in one run (no crash between)", m.id()).isTrue();
                }
                String previous = byId.putIfAbsent(m.id(), m.raw());
                if (previous != null) {
                    assertThat(m.raw()).as("a duplicate carries the same event").isEqualTo(previous);
                    continue;
                }
                int last = lastN.getOrDefault(m.table(), 0);
                assertThat(m.n()).as("first delivery of %s row %d comes after row %d: commit order", m.table(), m.n(), last)
                        .isEqualTo(last + 1);
                lastN.put(m.table(), m.n());
            }
        }
        for (int t = 0; t < committedPerTable.length; t++) {
            assertThat(lastN.getOrDefault("load_" + t, 0)).as("rows of load_%d delivered", t).isEqualTo(committedPerTable[t]);
        }
    }
}
