package dev.tidings.value;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Turns the text output of a PostgreSQL value into JSON text equal to what {@code to_jsonb()}
 * gives for the same value (session TimeZone UTC). Thread-safe.
 *
 * <p>The rules are those of {@code datum_to_jsonb} (PostgreSQL's json_categorize_type): after looking
 * through domains, int2/int4/int8/float4/float8/numeric become numbers (NaN and ±Infinity strings),
 * bool true/false, json and jsonb embedded JSON, timestamp and timestamptz ISO 8601 strings, arrays
 * JSON arrays (bounds ignored), composites objects, a non-built-in type with a cast to json whatever
 * that cast gives, and every other type — oid, money, date, time, interval, enum, range, … — its
 * text output as a JSON string. The input is the text under the session settings the replication
 * connection pins (DateStyle ISO, IntervalStyle postgres, extra_float_digits 3, bytea_output hex).
 *
 * <p>Each type OID is resolved once into a {@link ValueWriter}, which holds the writers of its
 * elements or fields, so converting a value is one array or hash lookup and a single pass over its
 * text. Writers of system OIDs (below 16384) never change; those of user types are dropped when a
 * {@link PgTypeRegistry} is told to invalidate any type, since a composite depends on its fields.
 *
 * <p>Output is compact (no blanks); objects have jsonb's key order. Malformed text, which
 * PostgreSQL never sends, raises an {@link IllegalArgumentException}.
 */
public final class JsonValueConverter {
    private static final Logger log = LoggerFactory.getLogger(JsonValueConverter.class);
    private static final int FIRST_NORMAL_OID = 16384;

    private static final int BOOL = 16, INT8 = 20, INT2 = 21, INT4 = 23, JSON = 114, FLOAT4 = 700, FLOAT8 = 701,
            TIMESTAMP = 1114, TIMESTAMPTZ = 1184, NUMERIC = 1700, JSONB = 3802;

    private final TypeRegistry registry;
    private final AtomicReferenceArray<ValueWriter> systemWriters = new AtomicReferenceArray<>(FIRST_NORMAL_OID);
    private final ConcurrentHashMap<Integer, ValueWriter> userWriters = new ConcurrentHashMap<>();

    public JsonValueConverter(TypeRegistry registry) {
        this.registry = registry;
        if (registry instanceof PgTypeRegistry pg) {
            pg.addInvalidationListener(oid -> userWriters.clear());
        }
    }

    /** JSON text for the value of type {@code typeOid} whose text output is {@code text} (never SQL NULL). */
    public String toJson(int typeOid, String text) throws UnknownTypeException {
        StringBuilder out = new StringBuilder(text.length() + 16);
        appendJson(typeOid, text, out);
        return out.toString();
    }

    /** Like {@link #toJson} but appends to {@code out}, for callers assembling a larger document. */
    public void appendJson(int typeOid, String text, StringBuilder out) throws UnknownTypeException {
        writer(typeOid).write(text, out);
    }

    /**
     * {@link #toJson} on UTF-8: the JSON, as UTF-8, of the value whose text output is the UTF-8
     * {@code text}. The scalar types are converted on the bytes; the others through their String
     * path (see {@link ValueWriter}). The result may be {@code text} itself (a plain number), or
     * an array shared between calls (true, false): the caller must not change it.
     */
    public byte[] toJsonUtf8(int typeOid, byte[] text) throws UnknownTypeException {
        return writer(typeOid).writeUtf8(text);
    }

    /** {@link #jsonString} on UTF-8 bytes. */
    public static byte[] jsonStringUtf8(byte[] text) {
        return JsonText.stringUtf8(text);
    }

    /**
     * The value as a JSON string of its text, escaped as PostgreSQL escapes: what to_jsonb gives for
     * any type without a rule of its own, and so the fallback for a type that cannot be resolved.
     */
    public static String jsonString(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2);
        JsonText.appendString(out, text);
        return out.toString();
    }

    ValueWriter writer(int oid) throws UnknownTypeException {
        boolean system = oid >= 0 && oid < FIRST_NORMAL_OID;
        ValueWriter w = system ? systemWriters.get(oid) : userWriters.get(oid);
        if (w != null) {
            return w;
        }
        w = build(registry.type(oid));
        if (system) {
            systemWriters.set(oid, w);
        } else {
            userWriters.put(oid, w);
        }
        return w;
    }

    private ValueWriter build(PgType type) throws UnknownTypeException {
        return switch (type.kind()) {
            case DOMAIN -> writer(type.elementOid());
            case ARRAY -> new ArrayWriter(writer(type.elementOid()), registry.type(type.elementOid()).delimiter());
            case COMPOSITE -> composite(type);
            case BASE -> base(type);
            case ENUM, RANGE, MULTIRANGE, PSEUDO -> ScalarWriter.STRING;
        };
    }

    private ValueWriter composite(PgType type) throws UnknownTypeException {
        List<PgType.Field> fields = type.fields();
        String[] names = new String[fields.size()];
        ValueWriter[] writers = new ValueWriter[fields.size()];
        for (int i = 0; i < names.length; i++) {
            names[i] = fields.get(i).name();
            writers[i] = writer(fields.get(i).typeOid());
        }
        return new CompositeWriter(type.displayName(), names, writers);
    }

    private ValueWriter base(PgType type) throws UnknownTypeException {
        switch (type.oid()) {
            case BOOL:
                return ScalarWriter.BOOL;
            case INT2, INT4, INT8, FLOAT4, FLOAT8, NUMERIC:
                return ScalarWriter.NUMBER;
            case JSON:
                return ValueWriter.JSON;
            case JSONB:
                return ValueWriter.JSONB;
            case TIMESTAMP:
                return ScalarWriter.TIMESTAMP;
            case TIMESTAMPTZ:
                return ScalarWriter.TIMESTAMPTZ;
            default:
                break;
        }
        if (registry instanceof PgTypeRegistry pg && type.oid() >= FIRST_NORMAL_OID) {
            String cast = pg.jsonCastFunction(type.oid());
            if (cast != null) {
                if (cast.startsWith("hstore_to_json")) {
                    return HstoreWriter.INSTANCE;
                }
                log.warn("type {} has a cast to json ({}) that to_jsonb would use; Tidings cannot run it and"
                        + " sends the value's text as a JSON string instead", type.displayName(), cast);
            }
        }
        return ScalarWriter.STRING;
    }
}
