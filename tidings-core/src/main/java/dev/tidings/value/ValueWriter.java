package dev.tidings.value;

import java.nio.charset.StandardCharsets;

/**
 * Writes the JSON for one value of one type, given the type's text output. The converter resolves
 * one writer per type OID (arrays and composites hold the writers of their elements and fields) and
 * caches it, so converting a value costs a parse of its text and nothing else.
 *
 * <p>Two entry points: text as a String ({@link #write}, the stream's values) and text as UTF-8
 * bytes ({@link #writeUtf8}, a backfill's query results). The bytes path goes through the String
 * path unless a writer overrides it: the {@link ScalarWriter}s, which are most of the values a
 * table holds, work on the bytes with the same rules.
 */
@FunctionalInterface
interface ValueWriter {

    void write(String text, StringBuilder out);

    /** The JSON, as UTF-8, of the value whose text output is the UTF-8 {@code text}. */
    default byte[] writeUtf8(byte[] text) {
        StringBuilder out = new StringBuilder(text.length + 16);
        write(new String(text, StandardCharsets.UTF_8), out);
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** json: parsed into jsonb, so keys are sorted and de-duplicated and numbers rewritten. */
    ValueWriter JSON = (text, out) -> new JsonNormalizer(text, out).run();

    /** jsonb: its output is already canonical; only the blanks after ':' and ',' go. */
    ValueWriter JSONB = JsonNormalizer::compact;
}
