package dev.tidings.testing;

/**
 * The OIDs of the built-in types the tests use, by name. They are fixed at PostgreSQL build time;
 * {@code ValueTextParsingTest} checks each against the built-in type table by its name
 * ({@code INT4_ARRAY} is {@code _int4}).
 */
public final class TypeOids {
    public static final int BOOL = 16;
    public static final int INT8 = 20;
    public static final int INT2 = 21;
    public static final int INT2VECTOR = 22;
    public static final int INT4 = 23;
    public static final int TEXT = 25;
    public static final int OID = 26;
    public static final int OIDVECTOR = 30;
    public static final int JSON = 114;
    public static final int FLOAT4 = 700;
    public static final int FLOAT8 = 701;
    public static final int MONEY = 790;
    public static final int INT4_ARRAY = 1007;
    public static final int TEXT_ARRAY = 1009;
    public static final int BOX_ARRAY = 1020;
    public static final int DATE = 1082;
    public static final int TIME = 1083;
    public static final int TIMESTAMP = 1114;
    public static final int TIMESTAMP_ARRAY = 1115;
    public static final int TIMESTAMPTZ = 1184;
    public static final int TIMETZ = 1266;
    public static final int NUMERIC = 1700;
    public static final int UUID = 2950;
    public static final int JSONB = 3802;
    public static final int INT4RANGE = 3904;
    public static final int INT4MULTIRANGE = 4451;

    private TypeOids() {}
}
