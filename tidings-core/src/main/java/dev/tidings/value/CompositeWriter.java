package dev.tidings.value;

import java.util.Arrays;
import java.util.Comparator;

/**
 * A composite value's text output ({@code record_out}) as a JSON object. to_jsonb builds a jsonb
 * object, so the keys come out in jsonb's key order (shorter names first, then bytewise), not in
 * attribute order; that order is computed once here. record_out writes fields between parentheses
 * separated by commas, nothing at all for a null, and double quotes around a field that is empty
 * or holds a quote, backslash, parenthesis, comma or blank, doubling quotes and backslashes inside.
 */
final class CompositeWriter implements ValueWriter {
    private final String typeName;
    private final ValueWriter[] fields;
    /** Attribute indexes in jsonb key order. */
    private final int[] order;
    /** Per attribute: its name as a JSON string followed by ':'. */
    private final String[] keyPrefixes;

    CompositeWriter(String typeName, String[] names, ValueWriter[] fields) {
        this.typeName = typeName;
        this.fields = fields;
        JsonText.Key[] keys = Arrays.stream(names).map(JsonText.Key::of).toArray(JsonText.Key[]::new);
        this.order = java.util.stream.IntStream.range(0, names.length).boxed()
                .sorted(Comparator.comparing(i -> keys[i])).mapToInt(Integer::intValue).toArray();
        this.keyPrefixes = new String[names.length];
        for (int i = 0; i < names.length; i++) {
            StringBuilder b = new StringBuilder();
            JsonText.appendString(b, names[i]);
            keyPrefixes[i] = b.append(':').toString();
        }
    }

    @Override
    public void write(String text, StringBuilder out) {
        String[] values = parse(text);
        out.append('{');
        for (int k = 0; k < order.length; k++) {
            int i = order[k];
            if (k > 0) {
                out.append(',');
            }
            out.append(keyPrefixes[i]);
            if (values[i] == null) {
                out.append("null");
            } else {
                fields[i].write(values[i], out);
            }
        }
        out.append('}');
    }

    /** The fields' texts in attribute order, null for SQL NULL. */
    String[] parse(String text) {
        String[] values = new String[fields.length];
        if (text.isEmpty() || text.charAt(0) != '(') {
            throw malformed(text, "it does not start with '('");
        }
        int pos = 1;
        for (int i = 0; i < values.length; i++) {
            StringBuilder value = null;
            int start = pos;
            boolean quoted = false;
            while (true) {
                if (pos >= text.length()) {
                    throw malformed(text, "it ends inside a field");
                }
                char c = text.charAt(pos);
                if (!quoted && (c == ',' || c == ')')) {
                    break;
                }
                if (value == null) {
                    value = new StringBuilder();
                }
                pos++;
                if (c == '\\') {
                    value.append(text.charAt(pos++));
                } else if (c == '"') {
                    if (quoted && pos < text.length() && text.charAt(pos) == '"') {
                        value.append('"');
                        pos++;
                    } else {
                        quoted = !quoted;
                    }
                } else {
                    value.append(c);
                }
            }
            values[i] = pos == start ? null : value.toString();
            char end = text.charAt(pos++);
            if ((end == ')') != (i == values.length - 1)) {
                throw malformed(text, "the type " + typeName + " has " + values.length
                        + " attributes; was it altered without a Type message?");
            }
        }
        if (values.length == 0) {
            pos++; // "()"
        }
        if (pos != text.length()) {
            throw malformed(text, "text follows the closing ')'");
        }
        return values;
    }

    private IllegalArgumentException malformed(String text, String why) {
        return new IllegalArgumentException("malformed " + typeName + " record literal (" + why + "): "
                + ArrayWriter.abbreviate(text));
    }
}
