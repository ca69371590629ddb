package dev.tidings.source;

/**
 * A problem the user has to fix before changes can flow: the message names the problem and the
 * fix (the SQL to run, the setting to change). Never retried: retrying would not help.
 */
public final class SourceException extends RuntimeException {
    public SourceException(String message) {
        super(message);
    }

    public SourceException(String message, Throwable cause) {
        super(message, cause);
    }
}
