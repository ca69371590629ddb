package dev.tidings.server.config;

import java.util.List;

/**
 * Where an edge reads: {@code nats://host[:port][,host[:port]…]/STREAM} or
 * {@code kafka://host:port[,host:port…]/TOPIC}.
 *
 * @param broker  {@code nats} or {@code kafka}
 * @param servers NATS server URLs, or Kafka bootstrap servers as host:port
 * @param stream  the JetStream stream the leader's NATS sink publishes to, or the Kafka topic its Kafka sink writes
 */
public record EdgeSource(String broker, List<String> servers, String stream) {
    /** Parses the URL; fails with what one looks like. */
    public static EdgeSource parse(String url) {
        String scheme = url.startsWith("kafka://") ? "kafka" : "nats";
        String prefix = scheme + "://";
        int slash = url.indexOf('/', prefix.length());
        if (!url.startsWith(prefix) || slash < 0 || slash == url.length() - 1 || slash == prefix.length()) {
            throw new IllegalArgumentException("'" + url + "' is not an edge source; use nats://host[:port][,host2[:port]…]/STREAM, "
                    + "a JetStream stream the leader's NATS sink publishes to, or kafka://host:port[,host2:port]/TOPIC, "
                    + "the one-partition topic the leader's Kafka sink writes to");
        }
        List<String> hosts = List.of(url.substring(prefix.length(), slash).split(","));
        String stream = url.substring(slash + 1);
        if (scheme.equals("kafka")) {
            return new EdgeSource(scheme, hosts.stream().map(h -> h.contains(":") ? h : h + ":9092").toList(), stream);
        }
        return new EdgeSource(scheme, hosts.stream().map(h -> "nats://" + (h.contains(":") ? h : h + ":4222")).toList(), stream);
    }

    @Override
    public String toString() {
        return broker + "://" + String.join(",", servers.stream().map(s -> s.replace("nats://", "")).toList()) + "/" + stream;
    }
}
