package dev.tidings.server.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets the root level and, on request, switches logging to JSON lines on stderr: one object per
 * event with {@code timestamp} (epoch ms), {@code level}, {@code threadName}, {@code loggerName},
 * {@code formattedMessage} and {@code throwable}, from logback's own {@link JsonEncoder} (no extra dependency). Plain lines,
 * the default, come from {@code logback.xml}.
 *
 * <p>No secrets in logs, either format: what is logged names databases as
 * {@code postgresql://user@host:port/db} ({@code DatabaseUrl.toString}), never a password, JWT
 * secret or webhook secret; {@code SecretsNotLoggedTest} checks a run with all three configured.
 */
final class LogFormat {
    private LogFormat() {}

    /**
     * @param format {@code plain} or {@code json}
     * @param level  the root logger's level: {@code DEBUG}, {@code INFO}, {@code WARN} or {@code ERROR}
     */
    static void use(String format, String level) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(level, Level.INFO));
        if (!"json".equals(format)) {
            return;
        }
        JsonEncoder encoder = new JsonEncoder();
        encoder.setContext(context);
        encoder.setWithSequenceNumber(false);
        encoder.setWithNanoseconds(false);
        encoder.setWithContext(false);
        encoder.setWithMDC(false);
        encoder.setWithKVPList(false);
        encoder.setWithMarkers(false);
        encoder.setWithMessage(false);
        encoder.setWithArguments(false);
        encoder.setWithFormattedMessage(true);
        encoder.start();
        ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
        appender.setContext(context);
        appender.setName("stderr-json");
        appender.setTarget("System.err");
        appender.setEncoder(encoder);
        appender.start();
        root.detachAndStopAllAppenders();
        root.addAppender(appender);
    }
}
