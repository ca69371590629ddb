package dev.tidings.value;

/**
 * Turns the text output of a PostgreSQL value into JSON text equal to what {@code to_jsonb()}
 * gives for the same value (session TimeZone UTC). Placeholder; the implementation follows.
 */
public final class JsonValueConverter {
    private final TypeRegistry registry;

    public JsonValueConverter(TypeRegistry registry) {
        this.registry = registry;
    }

    /** JSON text for the value of type {@code typeOid} whose text output is {@code text} (never SQL NULL). */
    public String toJson(int typeOid, String text) throws UnknownTypeException {
        registry.type(typeOid);
        throw new UnsupportedOperationException("not implemented");
    }
}
