package dev.tidings.value;

/**
 * A catalog lookup (a type in {@code pg_type}, a table's primary key) could not be made: the
 * database refused the connection, had too many clients, or the query failed. Unlike an
 * {@link UnknownTypeException} this says nothing about the type, so nothing may be guessed from
 * it: the stream stops where it is and is started again, from the last confirmed transaction,
 * once the database answers.
 */
public final class CatalogLookupException extends RuntimeException {
    public CatalogLookupException(String message, Throwable cause) {
        super(message, cause);
    }
}
