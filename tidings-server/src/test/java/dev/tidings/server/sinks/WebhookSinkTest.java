package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.server.sinks.FakeWebhookReceiver.Answer;
import dev.tidings.testing.Await;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import dev.tidings.server.cli.Main;
import picocli.CommandLine;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The webhook sink against an HTTP receiver in the test: signing, retries, outage, dead letters and replay. */
@Tag("postgres")
class WebhookSinkTest {
    static final byte[] KEY = "a secret of 24 bytes!!!!".getBytes(StandardCharsets.UTF_8);
    static final String SECRET = "whsec_" + Base64.getEncoder().encodeToString(KEY);

    @TempDir
    Path dir;

    @Test
    void each_event_is_posted_signed_per_standard_webhooks_with_its_id() throws Exception {
        try (FakeWebhookReceiver receiver = new FakeWebhookReceiver();
             SinkHarness h = new SinkHarness("CREATE TABLE t (id int PRIMARY KEY, v text)")) {
            h.start(List.of(Map.of("name", "hook", "type", "webhook", "url", receiver.url(), "secret", SECRET)));
            h.db.sql("INSERT INTO t VALUES (1, 'a')", "UPDATE t SET v = 'b'", "DELETE FROM t");
            Await.until(Duration.ofSeconds(20), "3 requests", () -> receiver.accepted.size() == 3);
            List<String> ops = new ArrayList<>();
            for (FakeWebhookReceiver.Request r : receiver.accepted) {
                JsonNode event = Delivered.MAPPER.readTree(r.body());
                String id = r.headers().get("webhook-id");
                String ts = r.headers().get("webhook-timestamp");
                assertThat(id).isEqualTo(event.get("id").asText());
                assertThat(Math.abs(Long.parseLong(ts) - System.currentTimeMillis() / 1000)).isLessThan(60);
                assertThat(r.headers().get("webhook-signature")).isEqualTo("v1," + hmac(id + "." + ts + "." + r.body()));
                assertThat(r.headers().get("content-type")).isEqualTo("application/json");
                ops.add(event.get("op").asText());
            }
            assertThat(ops).containsExactly("insert", "update", "delete");
        }
    }

    @Test
    void a_429_is_retried_after_the_retry_after_the_receiver_asked_for() throws Exception {
        try (FakeWebhookReceiver receiver = new FakeWebhookReceiver();
             SinkHarness h = new SinkHarness("CREATE TABLE t (id int PRIMARY KEY)")) {
            AtomicBoolean throttled = new AtomicBoolean();
            receiver.answer = r -> throttled.compareAndSet(false, true) ? new Answer(429, Map.of("Retry-After", "1")) : Answer.OK;
            h.start(List.of(Map.of("name", "hook", "type", "webhook", "url", receiver.url(),
                    "retry", Map.of("initial_backoff", "1ms", "max_backoff", "5s"))));
            h.db.sql("INSERT INTO t VALUES (1)");
            Await.until(Duration.ofSeconds(20), "delivered after the 429", () -> receiver.accepted.size() == 1);
            long waited = receiver.all.get(1).atNanos() - receiver.all.get(0).atNanos();
            assertThat(Duration.ofNanos(waited)).isGreaterThanOrEqualTo(Duration.ofMillis(950));
            assertThat(receiver.all.get(1).headers().get("webhook-id")).isEqualTo(receiver.all.get(0).headers().get("webhook-id"));
            assertThat(h.delivery.metrics().get(0).retried()).isEqualTo(1);
        }
    }

    /**
     * The receiver answers 500 for a while under load ({@link SinkOutage}): nothing is lost, nothing
     * is confirmed past what was delivered, WAL reading pauses and resumes.
     */
    @Test
    void a_receiver_down_under_load_pauses_wal_reading_and_loses_nothing() throws Exception {
        try (FakeWebhookReceiver receiver = new FakeWebhookReceiver(); SinkHarness h = new SinkHarness()) {
            ChangeLoad load = new ChangeLoad(h.db.jdbcUrl, 2);
            h.start(List.of(Map.of("name", "hook", "type", "webhook", "url", receiver.url(), "batch", 200, "queue", 1000,
                    "retry", Map.of("initial_backoff", "50ms", "max_backoff", "1s"))));
            AtomicBoolean down = new AtomicBoolean();
            receiver.answer = r -> down.get() ? new Answer(500, Map.of()) : Answer.OK;
            SinkOutage.run(h, load, 40_000, new SinkOutage.Sink() {
                @Override
                public void down() {
                    down.set(true);
                }

                @Override
                public void up() {
                    assertThat(receiver.accepted).as("nothing accepted while the receiver is down").isEmpty();
                    down.set(false);
                }
            });
            Await.until(Duration.ofSeconds(60), "all events after the outage", () -> events(receiver) >= 40_000);
            Delivered d = new Delivered();
            List<Delivered.Message> messages = new ArrayList<>();
            for (FakeWebhookReceiver.Request r : receiver.accepted) {
                for (JsonNode e : Delivered.MAPPER.readTree(r.body())) {
                    messages.add(Delivered.parse(e.toString()));
                }
            }
            d.run(messages).verify(load.counts(), false);
            assertThat(h.delivery.metrics().get(0).retried()).isGreaterThan(0);
            BrokerSinksTest.awaitConfirmedPastEverything(h);
        }
    }

