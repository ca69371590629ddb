package dev.tidings.server.realtime;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidings.server.log.EventId;
import dev.tidings.testing.TcpProxy;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Realtime resume from the change log: realtime-js 2.119.1 with the resume lines of
 * docs/from-supabase-realtime.md, its socket cut 5 times by a TCP proxy while 10,000 rows are
 * inserted, ends with every row once, in commit order; the protocol of it with a bare socket
 * (the event id as each push's {@code ref}, bindings and filters applied to the replay, the
 * {@code reset} of an id the log does not hold, a resume position that is not an id).
 */
@Timeout(180)
@Tag("postgres")
class RealtimeResumeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHANGES = 10_000;

    @TempDir
    static Path dir;
    private static ServeHarness serve;

    @BeforeAll
    static void start() throws Exception {
        serve = ServeHarness.start(Map.of("log.dir", dir.resolve("log").toString()));
        serve.sql("CREATE TABLE resumed (id int PRIMARY KEY, note text)", "CREATE TABLE filtered (id int PRIMARY KEY)",
                "CREATE TABLE bulk (id int PRIMARY KEY)");
    }

    @AfterAll
    static void stop() {
        serve.close();
    }

    @Test
    @Tag("process")
    void realtime_js_cut_off_five_times_during_10000_inserts_ends_with_the_table_once_in_order() throws Exception {
        Random random = new Random(14);
        try (TcpProxy proxy = new TcpProxy(serve.server.port());
             NodeClient client = NodeClient.run(Map.of(), "resume-listen.js", "ws://127.0.0.1:" + proxy.port() + "/socket",
                     "resumed")) {
            client.await(l -> l.equals("SUBSCRIBED"), Duration.ofSeconds(30));
            Thread writer = Thread.ofPlatform().name("writer").start(() -> {
                for (int from = 1; from <= CHANGES; from += 20) {
                    serve.sql("INSERT INTO resumed SELECT g, 'n' || g FROM generate_series(" + from + ", " + (from + 19) + ") g");
                    LockSupport.parkNanos(15_000_000);
                }
            });
            for (int cut = 1; cut <= 5; cut++) {
                int target = cut * CHANGES / 6;
                int joins = cut;
                // cut a connection that has joined again since the last cut
                client.await(l -> l.startsWith("COUNT ") && count(l, 1) >= target && count(l, 3) >= joins, Duration.ofSeconds(60));
                assertThat(writer.isAlive()).as("cut %d comes while the rows are being inserted", cut).isTrue();
                proxy.cut();
                LockSupport.parkNanos(100_000_000L + random.nextInt(400_000_000)); // inserts go on meanwhile
                proxy.restore();
            }
            writer.join();
            String last = client.await(l -> l.startsWith("COUNT ") && count(l, 1) >= CHANGES && count(l, 3) >= 6,
                    Duration.ofSeconds(60));
            client.tell("DUMP");
            List<Integer> ids = JSON.readValue(client.await("IDS ").substring(4), new TypeReference<List<Integer>>() {});
            List<Integer> table = new ArrayList<>();
            try (Connection c = TestPostgres.connect(serve.jdbcUrl);
                 ResultSet rs = c.createStatement().executeQuery("SELECT id FROM resumed ORDER BY id")) {
                while (rs.next()) {
                    table.add(rs.getInt(1));
                }
            }
            assertThat(ids).as("the client's rows are the table, in commit order, once each").isEqualTo(table);
            assertThat(last).as("a join and one rejoin per cut, no reset").isEqualTo("COUNT " + CHANGES + " JOINS 6 RESETS 0");
        }
    }

    @Test
    @Tag("process")
    void realtime_js_resuming_from_an_id_the_log_does_not_hold_takes_the_reset_id_and_goes_on_live() throws Exception {
        serve.sqlSettled("INSERT INTO notes (body) VALUES ('so that the log is not empty')");
        try (NodeClient client = NodeClient.run(Map.of(), "resume-listen.js", serve.socket(), "filtered", "0/10:0")) {
            String reset = client.await(l -> l.startsWith("SYSTEM ") && l.contains("\"status\":\"reset\""), Duration.ofSeconds(30));
            String from = JSON.readTree(reset.substring(7)).get("id").asText();
            serve.sql("INSERT INTO filtered VALUES (700)");
            client.await(l -> l.startsWith("COUNT 1 JOINS 1 RESETS 1"), Duration.ofSeconds(30));
            client.tell("DUMP");
            assertThat(client.await("IDS ")).isEqualTo("IDS [700]");
            EventId last = EventId.parse(client.await("LAST ").substring(5));
            assertThat(last.isAfter(EventId.parse(from))).as("the kept id moved on from the reset's").isTrue();
        }
    }

    /** The number after the {@code index}-th space of a COUNT line. */
    private static int count(String line, int index) {
        return Integer.parseInt(line.split(" ")[index]);
    }

    @Test
    void a_resumed_channel_gets_what_its_bindings_and_filters_match_since_the_id_then_live_each_push_with_its_id_as_ref()
            throws Exception {
        String before;
        try (RawSocket first = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            first.send(joinFiltered("1", null));
            first.await(n -> n.get(3).asText().equals("phx_reply"));
            serve.sql("INSERT INTO filtered VALUES (100)");
            JsonNode push = first.await(n -> n.get(3).asText().equals("postgres_changes"));
            assertThat(push.at("/4/data/record/id").asInt()).isEqualTo(100);
            before = push.get(1).asText();
            assertThat(before).as("the ref is the event id").matches("[0-9A-F]+/[0-9A-F]+:0");
        }
        serve.sql("INSERT INTO filtered SELECT generate_series(1, 10)", "UPDATE filtered SET id = id + 1000 WHERE id = 3",
                "INSERT INTO notes (body) VALUES ('another table')");
        try (RawSocket again = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            again.send(joinFiltered("2", before));
            assertThat(again.await(n -> n.get(3).asText().equals("phx_reply")).at("/4/status").asText()).isEqualTo("ok");
            serve.sql("INSERT INTO filtered VALUES (11)");
            List<JsonNode> got = again.until(n -> n.get(3).asText().equals("postgres_changes") && n.at("/4/data/record/id").asInt() == 11);
            List<String> changes = got.stream().filter(n -> n.get(3).asText().equals("postgres_changes"))
                    .map(n -> n.at("/4/data/type").asText() + " " + n.at("/4/data/record/id").asInt()).toList();
            assertThat(changes).as("inserts with id > 5 (the filter), the update ignored (not bound), then live")
                    .containsExactly("INSERT 6", "INSERT 7", "INSERT 8", "INSERT 9", "INSERT 10", "INSERT 11");
            List<EventId> refs = got.stream().filter(n -> n.get(3).asText().equals("postgres_changes"))
                    .map(n -> EventId.parse(n.get(1).asText())).toList();
            assertThat(refs.get(0).isAfter(EventId.parse(before))).as("the first id is after the one resumed from").isTrue();
            assertThat(refs).as("ids in commit order, each once").isSortedAccordingTo(EventId::compareTo).doesNotHaveDuplicates();
        }
    }

    private static String joinFiltered(String ref, String resumeFrom) {
        return "[\"" + ref + "\",\"" + ref + "\",\"realtime:f\",\"phx_join\",{\"config\":{\"postgres_changes\":"
                + "[{\"event\":\"INSERT\",\"schema\":\"public\",\"table\":\"filtered\",\"filter\":\"id=gt.5\"}]"
                + (resumeFrom == null ? "" : ",\"postgres_changes_options\":{\"resume_from\":\"" + resumeFrom + "\"}") + "}}]";
    }

    @Test
    void an_id_the_log_does_not_hold_gets_a_reset_system_message_with_the_id_to_go_on_from_and_then_live_changes() throws Exception {
        try (RawSocket c = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            c.send(joinFiltered("1", "0/10:0"));
            assertThat(c.await(n -> n.get(3).asText().equals("phx_reply")).at("/4/status").asText()).isEqualTo("ok");
            JsonNode reset = c.await(n -> n.get(3).asText().equals("system") && n.at("/4/status").asText().equals("reset"));
            assertThat(reset.at("/4/extension").asText()).isEqualTo("postgres_changes");
            assertThat(reset.at("/4/message").asText()).startsWith("ResumeExpired: changes after 0/10:0 are no longer in the change log");
            String from = reset.at("/4/id").asText();
            assertThat(from).matches("[0-9A-F]+/[0-9A-F]+:[0-9]+");
            serve.sql("INSERT INTO filtered VALUES (500)");
            JsonNode live = c.await(n -> n.get(3).asText().equals("postgres_changes"));
            assertThat(live.at("/4/data/record/id").asInt()).isEqualTo(500);
            assertThat(EventId.parse(live.get(1).asText()).isAfter(EventId.parse(from))).isTrue();
        }
    }

    @Test
    void a_resume_position_that_is_not_an_event_id_is_refused_saying_what_one_looks_like() throws Exception {
        try (RawSocket c = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            c.send(joinFiltered("1", "yesterday"));
            JsonNode reply = c.await(n -> n.get(3).asText().equals("phx_reply"));
            assertThat(reply.at("/4/status").asText()).isEqualTo("error");
            assertThat(reply.at("/4/response/reason").asText()).startsWith("InvalidResumePosition: config.postgres_changes_options"
                    + ".resume_from: 'yesterday' is not an event id; an id looks like 0/1A2B3C4:2");
        }
    }

    @Test
    @Tag("slow")
    void a_channel_that_missed_100000_changes_gets_them_all_in_order() throws Exception {
        String join = "[\"1\",\"1\",\"realtime:bulk\",\"phx_join\",{\"config\":{\"postgres_changes\":"
                + "[{\"event\":\"INSERT\",\"schema\":\"public\",\"table\":\"bulk\"}]%s}}]";
        String before;
        try (RawSocket marker = RawSocket.open(serve.ws("vsn=2.0.0"))) {
            marker.send(join.formatted(""));
            marker.await(n -> n.get(3).asText().equals("phx_reply"));
            serve.sql("INSERT INTO bulk VALUES (0)");
            before = marker.await(n -> n.get(3).asText().equals("postgres_changes")).get(1).asText();
        }
        serve.sqlSettled("INSERT INTO bulk SELECT generate_series(1, 100000)"); // missed: no channel is joined
        List<Double> resumes = new ArrayList<>();
        for (int run = 0; run < 3; run++) {
            try (RawSocket resumed = RawSocket.open(serve.ws("vsn=2.0.0"))) {
                long start = System.nanoTime();
                resumed.send(join.formatted(",\"postgres_changes_options\":{\"resume_from\":\"" + before + "\"}"));
                resumes.add(receive(resumed, start));
            }
        }
        System.out.printf("resume of 100000 missed changes on a Realtime channel: %s s, median %.2f s%n", resumes,
                resumes.stream().sorted().toList().get(1));
    }

    /** Receives the 100,000 bulk inserts in order, parsing each push; the seconds since {@code start}. */
    private static double receive(RawSocket socket, long start) throws Exception {
        for (int expected = 1; expected <= 100_000; expected++) {
            JsonNode push = socket.await(n -> n.get(3).asText().equals("postgres_changes"));
            assertThat(push.at("/4/data/record/id").asInt()).isEqualTo(expected);
        }
        return (System.nanoTime() - start) / 1e9;
    }
}
