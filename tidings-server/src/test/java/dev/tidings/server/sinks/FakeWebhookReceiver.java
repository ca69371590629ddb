package dev.tidings.server.sinks;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Function;

/** An HTTP receiver on 127.0.0.1 whose answer the test decides; it keeps the requests it accepted (2xx). */
final class FakeWebhookReceiver implements AutoCloseable {
    record Request(Map<String, String> headers, String body, long atNanos) {}

    /** The answer: status and extra headers. */
    record Answer(int status, Map<String, String> headers) {
        static final Answer OK = new Answer(204, Map.of());
    }

    final List<Request> accepted = new CopyOnWriteArrayList<>();
    final List<Request> all = new CopyOnWriteArrayList<>();
    private final HttpServer server;
    volatile Function<Request, Answer> answer = r -> Answer.OK;

    FakeWebhookReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext("/hook", this::handle);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
    }

    private void handle(HttpExchange exchange) throws IOException {
        byte[] body = exchange.getRequestBody().readAllBytes();
        Map<String, String> headers = new java.util.HashMap<>();
        exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), v.get(0)));
        Request r = new Request(headers, new String(body, StandardCharsets.UTF_8), System.nanoTime());
        all.add(r);
        Answer a = answer.apply(r);
        if (a.status() / 100 == 2) {
            accepted.add(r);
        }
        a.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
        exchange.sendResponseHeaders(a.status(), -1);
        exchange.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
