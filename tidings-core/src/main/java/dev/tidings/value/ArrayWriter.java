package dev.tidings.value;

/**
 * An array's text output ({@code array_out}) as nested JSON arrays, each element written by the
 * element type's writer. The grammar it reads: an optional bounds decoration {@code [2:3]=} when a
 * lower bound is not 1 (to_jsonb ignores bounds, so it is skipped), then braces nesting one level
 * per dimension; elements separated by the element type's delimiter (',' for all but box), unquoted
 * {@code NULL} for a null, and double quotes with backslash escapes around any element that is
 * empty, looks like NULL, or holds a quote, backslash, brace, delimiter or blank.
 *
 * <p>int2vector and oidvector are true arrays to to_jsonb too, but print as numbers separated by
 * blanks without braces; text that does not open with '{' or '[' is read that way.
 */
final class ArrayWriter implements ValueWriter {
    private final ValueWriter element;
    private final char delimiter;

    ArrayWriter(ValueWriter element, char delimiter) {
        this.element = element;
        this.delimiter = delimiter;
    }

    @Override
    public void write(String text, StringBuilder out) {
        if (text.isEmpty() || (text.charAt(0) != '{' && text.charAt(0) != '[')) {
            writeVector(text, out);
            return;
        }
        int pos = text.charAt(0) == '[' ? text.indexOf('=') + 1 : 0;
        pos = dimension(text, pos, out);
        if (pos != text.length()) {
            throw malformed(text);
        }
    }

    /** Reads the '{'…'}' at {@code pos}; returns the position after it. */
    private int dimension(String text, int pos, StringBuilder out) {
        if (text.charAt(pos) != '{') {
            throw malformed(text);
        }
        pos++;
        out.append('[');
        if (text.charAt(pos) == '}') {
            out.append(']');
            return pos + 1;
        }
        while (true) {
            char c = text.charAt(pos);
            if (c == '{') {
                pos = dimension(text, pos, out);
            } else if (c == '"') {
                StringBuilder value = new StringBuilder();
                pos = readQuoted(text, pos, value);
                element.write(value.toString(), out);
            } else {
                int end = pos;
                while (text.charAt(end) != delimiter && text.charAt(end) != '}') {
                    end++;
                }
                if (end - pos == 4 && text.startsWith("NULL", pos)) {
                    out.append("null");
                } else {
                    element.write(text.substring(pos, end), out);
                }
                pos = end;
            }
            c = text.charAt(pos++);
            if (c == '}') {
                out.append(']');
                return pos;
            }
            if (c != delimiter) {
                throw malformed(text);
            }
            out.append(',');
        }
    }

    private void writeVector(String text, StringBuilder out) {
        out.append('[');
        int pos = 0;
        while (pos < text.length()) {
            int end = text.indexOf(' ', pos);
            if (end < 0) {
                end = text.length();
            }
            if (pos > 0) {
                out.append(',');
            }
            element.write(text.substring(pos, end), out);
            pos = end + 1;
        }
        out.append(']');
    }

    /**
     * Reads a double-quoted token with backslash escapes (as array_out and hstore_out write them)
     * starting at the opening quote; appends its content to {@code into} and returns the position
     * after the closing quote.
     */
    static int readQuoted(String text, int pos, StringBuilder into) {
        pos++;
        while (true) {
            char c = text.charAt(pos++);
            if (c == '"') {
                return pos;
            }
            into.append(c == '\\' ? text.charAt(pos++) : c);
        }
    }

    private static IllegalArgumentException malformed(String text) {
        return new IllegalArgumentException("malformed array literal: " + abbreviate(text));
    }

    static String abbreviate(String text) {
        return text.length() <= 200 ? text : text.substring(0, 200) + "…";
    }
}
