package dev.tidings.value;

/**
 * Resolves type OIDs to {@link PgType}s. Built-in types are known without a database; others are
 * looked up once in {@code pg_type} and cached. Thread-safe.
 */
public interface TypeRegistry {

    /**
     * The type with this OID; never null — an OID the database does not know is reported as a
     * {@link UnknownTypeException}, a lookup that could not be made as a {@link CatalogLookupException}.
     */
    PgType type(int oid) throws UnknownTypeException;

    /** Forgets what is cached about a type (after a Type message says it may have changed). */
    void invalidate(int oid);

    /**
     * Forgets every type looked up so far: a value did not fit the cached shape of its type (a
     * composite altered with ALTER TYPE sends no Type message to say so).
     */
    default void invalidateAll() {}
}
