package dev.tidings.server.realtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A bare WebSocket client (the JDK's) for frames no published client would send, and for a
 * client that stops reading: with {@code reading=false} it asks for no message after the first
 * few, so the server's writes back up into the TCP buffers.
 */
final class RawSocket implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final LinkedBlockingQueue<String> messages = new LinkedBlockingQueue<>();
    final CompletableFuture<Integer> closed = new CompletableFuture<>();
    final LinkedBlockingQueue<String> pongs = new LinkedBlockingQueue<>();
    private final WebSocket socket;
    private final List<String> seen = new ArrayList<>();

    private RawSocket(String url, long demand) {
        StringBuilder partial = new StringBuilder();
        java.io.ByteArrayOutputStream binary = new java.io.ByteArrayOutputStream();
        this.socket = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5)).buildAsync(URI.create(url),
                new WebSocket.Listener() {
                    private long left = demand;

                    @Override
                    public void onOpen(WebSocket ws) {
                        ws.request(1);
                    }

                    @Override
                    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                        partial.append(data);
                        if (last) {
                            messages.add(partial.toString());
                            partial.setLength(0);
                        }
                        if (--left > 0) {
                            ws.request(1);
                        }
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onPong(WebSocket ws, java.nio.ByteBuffer message) {
                        pongs.add(java.nio.charset.StandardCharsets.UTF_8.decode(message).toString());
                        ws.request(1);
                        return null;
                    }

                    /** A binary message is queued as the JSON {@code {"binary": "<hex>"}}. */
                    @Override
                    public CompletionStage<?> onBinary(WebSocket ws, java.nio.ByteBuffer data, boolean last) {
                        byte[] bytes = new byte[data.remaining()];
                        data.get(bytes);
                        binary.writeBytes(bytes);
                        if (last) {
                            messages.add("{\"binary\":\"" + java.util.HexFormat.of().formatHex(binary.toByteArray()) + "\"}");
                            binary.reset();
                        }
                        if (--left > 0) {
                            ws.request(1);
                        }
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
                        closed.complete(status);
                        return null;
                    }

                    @Override
                    public void onError(WebSocket ws, Throwable error) {
                        closed.complete(-1);
                    }
                }).join();
    }

    /** Sends a WebSocket ping with {@code payload}. */
    void ping(String payload) {
        socket.sendPing(java.nio.ByteBuffer.wrap(payload.getBytes(java.nio.charset.StandardCharsets.UTF_8))).join();
    }

    static RawSocket open(String url) {
        return new RawSocket(url, Long.MAX_VALUE);
    }

    /** A client that reads {@code messages} messages and then never reads again. */
    static RawSocket openAndStopReadingAfter(String url, long messages) {
        return new RawSocket(url, messages);
    }

    /** The HTTP status of a refused upgrade, or 101 when it was accepted. */
    static int upgradeStatus(String url) {
        try {
            WebSocket ws = HTTP.newWebSocketBuilder().buildAsync(URI.create(url), new WebSocket.Listener() {}).join();
            ws.abort();
            return 101;
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof java.net.http.WebSocketHandshakeException h) {
                return h.getResponse().statusCode();
            }
            throw e;
        }
    }

    RawSocket send(String text) {
        socket.sendText(text, true).join();
        return this;
    }

    RawSocket sendBinary(byte[] bytes) {
        socket.sendBinary(java.nio.ByteBuffer.wrap(bytes), true).join();
        return this;
    }

    /** Sends, not minding that the server may close the connection midway. */
    void sendIgnoringFailure(String text) {
        try {
            socket.sendText(text, true).get(10, TimeUnit.SECONDS);
        } catch (Exception expected) {
            // the server closed first
        }
    }

    /** The next message whose JSON satisfies {@code wanted}; others are skipped. */
    JsonNode await(Predicate<JsonNode> wanted) throws Exception {
        List<JsonNode> upTo = until(wanted);
        return upTo.get(upTo.size() - 1);
    }

    /**
     * Every message up to and including the next one that satisfies {@code marker}. Send something
     * that must produce the marker after what must not arrive, then assert on what came before it.
     */
    List<JsonNode> until(Predicate<JsonNode> marker) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        List<JsonNode> out = new ArrayList<>();
        while (true) {
            String m = messages.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (m == null) {
                throw new AssertionError("no matching message within 15 s; the last ones: " + lastSeen());
            }
            seen.add(m);
            JsonNode node = JSON.readTree(m);
            out.add(node);
            if (marker.test(node)) {
                return out;
            }
        }
    }

    private List<String> lastSeen() {
        return seen.subList(Math.max(0, seen.size() - 3), seen.size()).stream()
                .map(m -> m.length() > 300 ? m.substring(0, 300) + "…" : m).toList();
    }

    /** The next vsn 1.0.0 message with this event. */
    JsonNode awaitEvent(String event) throws Exception {
        return await(n -> n.path("event").asText().equals(event));
    }

    /** The reply to the message with {@code ref}. */
    JsonNode awaitReply(String ref) throws Exception {
        return await(n -> n.path("event").asText().equals("phx_reply") && n.path("ref").asText().equals(ref));
    }

    static String join(String topic, String ref, String payload) {
        return "{\"topic\":\"" + topic + "\",\"event\":\"phx_join\",\"payload\":" + payload + ",\"ref\":\"" + ref
                + "\",\"join_ref\":\"" + ref + "\"}";
    }

    @Override
    public void close() {
        socket.abort();
    }
}
