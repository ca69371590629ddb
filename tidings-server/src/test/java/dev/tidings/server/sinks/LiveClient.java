package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Realtime WebSocket client (vsn 1.0.0, the legacy {@code realtime:*} topic: every change) that
 * keeps the change events it receives and how the server closed the connection.
 */
final class LiveClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    final List<JsonNode> changes = new CopyOnWriteArrayList<>();
    final CompletableFuture<Integer> closeStatus = new CompletableFuture<>();
    final CompletableFuture<Void> joined = new CompletableFuture<>();
    private final WebSocket socket;

    LiveClient(String url) {
        StringBuilder partial = new StringBuilder();
        socket = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
                .buildAsync(URI.create(url), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                        partial.append(data);
                        if (last) {
                            try {
                                JsonNode m = JSON.readTree(partial.toString());
                                String event = m.path("event").asText();
                                if (event.equals("phx_reply")) {
                                    joined.complete(null);
                                } else if (event.equals("INSERT") || event.equals("UPDATE") || event.equals("DELETE")) {
                                    changes.add(m.get("payload"));
                                }
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                            partial.setLength(0);
                        }
                        ws.request(1);
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
                        closeStatus.complete(status);
                        return null;
                    }

                    @Override
                    public void onError(WebSocket ws, Throwable error) {
                        closeStatus.complete(-1);
                    }
                }).join();
        socket.sendText("{\"topic\":\"realtime:*\",\"event\":\"phx_join\",\"payload\":{},\"ref\":\"1\"}", true).join();
        joined.orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).join();
    }

    /** The {@code n} of every row received for {@code table}, in arrival order. */
    List<Integer> rows(String table) {
        return changes.stream().filter(c -> c.path("table").asText().equals(table))
                .map(c -> c.path("record").path("n").asInt()).toList();
    }

    @Override
    public void close() {
        socket.abort();
    }
}
