package dev.tidings.server.realtime;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Frames are checked by reading them back as RFC 6455 §5.2 says a client does. */
@Tag("unit")
class WireFramesTest {

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 125, 126, 127, 65_535, 65_536, 300_000})
    void aTextFrameOfAnyLengthReadsBackAsOneFinalUnmaskedTextFrameWithThePayload(int length) {
        byte[] payload = new byte[length];
        Arrays.fill(payload, (byte) 'x');
        ByteBuffer frame = ByteBuffer.wrap(WireFrames.text(payload));
        int first = frame.get() & 0xFF;
        assertThat(first).as("FIN and opcode 1").isEqualTo(0x81);
        int second = frame.get() & 0xFF;
        assertThat(second & 0x80).as("unmasked").isZero();
        long declared = second & 0x7F;
        if (declared == 126) {
            declared = frame.getShort() & 0xFFFF;
            assertThat(length).isBetween(126, 65_535);
        } else if (declared == 127) {
            declared = frame.getLong();
            assertThat(length).isGreaterThan(65_535);
        } else {
            assertThat(length).isLessThan(126);
        }
        assertThat(declared).isEqualTo(length);
        assertThat(frame.remaining()).isEqualTo(length);
    }

    @Test
    void aPongCarriesThePingsPayloadAndLeavesTheGivenBufferAsItWas() {
        ByteBuffer ping = ByteBuffer.wrap("hello".getBytes(StandardCharsets.UTF_8));
        byte[] pong = WireFrames.pong(ping);
        assertThat(pong[0] & 0xFF).isEqualTo(0x8A);
        assertThat(pong[1]).isEqualTo((byte) 5);
        assertThat(new String(pong, 2, 5, StandardCharsets.UTF_8)).isEqualTo("hello");
        assertThat(ping.remaining()).isEqualTo(5);
    }
}
