package dev.tidings.pgoutput;

import java.util.List;

/**
 * The column values of one row as pgoutput sends them, in the column order of the relation.
 * Text values are the output of the column type's output function in the walsender's session
 * (whose DateStyle, TimeZone, IntervalStyle and extra_float_digits the source pins).
 */
public record TupleData(List<Datum> values) {

    public int size() {
        return values.size();
    }

    public Datum get(int column) {
        return values.get(column);
    }

    /** One column value: null, an unchanged TOASTed value that was not sent, text, or binary. */
    public sealed interface Datum {
        Datum NULL = new Null();
        Datum UNCHANGED_TOAST = new UnchangedToast();
    }

    /** 'n' */
    public record Null() implements Datum {}

    /** 'u': the value is stored out of line, did not change, and was not sent. */
    public record UnchangedToast() implements Datum {}

    /** 't': the value in the type's text output format. */
    public record Text(String value) implements Datum {}

    /** 'b': the value in the type's binary send format (only when the {@code binary} option is on). */
    public record Binary(byte[] value) implements Datum {}
}
