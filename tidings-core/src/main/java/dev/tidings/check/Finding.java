package dev.tidings.check;

import java.util.List;

/**
 * One result of {@link DatabaseCheck}: what was looked at, what was found, and how to fix it.
 *
 * @param severity how bad it is for change data capture
 * @param subject  what was checked, short: {@code wal_level}, {@code table public."Odd Table"}
 * @param message  what is wrong and why it matters (or, for {@code OK}, what was found)
 * @param fix      SQL or a concrete instruction that fixes it; empty when nothing needs doing
 */
public record Finding(Severity severity, String subject, String message, String fix) {

    public enum Severity {
        /** Fine, or worth knowing. */
        OK,
        /** Change data capture works, but something will bite: failing writes, growing WAL, no old values. */
        WARN,
        /** Change data capture cannot start or cannot be trusted until this is fixed. */
        ERROR
    }

    public Finding {
        fix = fix == null ? "" : fix;
    }

    static Finding ok(String subject, String message) {
        return new Finding(Severity.OK, subject, message, "");
    }

    static Finding warn(String subject, String message, String fix) {
        return new Finding(Severity.WARN, subject, message, fix);
    }

    static Finding error(String subject, String message, String fix) {
        return new Finding(Severity.ERROR, subject, message, fix);
    }

    /** The most severe finding's severity, {@code OK} for an empty list. */
    public static Severity worst(List<Finding> findings) {
        Severity worst = Severity.OK;
        for (Finding f : findings) {
            if (f.severity.compareTo(worst) > 0) {
                worst = f.severity;
            }
        }
        return worst;
    }
}
