package dev.tidings.value;

/** A type OID that neither the built-in table nor the database's {@code pg_type} knows. */
public final class UnknownTypeException extends Exception {
    public UnknownTypeException(String message) {
        super(message);
    }

    public UnknownTypeException(String message, Throwable cause) {
        super(message, cause);
    }
}
