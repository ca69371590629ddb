package dev.tidings.server.sinks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.base.Lsn;
import dev.tidings.server.sinks.FakeWebhookReceiver.Answer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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
class WebhookSinkTest {
    static final int OUTAGE_SECONDS = Integer.getInteger("tidings.test.outageSeconds", 10);
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
            SinkHarness.await(Duration.ofSeconds(20), () -> receiver.accepted.size() == 3, "3 requests");
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
            SinkHarness.await(Duration.ofSeconds(20), () -> receiver.accepted.size() == 1, "delivered after the 429");
            long waited = receiver.all.get(1).atNanos() - receiver.all.get(0).atNanos();
            assertThat(Duration.ofNanos(waited)).isGreaterThanOrEqualTo(Duration.ofMillis(950));
            assertThat(receiver.all.get(1).headers().get("webhook-id")).isEqualTo(receiver.all.get(0).headers().get("webhook-id"));
            assertThat(h.delivery.metrics().get(0).retried()).isEqualTo(1);
        }
    }

    /**
     * The receiver answers 500 for a while under load: nothing is lost, nothing is confirmed past
     * what was delivered, WAL reading pauses (the walsender's sent position stops) and resumes.
     * {@code -Dtidings.test.outageSeconds=30} for a 30 s outage.
     */
    @Test
    void a_receiver_down_under_load_pauses_wal_reading_and_loses_nothing() throws Exception {
        try (FakeWebhookReceiver receiver = new FakeWebhookReceiver(); SinkHarness h = new SinkHarness()) {
            ChangeLoad load = new ChangeLoad(h.db.jdbcUrl, 2);
            h.start(List.of(Map.of("name", "hook", "type", "webhook", "url", receiver.url(), "batch", 200, "queue", 1000,
                    "retry", Map.of("initial_backoff", "50ms", "max_backoff", "1s"))));
            AtomicBoolean down = new AtomicBoolean(true);
            receiver.answer = r -> down.get() ? new Answer(500, Map.of()) : Answer.OK;
            load.start(40_000, 40, 4);
            Thread.sleep(Math.max(5, OUTAGE_SECONDS - 3) * 1000L);
            Lsn confirmedDuring = h.db.confirmedFlush();
            // Once the bounded queues are full, the reader stops: the walsender's position stops moving
            // (on a loaded machine filling the queues and socket buffers can take a few more seconds).
            String sentBefore = sentLsn(h);
            for (int i = 0; i < 20; i++) {
                Thread.sleep(1000);
                String now = sentLsn(h);
                if (now.equals(sentBefore)) {
                    break;
                }
                sentBefore = now;
            }
            Thread.sleep(3000);
            assertPaused(h, sentBefore, "WAL reading paused while the receiver is down");
            assertThat(h.db.confirmedFlush()).as("nothing confirmed while nothing is delivered").isEqualTo(confirmedDuring);
            assertThat(receiver.accepted).isEmpty();
            down.set(false);
            load.await();
            load.flushWal();
            SinkHarness.await(Duration.ofSeconds(60), () -> events(receiver) >= 40_000, "all events after the outage");
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
            SinkHarness.await(Duration.ofSeconds(20), () -> receiver.accepted.size() == 2, "the two good events");
            List<DeadLetterFile.Letter> letters = new DeadLetterFile(deadLetters).read();
            assertThat(letters).hasSize(1);
            assertThat(letters.get(0).line()).contains("\"sink\":\"hook\"").contains("answered 400").contains("poison");
            String poisonId = letters.get(0).id();

            receiver.answer = r -> Answer.OK;
            int exit = new CommandLine(new ReplayDeadLettersCommand()).execute("--file", deadLetters.toString(),
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
    static void assertPaused(SinkHarness h, String sentBefore, String what) {
        long moved = Lsn.parse(sentLsn(h)).value() - Lsn.parse(sentBefore).value();
        assertThat(moved).as(what + " (sent position moved %d bytes)", moved).isLessThan(256 * 1024);
    }

    static String sentLsn(SinkHarness h) {
        return h.db.queryValue("SELECT sent_lsn::text FROM pg_stat_replication WHERE pid = (SELECT active_pid FROM "
                + "pg_replication_slots WHERE slot_name = '" + h.db.slot + "')");
    }

    static String hmac(String signed) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(KEY, "HmacSHA256"));
        return Base64.getEncoder().encodeToString(mac.doFinal(signed.getBytes(StandardCharsets.UTF_8)));
    }
}