    @Test
    void a_rejected_event_goes_to_the_dead_letter_file_and_the_replay_command_delivers_it() throws Exception {
        Path deadLetters = dir.resolve("hook.dead.jsonl");
        try (FakeWebhookReceiver receiver = new FakeWebhookReceiver();
             SinkHarness h = new SinkHarness("CREATE TABLE t (id int PRIMARY KEY, note text)")) {
            receiver.answer = r -> r.body().contains("\"poison\"") ? new Answer(400, Map.of()) : Answer.OK;
            h.start(List.of(Map.of("name", "hook", "type", "webhook", "url", receiver.url(), "secret", SECRET,
                    "dead_letter_file", deadLetters.toString(),
                    "retry", Map.of("max_attempts", 3, "initial_backoff", "1ms", "give_up", "dead_letter"))));
            h.db.sql("INSERT INTO t VALUES (1, 'fine')", "INSERT INTO t VALUES (2, 'poison')", "INSERT INTO t VALUES (3, 'fine')");
            Await.until(Duration.ofSeconds(20), "the two good events", () -> receiver.accepted.size() == 2);
            List<DeadLetterFile.Letter> letters = new DeadLetterFile(deadLetters).read();
            assertThat(letters).hasSize(1);
            assertThat(letters.get(0).line()).contains("\"sink\":\"hook\"").contains("answered 400").contains("poison");
            String poisonId = letters.get(0).id();

            receiver.answer = r -> Answer.OK;
            int exit = new CommandLine(new Main()).execute("replay-dead-letters", "--file", deadLetters.toString(),
                    "--url", receiver.url(), "--secret", SECRET);
            assertThat(exit).isZero();
            FakeWebhookReceiver.Request replayed = receiver.accepted.get(2);
            assertThat(replayed.headers().get("webhook-id")).isEqualTo(poisonId);
            assertThat(Delivered.MAPPER.readTree(replayed.body()).get("record").get("note").asText()).isEqualTo("poison");
            assertThat(replayed.headers().get("webhook-signature"))
                    .isEqualTo("v1," + hmac(poisonId + "." + replayed.headers().get("webhook-timestamp") + "." + replayed.body()));
            assertThat(Files.exists(deadLetters)).isFalse();
        }
    }

    @Test
    void a_receiver_that_keeps_failing_stops_the_stream_with_the_reason_when_attempts_are_limited() throws Exception {
        try (FakeWebhookReceiver receiver = new FakeWebhookReceiver();
             SinkHarness h = new SinkHarness("CREATE TABLE t (id int PRIMARY KEY)")) {
            AtomicInteger calls = new AtomicInteger();
            receiver.answer = r -> {
                calls.incrementAndGet();
                return new Answer(503, Map.of());
            };
            h.start(List.of(Map.of("name", "hook", "type", "webhook", "url", receiver.url(),
                    "retry", Map.of("max_attempts", 4, "initial_backoff", "1ms", "give_up", "stop"))));
            h.db.sql("INSERT INTO t VALUES (1)");
            assertThat(h.tidings.await(20_000)).isTrue();
            assertThat(h.tidings.failure()).hasMessageContaining("sink hook could not deliver event")
                    .hasMessageContaining("after 4 attempts").hasMessageContaining("answered 503");
            assertThat(calls.get()).isEqualTo(4);
        }
    }

    static int events(FakeWebhookReceiver receiver) {
        int n = 0;
        for (FakeWebhookReceiver.Request r : receiver.accepted) {
            try {
                n += Delivered.MAPPER.readTree(r.body()).size();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
        return n;
    }

    /**
     * The walsender's sent position moved by no more than background WAL (checkpoint and
     * running-transactions records of the whole cluster, a few kB) since {@code sentBefore}: while
     * streaming it moves by megabytes in the same time.
     */
    static String hmac(String signed) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(KEY, "HmacSHA256"));
        return Base64.getEncoder().encodeToString(mac.doFinal(signed.getBytes(StandardCharsets.UTF_8)));
    }
}
