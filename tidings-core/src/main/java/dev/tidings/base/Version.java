package dev.tidings.base;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The version of Tidings, in one place: the Maven project version, filtered into
 * {@code version.properties} beside this class at build time. {@code tidings --version},
 * {@code /api/status} and the Debezium format's {@code source.version} all show it.
 */
public final class Version {
    /** For example {@code 0.1.0-SNAPSHOT}; {@code unknown} only if the resource is missing from the build. */
    public static final String CURRENT = read();

    private Version() {}

    private static String read() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
