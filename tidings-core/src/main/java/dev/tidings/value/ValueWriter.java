package dev.tidings.value;

/**
 * Writes the JSON for one value of one type, given the type's text output. The converter resolves
 * one writer per type OID (arrays and composites hold the writers of their elements and fields) and
 * caches it, so converting a value costs a parse of its text and nothing else.
 */
@FunctionalInterface
interface ValueWriter {

    void write(String text, StringBuilder out);

    /** enum, range, interval, uuid, inet, bytea, time, date and every other type: the text as a JSON string. */
    ValueWriter STRING = (text, out) -> JsonText.appendString(out, text);

    /** int2/4/8, float4/8, numeric: a JSON number, but NaN and ±Infinity (which contain an 'n') as strings. */
    ValueWriter NUMBER = (text, out) -> {
        if (text.indexOf('n') >= 0 || text.indexOf('N') >= 0) {
            JsonText.appendString(out, text);
        } else {
            JsonText.appendNumber(out, text);
        }
    };

    ValueWriter BOOL = (text, out) -> out.append(text.charAt(0) == 't' ? "true" : "false");

    /** json: parsed into jsonb, so keys are sorted and de-duplicated and numbers rewritten. */
    ValueWriter JSON = (text, out) -> new JsonNormalizer(text, out).run();

    /** jsonb: its output is already canonical; only the blanks after ':' and ',' go. */
    ValueWriter JSONB = JsonNormalizer::compact;

    ValueWriter TIMESTAMP = (text, out) -> DateTimes.appendTimestamp(text, false, out);

    ValueWriter TIMESTAMPTZ = (text, out) -> DateTimes.appendTimestamp(text, true, out);
}
