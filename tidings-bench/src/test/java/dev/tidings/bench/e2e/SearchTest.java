package dev.tidings.bench.e2e;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The fan-out clients' pattern search finds what a plain scan finds, wherever it is. */
@Tag("unit")
class SearchTest {
    private static final byte[] PATTERN = "\"commit_timestamp\":\"".getBytes(StandardCharsets.US_ASCII);

    @Test
    void findsTheFirstOccurrenceExactlyWhereAPlainScanDoes() {
        WebSocketClients.Search search = new WebSocketClients.Search(PATTERN);
        Random random = new Random(7);
        // an alphabet made of the pattern's own bytes, so near-misses and overlaps are common
        byte[] alphabet = "\"commit_timesap:x".getBytes(StandardCharsets.US_ASCII);
        for (int round = 0; round < 20_000; round++) {
            byte[] b = new byte[random.nextInt(120)];
            for (int i = 0; i < b.length; i++) {
                b[i] = alphabet[random.nextInt(alphabet.length)];
            }
            if (b.length >= PATTERN.length && random.nextBoolean()) {
                System.arraycopy(PATTERN, 0, b, random.nextInt(b.length - PATTERN.length + 1), PATTERN.length);
            }
            int from = b.length == 0 ? 0 : random.nextInt(b.length);
            int len = b.length - from == 0 ? 0 : random.nextInt(b.length - from + 1);
            assertThat(search.in(b, from, len)).as("round %d", round).isEqualTo(WebSocketClients.indexOf(b, from, len, PATTERN));
        }
    }

    @Test
    void findsTheTimestampInAServerFrame() {
        byte[] frame = ("{\"event\":\"postgres_changes\",\"payload\":{\"data\":{\"commit_timestamp\":\"2026-01-01T00:00:00.123Z\"}}}")
                .getBytes(StandardCharsets.US_ASCII);
        int at = new WebSocketClients.Search(PATTERN).in(frame, 0, frame.length);
        assertThat(WebSocketClients.epochMicros(frame, at + PATTERN.length)).isEqualTo(1_767_225_600_123_000L);
    }
}
