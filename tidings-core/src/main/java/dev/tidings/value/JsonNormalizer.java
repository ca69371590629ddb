package dev.tidings.value;

import java.util.ArrayList;
import java.util.List;

/**
 * Rewrites json text the way converting it to jsonb does: object keys ordered as jsonb orders them
 * and de-duplicated keeping the last value, numbers through numeric, strings decoded and escaped
 * again, insignificant whitespace gone. The input comes from PostgreSQL's json output, which only
 * ever holds text that its json parser accepted, so this parser does not diagnose bad input.
 */
final class JsonNormalizer {
    private final String s;
    private final StringBuilder out;
    private int pos;

    JsonNormalizer(String s, StringBuilder out) {
        this.s = s;
        this.out = out;
    }

    void run() {
        value(out);
    }

    /** Copies jsonb output without the blanks that jsonb_out puts after ':' and ','. */
    static void compact(String jsonb, StringBuilder out) {
        boolean inString = false;
        int len = jsonb.length();
        for (int i = 0; i < len; i++) {
            char c = jsonb.charAt(i);
            if (inString) {
                out.append(c);
                if (c == '\\') {
                    out.append(jsonb.charAt(++i));
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
                out.append(c);
            } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
                out.append(c);
            }
        }
    }

    private void value(StringBuilder o) {
        skipBlanks();
        switch (s.charAt(pos)) {
            case '{' -> object(o);
            case '[' -> array(o);
            case '"' -> JsonText.appendString(o, string());
            case 't' -> literal(o, "true");
            case 'f' -> literal(o, "false");
            case 'n' -> literal(o, "null");
            default -> number(o);
        }
    }

    private void literal(StringBuilder o, String word) {
        o.append(word);
        pos += word.length();
    }

    private record Member(JsonText.Key key, String json) {}

    private void object(StringBuilder o) {
        pos++;
        List<Member> members = new ArrayList<>();
        skipBlanks();
        if (s.charAt(pos) == '}') {
            pos++;
        } else {
            while (true) {
                skipBlanks();
                JsonText.Key key = JsonText.Key.of(string());
                skipBlanks();
                pos++; // ':'
                StringBuilder v = new StringBuilder();
                value(v);
                members.add(new Member(key, v.toString()));
                skipBlanks();
                if (s.charAt(pos++) == '}') {
                    break;
                }
            }
        }
        members.sort((a, b) -> a.key().compareTo(b.key())); // stable: equal keys stay in input order
        o.append('{');
        boolean first = true;
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            if (i + 1 < members.size() && members.get(i + 1).key().equals(m.key())) {
                continue; // a later duplicate wins
            }
            if (!first) {
                o.append(',');
            }
            first = false;
            JsonText.appendString(o, m.key().name());
            o.append(':').append(m.json());
        }
        o.append('}');
    }

    private void array(StringBuilder o) {
        pos++;
        o.append('[');
        skipBlanks();
        if (s.charAt(pos) == ']') {
            pos++;
        } else {
            while (true) {
                value(o);
                skipBlanks();
                if (s.charAt(pos++) == ']') {
                    break;
                }
                o.append(',');
            }
        }
        o.append(']');
    }

    private String string() {
        int start = ++pos;
        while (true) {
            char c = s.charAt(pos);
            if (c == '"') {
                return s.substring(start, pos++);
            }
            if (c == '\\') {
                break;
            }
            pos++;
        }
        StringBuilder b = new StringBuilder(s.length() - start).append(s, start, pos);
        while (true) {
            char c = s.charAt(pos++);
            if (c == '"') {
                return b.toString();
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            char e = s.charAt(pos++);
            switch (e) {
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> {
                    b.append((char) Integer.parseInt(s, pos, pos + 4, 16));
                    pos += 4;
                }
                default -> b.append(e); // \" \\ \/
            }
        }
    }

    private void number(StringBuilder o) {
        int start = pos;
        while (pos < s.length() && isNumberChar(s.charAt(pos))) {
            pos++;
        }
        JsonText.appendNumber(o, s.substring(start, pos));
    }

    private static boolean isNumberChar(char c) {
        return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
    }

    private void skipBlanks() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
                return;
            }
            pos++;
        }
    }
}
