package dev.tidings.server.http;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import com.sun.net.httpserver.HttpServer;
import dev.tidings.server.config.ServeConfigLoader;
import dev.tidings.testing.Await;
import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No secret in the logs: {@code tidings serve} with a database password, a JWT secret and a webhook
 * signing secret, through start, a rejected token, a webhook that fails before it accepts (retries
 * are logged), and shutdown. Every event Tidings logs (DEBUG and up), message, arguments, MDC and
 * stack trace, is searched for the three; both log formats print exactly these parts.
 */
@Tag("postgres")
class SecretsNotLoggedTest {
    private static final String PASSWORD = "pw-never-logged-7f3a";
    private static final String JWT_SECRET = "jwt-secret-never-logged-0123456789abcdef";
    private static final String WEBHOOK_SECRET = "whsec-never-logged-c0ffee";

    @Test
    void a_serve_run_with_a_password_a_jwt_secret_and_a_webhook_secret_logs_none_of_them() throws Exception {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger tidings = context.getLogger("dev.tidings");
        Level level = tidings.getLevel();
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.setContext(context);
        logged.start();
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(logged);
        tidings.setLevel(Level.DEBUG);

        AtomicInteger requests = new AtomicInteger();
        HttpServer receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        receiver.createContext("/hook", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(requests.incrementAndGet() <= 2 ? 500 : 204, -1);
            exchange.close();
        });
        receiver.start();
        String db = TestPostgres.newDatabase();
        TestPostgres.execute(db, "CREATE TABLE todos (id bigint PRIMARY KEY)");
        Path yaml = Files.createTempFile("tidings-secrets", ".yaml");
        try {
            Files.writeString(yaml, """
                    sinks:
                      - {name: hook, type: webhook, url: "http://127.0.0.1:%d/hook", secret: "%s",
                         retry: {initial_backoff: 50ms, max_backoff: 100ms}}
                    """.formatted(receiver.getAddress().getPort(), WEBHOOK_SECRET));
            String slot = db.substring(db.lastIndexOf('/') + 1, db.indexOf('?'));
            try (TidingsServer server = TidingsServer.start(ServeConfigLoader.load(Map.of("db.url", db + "&password=" + PASSWORD,
                    "server.port", "0", "server.bind", "127.0.0.1", "auth.jwt_secret", JWT_SECRET,
                    "replication.slot", slot, "replication.temporary", "false"), Map.of(), yaml))) {
                Await.until(Duration.ofSeconds(30), "the stream to start", server::streaming);
                HttpResponse<String> refused = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.port() + "/events?apikey=not.a.token")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(refused.statusCode()).isEqualTo(403);
                TestPostgres.execute(db, "INSERT INTO todos VALUES (1)");
                Await.until(Duration.ofSeconds(30), "the webhook accepts after two failures", () -> requests.get() >= 3);
            } finally {
                TestPostgres.execute(TestPostgres.url("postgres"),
                        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + slot + "'");
            }
        } finally {
            receiver.stop(0);
            Files.delete(yaml);
            root.detachAppender(logged);
            tidings.setLevel(level);
        }

        List<String> lines = logged.list.stream().map(SecretsNotLoggedTest::everything).toList();
        assertThat(lines).as("what was logged names the database").anyMatch(l -> l.contains("postgresql://postgres@localhost:"));
        assertThat(lines).as("the webhook failures were logged").anyMatch(l -> l.contains("hook"));
        assertThat(lines).noneMatch(l -> l.contains(PASSWORD)).noneMatch(l -> l.contains(JWT_SECRET))
                .noneMatch(l -> l.contains(WEBHOOK_SECRET));
    }

    /** Every part of an event a log format can print. */
    private static String everything(ILoggingEvent e) {
        return e.getLoggerName() + " " + e.getFormattedMessage() + " " + e.getMDCPropertyMap()
                + (e.getThrowableProxy() == null ? "" : " " + ThrowableProxyUtil.asString(e.getThrowableProxy()));
    }
}
