package dev.tidings.source;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("unit")
class OpeningConnectionTest {
    @Test
    void hands_over_the_connection_opened_on_its_own_thread() throws Exception {
        Connection c = connection(new AtomicInteger());
        String[] thread = new String[1];
        OpeningConnection opening = new OpeningConnection(() -> {
            thread[0] = Thread.currentThread().getName();
            return c;
        });
        assertSame(c, opening.get());
        assertEquals("tidings-connect", thread[0]);
    }

    @Test
    void rethrows_what_opening_threw_so_the_caller_classifies_it_as_before() {
        SQLException refused = new SQLException("Connection refused", "08001");
        OpeningConnection opening = new OpeningConnection(() -> {
            throw refused;
        });
        assertSame(refused, assertThrows(SQLException.class, opening::get));
    }

    @Test
    void a_discarded_connection_is_closed_once_it_is_open() throws Exception {
        AtomicInteger closed = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        OpeningConnection opening = new OpeningConnection(() -> {
            assertTrue(release.await(10, TimeUnit.SECONDS));
            return connection(closed);
        });
        Thread discarding = Thread.ofPlatform().start(opening::discard);
        release.countDown();
        discarding.join(10_000);
        assertEquals(1, closed.get());
    }

    @Test
    void discarding_a_connection_that_failed_to_open_is_quiet() {
        SQLException refused = new SQLException("password authentication failed", "28P01");
        OpeningConnection opening = new OpeningConnection(() -> {
            throw refused;
        });

        assertDoesNotThrow(opening::discard);
        assertSame(refused, assertThrows(SQLException.class, opening::get));
    }

    private static Connection connection(AtomicInteger closed) {
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[]{Connection.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("close")) {
                        closed.incrementAndGet();
                    }
                    return null;
                });
    }
}
