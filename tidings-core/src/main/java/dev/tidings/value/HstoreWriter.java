package dev.tidings.value;

import java.util.ArrayList;
import java.util.List;

/**
 * hstore, whose extension installs a cast to json that to_jsonb uses: an object of string values
 * (or null), keys in jsonb order. hstore_out writes {@code "key"=>"value"} pairs separated by
 * {@code ", "}, keys and values always quoted with backslash escapes, {@code NULL} bare.
 */
final class HstoreWriter implements ValueWriter {
    static final HstoreWriter INSTANCE = new HstoreWriter();

    private record Pair(JsonText.Key key, String value) {}

    @Override
    public void write(String text, StringBuilder out) {
        List<Pair> pairs = new ArrayList<>();
        int pos = 0;
        while (pos < text.length()) {
            StringBuilder key = new StringBuilder();
            pos = ArrayWriter.readQuoted(text, pos, key);
            pos += 2; // =>
            String value = null;
            if (text.charAt(pos) == '"') {
                StringBuilder v = new StringBuilder();
                pos = ArrayWriter.readQuoted(text, pos, v);
                value = v.toString();
            } else {
                pos += 4; // NULL
            }
            pairs.add(new Pair(JsonText.Key.of(key.toString()), value));
            pos += 2; // ", "
        }
        pairs.sort((a, b) -> a.key().compareTo(b.key()));
        out.append('{');
        for (int i = 0; i < pairs.size(); i++) {
            Pair p = pairs.get(i);
            if (i > 0) {
                out.append(',');
            }
            JsonText.appendString(out, p.key().name());
            out.append(':');
            if (p.value() == null) {
                out.append("null");
            } else {
                JsonText.appendString(out, p.value());
            }
        }
        out.append('}');
    }
}
