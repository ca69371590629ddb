package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.testing.Streams;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A leader and two edge nodes, each a JVM of its own, and {@code /api/consumers} of the edges over
 * HTTP, for the edge consumer group tests: node {@code i} is edge {@code i}.
 */
final class EdgeGroupsClient implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    private final List<ServeProcess> processes = new ArrayList<>();
    private final ServeProcess[] edges = new ServeProcess[2];

    private EdgeGroupsClient() {}

    /**
     * Makes tables {@code items} and {@code other} in {@code db}, published, and starts a leader
     * streaming them into {@code sink} (a sink's JSON) and two edges reading {@code from}; returns once all are ready.
     */
    static EdgeGroupsClient start(Path dir, Streams db, String sink, String from) throws Exception {
        db.sql("CREATE TABLE items (id int PRIMARY KEY)", "CREATE TABLE other (id int PRIMARY KEY)",
                "CREATE PUBLICATION tidings FOR ALL TABLES");
        Path leaderYaml = dir.resolve("leader.yaml");
        Files.writeString(leaderYaml, """
                {"db": {"url": "%s"},
                 "replication": {"slot": "%s", "publication": "tidings"},
                 "sinks": [%s]}""".formatted(db.jdbcUrl, db.slot, sink));
        Path edgeYaml = dir.resolve("edge.yaml");
        Files.writeString(edgeYaml, "{}");
        EdgeGroupsClient api = new EdgeGroupsClient();
        try {
            ServeProcess leader = new ServeProcess(leaderYaml, ServeProcess.freePort(), dir.resolve("leader.log"), Map.of());
            api.processes.add(leader);
            for (int i = 0; i < 2; i++) {
                api.edges[i] = new ServeProcess(edgeYaml, ServeProcess.freePort(), dir.resolve("edge-" + i + ".log"), Map.of(),
                        "--from", from);
                api.processes.add(api.edges[i]);
            }
            for (ServeProcess p : api.processes) {
                p.awaitReady(Duration.ofSeconds(90));
            }
            return api;
        } catch (Exception e) {
            api.close();
            throw e;
        }
    }

    ServeProcess edge(int node) {
        return edges[node];
    }

    @Override
    public void close() {
        processes.forEach(ServeProcess::close);
    }

    /**
     * Creates group {@code api} of table {@code other} on edge 0, from {@code start} ({@code latest}
     * or {@code oldest}), and checks the other edge sees it:
     * the same definition there is 200, another 409; a durable group is refused with what to do.
     */
    void createGroupApiOnEdge0(String start) throws IOException, InterruptedException {
        assertThat(post(0, "/api/consumers", "{\"name\":\"api\",\"tables\":[\"public.other\"],\"start\":\"" + start + "\"}")
                .statusCode()).isEqualTo(201);
        assertThat(post(1, "/api/consumers", "{\"name\":\"api\",\"tables\":[\"public.other\"]}").statusCode())
                .as("the same definition on the other edge: it exists there too").isEqualTo(200);
        refused(1, "/api/consumers", "{\"name\":\"api\"}", 409, "exists with another definition");
        refused(0, "/api/consumers", "{\"name\":\"d\",\"durable\":true}", 400, "create durable groups on the leader");
    }

    /** Posts {@code body} to {@code path} and checks the answer is {@code status} with {@code says} in it. */
    void refused(int node, String path, String body, int status, String says) throws IOException, InterruptedException {
        HttpResponse<String> r = post(node, path, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.body()).contains(says);
    }

    /** Receives until {@code count} events came. */
    JsonNode collect(int node, String group, int count) throws Exception {
        var all = JSON.createArrayNode();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (all.size() < count && System.nanoTime() < deadline) {
            receive(node, group, count - all.size(), "2s").forEach(all::add);
        }
        assertThat(all).as("events received").hasSize(count);
        return all;
    }

    JsonNode receive(int node, String group, int max, String wait) throws IOException, InterruptedException {
        HttpResponse<String> r = post(node, "/api/consumers/" + group + "/receive?max=" + max + "&wait=" + wait, "");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).path("events");
    }

    HttpResponse<String> post(int node, String path, String body) throws IOException, InterruptedException {
        return send(node, "POST", path, body);
    }

    HttpResponse<String> send(int node, String method, String path, String body) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(edges[node].url(path))).timeout(Duration.ofSeconds(70))
                .method(method, HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
