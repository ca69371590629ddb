package dev.tidings.source;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Where the database is and how to log in, parsed from the URL forms users already have:
 * {@code postgresql://user:pass@host:port/db?sslmode=require} (also {@code postgres://}, as libpq
 * and most platforms print it) or the JDBC form {@code jdbc:postgresql://host/db?user=…}.
 * Query parameters are handed to pgjdbc, which honours {@code sslmode}, {@code sslrootcert} and
 * the rest; libpq's {@code sslmode=require} means "encrypt, do not verify" in both.
 *
 * <p>Connections opened here pin the session settings that shape the text of values, so the text
 * pgoutput sends and the catalog queries Tidings runs read the same on every server:
 * {@link #PINNED_SETTINGS}.
 */
public record DatabaseUrl(String host, int port, String database, Map<String, String> parameters) {

    /**
     * Session settings for every connection. DateStyle ISO and IntervalStyle postgres are the
     * forms the value converter parses; TimeZone UTC makes timestamptz print with +00; three extra
     * float digits make floats exact on servers before 12 (12+ print shortest-exact for any value above 0);
     * lc_monetary C makes money print as {@code $1,234.50} whatever locale the database or role defaults to.
     */
    public static final String PINNED_SETTINGS = "-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=postgres"
            + " -c extra_float_digits=3 -c bytea_output=hex -c lc_monetary=C";

    public DatabaseUrl {
        parameters = Map.copyOf(parameters);
    }

    public static DatabaseUrl parse(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("no database URL given; pass one like postgresql://user:password@localhost:5432/mydb");
        }
        String rest;
        if (url.startsWith("jdbc:postgresql:")) {
            rest = url.substring("jdbc:".length());
        } else if (url.startsWith("postgresql:") || url.startsWith("postgres:")) {
            rest = url;
        } else {
            throw new IllegalArgumentException("not a PostgreSQL URL: '" + redact(url)
                    + "'; use postgresql://user:password@host:5432/db or jdbc:postgresql://host:5432/db?user=…");
        }
        URI uri;
        try {
            uri = new URI(rest);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("malformed database URL '" + redact(url) + "': " + e.getReason()
                    + " (percent-encode special characters in the password, e.g. @ as %40)");
        }
        Map<String, String> params = new LinkedHashMap<>();
        String userInfo = uri.getRawUserInfo();
        if (userInfo != null) {
            int colon = userInfo.indexOf(':');
            params.put("user", decode(colon < 0 ? userInfo : userInfo.substring(0, colon)));
            if (colon >= 0) {
                params.put("password", decode(userInfo.substring(colon + 1)));
            }
        }
        String query = uri.getRawQuery();
        if (query != null) {
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String key = decode(eq < 0 ? pair : pair.substring(0, eq));
                String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
                params.put(key, value);
            }
        }
        String host = uri.getHost() == null ? "localhost" : uri.getHost();
        int port = uri.getPort() < 0 ? 5432 : uri.getPort();
        String path = uri.getPath() == null ? "" : uri.getPath();
        String database = path.startsWith("/") ? path.substring(1) : path;
        if (database.isEmpty()) {
            database = params.getOrDefault("user", "postgres");
        }
        return new DatabaseUrl(host, port, database, params);
    }

    public String user() {
        return parameters.getOrDefault("user", System.getProperty("user.name"));
    }

    public String jdbcUrl() {
        String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        return "jdbc:postgresql://" + h + ":" + port + "/" + database;
    }

    /** pgjdbc properties for an ordinary connection: opening one gives up after 30 s unless the URL says otherwise. */
    public Properties properties() {
        Properties p = new Properties();
        parameters.forEach(p::setProperty);
        p.putIfAbsent("user", user());
        // Settings that shape value text win over the user's own options, which are kept.
        String userOptions = parameters.get("options");
        p.setProperty("options", userOptions == null || userOptions.isBlank() ? PINNED_SETTINGS
                : userOptions + " " + PINNED_SETTINGS);
        p.putIfAbsent("ApplicationName", "tidings");
        // opening a connection into a network that swallows packets must fail and be retried, not hang
        p.putIfAbsent("loginTimeout", "30");
        return p;
    }

    /** pgjdbc properties for a logical replication connection to this database, with TCP keepalive. */
    public Properties replicationProperties() {
        Properties p = properties();
        p.putIfAbsent("tcpKeepAlive", "true");
        p.setProperty("replication", "database");
        p.setProperty("preferQueryMode", "simple");
        p.setProperty("assumeMinServerVersion", "10");
        return p;
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl(), properties());
    }

    /** The URL as it is safe to log: no password. */
    @Override
    public String toString() {
        return "postgresql://" + user() + "@" + host + ":" + port + "/" + database;
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String redact(String url) {
        return url.replaceAll("(//[^:/@]*:)[^@]*@", "$1***@");
    }
}
