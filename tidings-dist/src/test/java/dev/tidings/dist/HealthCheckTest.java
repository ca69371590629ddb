package dev.tidings.dist;

import com.sun.net.httpserver.HttpServer;
import dev.tidings.testing.ChildJvm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The image's health command as a runtime runs it: a JVM of its own whose exit code is the verdict. */
@Timeout(60)
@Tag("process")
class HealthCheckTest {

    @Test
    void a_200_from_health_is_healthy(@TempDir Path dir) throws Exception {
        HttpServer server = server(200);
        try {
            assertThat(check(dir, server.getAddress().getPort())).isZero();
        } finally {
            server.stop(0);
        }
    }

    @Test
    void a_503_from_health_is_unhealthy_and_says_so(@TempDir Path dir) throws Exception {
        HttpServer server = server(503);
        try {
            int port = server.getAddress().getPort();
            assertThat(check(dir, port)).isEqualTo(1);
            assertThat(Files.readString(dir.resolve("err"))).isEqualTo("unhealthy: http://127.0.0.1:" + port + "/health answered 503\n");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void no_server_on_the_port_is_unhealthy_and_says_so(@TempDir Path dir) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        assertThat(check(dir, port)).isEqualTo(1);
        assertThat(Files.readString(dir.resolve("err"))).startsWith("unhealthy: http://127.0.0.1:" + port + "/health: ");
    }

    private static HttpServer server(int status) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/health", exchange -> {
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        server.start();
        return server;
    }

    private static int check(Path dir, int port) throws Exception {
        try (ChildJvm jvm = new ChildJvm()) {
            Process p = jvm.start(List.of(), HealthCheck.class.getName(), List.of(String.valueOf(port)), dir.resolve("out"), dir.resolve("err"));
            return ChildJvm.await(p, 30);
        }
    }
}
