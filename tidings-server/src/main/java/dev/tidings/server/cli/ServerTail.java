package dev.tidings.server.cli;

import dev.tidings.server.log.EventId;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * {@code tidings tail --server URL [--from ID]}: the events of a running {@code tidings serve}, read
 * from its SSE endpoint. With {@code --from}, the server replays its change log after that id, then
 * follows live; after a dropped connection this reconnects with the last id it printed
 * ({@code Last-Event-ID}), so nothing is missed or printed twice. A {@code reset} (the id is older
 * than the server's retention, or the server keeps no log) ends it with what to do. Each event is one
 * JSON line on stdout, flushed when it was written.
 */
final class ServerTail {
    private static final Duration RETRY = Duration.ofSeconds(1);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI events;
    private final String token;
    private final OutputStream out;
    private String lastId;

    ServerTail(String server, String from, String format, List<String> tables, String token, OutputStream out) {
        if (from != null) {
            EventId.parse(from);
        }
        String base = server.endsWith("/") ? server.substring(0, server.length() - 1) : server;
        if (!base.startsWith("http://") && !base.startsWith("https://")) {
            throw new IllegalArgumentException("--server " + server + " is not an http(s) URL; give the address of "
                    + "tidings serve, e.g. http://localhost:4000");
        }
        String query = "format=" + URLEncoder.encode(format, StandardCharsets.UTF_8)
                + (tables.isEmpty() ? "" : "&tables=" + URLEncoder.encode(String.join(",", tables), StandardCharsets.UTF_8));
        this.events = URI.create(base + "/events?" + query);
        this.token = token;
        this.out = out;
        this.lastId = from;
    }

    /** Prints events until interrupted; throws when the server refuses or resets the stream. */
    void run() throws IOException, InterruptedException {
        while (true) {
            HttpRequest.Builder request = HttpRequest.newBuilder(events);
            if (lastId != null) {
                request.header("Last-Event-ID", lastId);
            }
            if (token != null) {
                request.header("Authorization", "Bearer " + token);
            }
            try {
                HttpResponse<InputStream> response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
                if (response.statusCode() != 200) {
                    String body;
                    try (InputStream in = response.body()) {
                        body = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
                    }
                    throw new IllegalArgumentException(events + " answered " + response.statusCode() + ": " + body);
                }
                try (InputStream in = response.body()) {
                    read(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)));
                }
            } catch (IOException e) {
                System.err.println("tidings: " + events + ": " + e.getMessage() + "; reconnecting"
                        + (lastId == null ? "" : " after " + lastId));
            }
            Thread.sleep(RETRY.toMillis());
        }
    }

    private void read(BufferedReader lines) throws IOException {
        String id = null;
        String event = null;
        String data = null;
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
            if (line.startsWith("id: ")) {
                id = line.substring(4);
            } else if (line.startsWith("event: ")) {
                event = line.substring(7);
            } else if (line.startsWith("data: ")) {
                data = line.substring(6);
            } else if (line.isEmpty() && event != null) {
                switch (event) {
                    case "reset" -> throw new IllegalArgumentException("the server cannot replay after " + lastId + ": " + data
                            + "; start again without --from (or with a newer id), or raise the server's log.retention");
                    case "error" -> System.err.println("tidings: the server ended the stream: " + data);
                    default -> {
                        out.write(data.getBytes(StandardCharsets.UTF_8));
                        out.write('\n');
                        out.flush();
                        if (id != null) {
                            lastId = id;
                        }
                    }
                }
                id = null;
                event = null;
                data = null;
            }
        }
    }
}
