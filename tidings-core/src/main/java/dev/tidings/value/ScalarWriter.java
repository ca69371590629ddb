package dev.tidings.value;

import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;

/**
 * The writers of the scalar types a table mostly holds, on both entry points of {@link ValueWriter}.
 * Each rule is written once: the bytes path works on the text's bytes, and the String path of the
 * ASCII-only types (numbers, timestamps) runs the same code on the String's Latin-1 bytes; strings
 * share the scan for characters to escape and the escaping itself ({@link JsonText}).
 */
enum ScalarWriter implements ValueWriter {
    /** enum, range, interval, uuid, inet, bytea, time, date and every other type: the text as a JSON string. */
    STRING((text, out) -> JsonText.appendString(out, text), JsonText::stringUtf8),
    /** int2/4/8, float4/8, numeric: a JSON number, but NaN and ±Infinity as strings (see {@link JsonText#numberUtf8}). */
    NUMBER((text, out) -> JsonText.appendNumber(out, text), JsonText::numberUtf8),
    BOOL((text, out) -> out.append(JsonText.boolJson(text.charAt(0))), text -> JsonText.boolUtf8(text[0])),
    TIMESTAMP((text, out) -> DateTimes.appendTimestamp(text, false, out), text -> DateTimes.timestampUtf8(text, false)),
    TIMESTAMPTZ((text, out) -> DateTimes.appendTimestamp(text, true, out), text -> DateTimes.timestampUtf8(text, true));

    private final BiConsumer<String, StringBuilder> text;
    private final UnaryOperator<byte[]> utf8;

    ScalarWriter(BiConsumer<String, StringBuilder> text, UnaryOperator<byte[]> utf8) {
        this.text = text;
        this.utf8 = utf8;
    }

    @Override
    public void write(String text, StringBuilder out) {
        this.text.accept(text, out);
    }

    @Override
    public byte[] writeUtf8(byte[] text) {
        return utf8.apply(text);
    }
}
