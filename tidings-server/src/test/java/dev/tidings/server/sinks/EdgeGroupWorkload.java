package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.testing.Await;
import dev.tidings.testing.Streams;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static dev.tidings.server.sinks.EdgeGroupsClient.JSON;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The work of the edge consumer group tests, over JetStream or Kafka: changes to {@code items}
 * (and {@code other}, which the group skips) in transactions of 200; four workers, two per edge,
 * receive, nack one in fifty with a delay and acknowledge the rest; one worker dies holding a batch;
 * once a third is acknowledged a worker of edge 0 holds a batch while edge 0 is killed with SIGKILL,
 * and the workers of edge 0 go to edge 1, sending there the acks and nacks the dead edge could not
 * take. What happened is left in the fields, for the test to judge by its broker's semantics.
 */
final class EdgeGroupWorkload {
    /** Acknowledged (not refused), by row: how many times. */
    final Map<Integer, Integer> acked = new ConcurrentHashMap<>();
    final Map<Integer, Integer> received = new ConcurrentHashMap<>();
    final Set<Integer> nacked = ConcurrentHashMap.newKeySet();
    /** What the dead worker held. */
    final Set<Integer> abandoned = ConcurrentHashMap.newKeySet();
    /** Rows whose ack was sent again to edge 1 after edge 0 died under it. */
    final Set<Integer> sentAgain = ConcurrentHashMap.newKeySet();
    /** Rows whose ack an edge refused. */
    final Set<Integer> refused = ConcurrentHashMap.newKeySet();
    final Set<String> wrongTable = ConcurrentHashMap.newKeySet();
    /** The most events one receive of at most 100 answered. */
    final AtomicInteger largestReceive = new AtomicInteger();
    final AtomicInteger redeliveries = new AtomicInteger();
    /** From the kill to the end. */
    double seconds;

    static EdgeGroupWorkload run(Streams db, EdgeGroupsClient api, ServeProcess edge0, String group, int changes)
            throws Exception {
        EdgeGroupWorkload w = new EdgeGroupWorkload();
        Thread load = Thread.ofPlatform().start(() -> {
            for (int from = 1; from <= changes; from += 200) {
                db.sql("INSERT INTO items SELECT g FROM generate_series(" + from + ", " + (from + 199) + ") g",
                        "INSERT INTO other VALUES (" + from + ")");
                LockSupport.parkNanos(50_000_000);
            }
        });
        AtomicBoolean hold = new AtomicBoolean();
        AtomicInteger holding = new AtomicInteger();
        CountDownLatch killed = new CountDownLatch(1);
        ExecutorService workers = Executors.newFixedThreadPool(4);
        List<Future<?>> running = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(400).toNanos();
        for (int n = 0; n < 4; n++) {
            int worker = n;
            running.add(workers.submit(() -> {
                w.work(api, group, changes, worker, deadline, hold, holding, killed);
                return null;
            }));
        }
        Await.until(Duration.ofSeconds(120), "a third of the changes acknowledged", () -> w.acked.size() >= changes / 3);
        hold.set(true);
        Await.until(Duration.ofSeconds(60), "a worker of edge 0 to hold a batch", () -> holding.get() > 0);
        edge0.kill();
        killed.countDown();
        long start = System.nanoTime();
        for (Future<?> f : running) {
            f.get(420, TimeUnit.SECONDS);
        }
        workers.shutdown();
        load.join();
        w.seconds = (System.nanoTime() - start) / 1e9;
        return w;
    }

    /**
     * What holds on every broker: only the group's table, every change acknowledged, the dead
     * worker's batch and the nacked events delivered again, with {@code delivery} counting up.
     */
    void assertEveryChangeAcknowledged(int changes) {
        assertThat(wrongTable).as("only the group's table").isEmpty();
        assertThat(largestReceive.get()).as("no receive answers more than the max it asked for").isBetween(1, 100);
        assertThat(acked).as("every change acknowledged").hasSize(changes);
        assertThat(abandoned).as("the dead worker had a batch").isNotEmpty();
        assertThat(received.keySet()).as("its events came back after the visibility timeout").containsAll(abandoned);
        assertThat(nacked).as("some were nacked").isNotEmpty();
        assertThat(received.keySet()).containsAll(nacked);
        assertThat(redeliveries.get()).as("redeliveries counted by \"delivery\"").isGreaterThanOrEqualTo(nacked.size());
    }

    private void work(EdgeGroupsClient api, String group, int changes, int worker, long deadline, AtomicBoolean hold,
                      AtomicInteger holding, CountDownLatch killed) throws Exception {
        Random random = new Random(worker);
        int node = worker % 2;
        int batches = 0;
        String path = "/api/consumers/" + group;
        while (acked.size() < changes && System.nanoTime() < deadline) {
            JsonNode events;
            try {
                events = api.receive(node, group, 100, "1s");
                largestReceive.accumulateAndGet(events.size(), Math::max);
            } catch (IOException e) {
                node = 1; // the edge is gone: go to the other
                continue;
            }
            if (worker == 3 && ++batches >= 10 && !events.isEmpty()) {
                events.forEach(e -> abandoned.add(e.path("event").path("record").path("id").asInt()));
                return; // dies holding a batch: its events come back after the visibility timeout
            }
            if (node == 0 && hold.get() && !events.isEmpty() && killed.getCount() > 0) {
                holding.incrementAndGet();
                killed.await();
            }
            Map<String, Integer> ack = new HashMap<>();
            List<String> nack = new ArrayList<>();
            for (JsonNode e : events) {
                if (!e.path("event").path("table").asText().equals("items")) {
                    wrongTable.add(e.toString());
                    continue;
                }
                int row = e.path("event").path("record").path("id").asInt();
                received.merge(row, 1, Integer::sum);
                if (e.path("delivery").asInt() > 1) {
                    redeliveries.incrementAndGet();
                }
                if (random.nextInt(50) == 0) {
                    nacked.add(row);
                    nack.add(e.path("ack_id").asText());
                } else {
                    ack.put(e.path("ack_id").asText(), row);
                }
            }
            boolean fromDeadEdge = false; // received from the edge that was killed since
            if (!nack.isEmpty()) {
                String body = JSON.writeValueAsString(Map.of("ids", nack, "delay", "50ms"));
                try {
                    api.post(node, path + "/nack", body);
                } catch (IOException e) {
                    node = 1;
                    fromDeadEdge = true;
                    api.post(node, path + "/nack", body);
                }
            }
            if (!ack.isEmpty()) {
                String body = JSON.writeValueAsString(Map.of("ids", ack.keySet()));
                HttpResponse<String> answer;
                try {
                    answer = api.post(node, path + "/ack", body);
                } catch (IOException e) {
                    node = 1;
                    fromDeadEdge = true;
                    answer = api.post(node, path + "/ack", body);
                }
                if (fromDeadEdge) {
                    sentAgain.addAll(ack.values());
                }
                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
                Set<String> no = new HashSet<>();
                JSON.readTree(answer.body()).path("refused").forEach(id -> no.add(id.asText()));
                ack.forEach((id, row) -> {
                    if (no.contains(id)) {
                        refused.add(row);
                    } else {
                        acked.merge(row, 1, Integer::sum);
                    }
                });
            }
        }
    }
}
