package dev.tidings.value;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.source.DatabaseUrl;
import dev.tidings.testing.TestPostgres;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * PostgreSQL as the judge: casts literals to a type, reads each value's text output (exactly what
 * pgoutput would send, under the same pinned session settings) and {@code to_jsonb} of it, and
 * reports every value where the converter's JSON differs from to_jsonb's, on either of its entry
 * points (the text as a String, and as UTF-8 bytes).
 *
 * <p>The comparison is on text: jsonb's output without the blanks after ':' and ',' must equal the
 * converter's output character for character, so number scale, key order and string escapes all
 * count. The converter's output must also parse as JSON on its own.
 */
final class ToJsonbOracle implements AutoCloseable {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    final String url;
    final Connection connection;
    final PgTypeRegistry registry;
    final JsonValueConverter converter;
    int checked;

    ToJsonbOracle() throws SQLException {
        url = TestPostgres.newDatabase();
        connection = DriverManager.getConnection(url, sessionProperties());
        registry = new PgTypeRegistry(url, sessionProperties());
        converter = new JsonValueConverter(registry);
    }

    /** The replication connection's session settings; simple query protocol so every value comes back as text. */
    static Properties sessionProperties() {
        Properties p = new Properties();
        p.setProperty("options", DatabaseUrl.PINNED_SETTINGS);
        p.setProperty("preferQueryMode", "simple");
        return p;
    }

    void execute(String... statements) throws SQLException {
        try (Statement s = connection.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
    }

    /** Checks each literal cast to {@code type}; returns one line per mismatch (empty when all agree). */
    List<String> mismatches(String type, List<String> literals) throws SQLException {
        List<String> problems = new ArrayList<>();
        if (literals.isEmpty()) {
            return problems;
        }
        StringBuilder array = new StringBuilder("ARRAY[");
        for (int i = 0; i < literals.size(); i++) {
            array.append(i == 0 ? "" : ",").append('\'').append(literals.get(i).replace("'", "''")).append('\'');
        }
        array.append("]::text[]");
        String sql = "SELECT v, to_jsonb(v), pg_typeof(v)::oid FROM (SELECT x::" + type + " AS v, i FROM unnest("
                + array + ") WITH ORDINALITY u(x, i)) s ORDER BY i";
        try (Statement s = connection.createStatement(); ResultSet r = s.executeQuery(sql)) {
            int row = 0;
            while (r.next()) {
                String literal = literals.get(row++);
                String text = r.getString(1);
                String expected = r.getString(2);
                int oid = (int) r.getLong(3);
                checked++;
                String actual;
                try {
                    actual = converter.toJson(oid, text);
                } catch (Exception e) {
                    problems.add(type + " " + show(literal) + ": text " + show(text) + " threw " + e);
                    continue;
                }
                StringBuilder compact = new StringBuilder();
                JsonNormalizer.compact(expected, compact);
                if (!compact.toString().equals(actual)) {
                    problems.add(type + " " + show(literal) + ": text " + show(text) + "\n    to_jsonb  " + compact
                            + "\n    converter " + actual);
                    continue;
                }
                try {
                    MAPPER.readTree(actual);
                } catch (Exception e) {
                    problems.add(type + " " + show(literal) + ": converter output is not JSON: " + e.getMessage());
                    continue;
                }
                String fromBytes;
                try {
                    fromBytes = new String(converter.toJsonUtf8(oid, text.getBytes(StandardCharsets.UTF_8)),
                            StandardCharsets.UTF_8);
                } catch (Exception e) {
                    problems.add(type + " " + show(literal) + ": text " + show(text) + " as UTF-8 threw " + e);
                    continue;
                }
                if (!fromBytes.equals(actual)) {
                    problems.add(type + " " + show(literal) + ": text " + show(text) + "\n    to_jsonb        " + compact
                            + "\n    converter UTF-8 " + fromBytes);
                }
            }
        }
        return problems;
    }

    private static String show(String s) {
        StringBuilder b = new StringBuilder();
        JsonText.appendString(b, s.length() > 300 ? s.substring(0, 300) + "…" : s);
        return b.toString();
    }

    @Override
    public void close() throws SQLException {
        connection.close();
    }
}
