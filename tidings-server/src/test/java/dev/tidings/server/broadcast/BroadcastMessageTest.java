package dev.tidings.server.broadcast;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The frames one broadcast becomes, per serializer version, built once per version. */
class BroadcastMessageTest {
    /** Frames as readable text: "TEXT topic event payload" or "BINARY hex". */
    private static final class Recording implements Framing {
        final boolean binary;
        int built;

        Recording(boolean binary) {
            this.binary = binary;
        }

        @Override
        public byte[] text(String topic, String event, byte[] payload) {
            built++;
            return ("TEXT " + topic + " " + event + " " + new String(payload, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] binary(byte[] message) {
            if (!binary) {
                return null;
            }
            built++;
            return ("BINARY " + java.util.HexFormat.of().formatHex(message)).getBytes(StandardCharsets.UTF_8);
        }
    }

    @Test
    void json_user_broadcast_is_binary_for_vsn_2_and_the_json_broadcast_for_vsn_1() {
        Recording v1 = new Recording(false);
        Recording v2 = new Recording(true);
        BroadcastMessage m = BroadcastMessage.user("room", "ev", bytes("{\"a\":1}"), false, bytes("{\"id\":\"x\"}"), null);

        assertThat(text(m.frame(v2))).isEqualTo("BINARY 04" + "0d" + "02" + "0a" + "01"
                + hex("realtime:room") + hex("ev") + hex("{\"id\":\"x\"}") + hex("{\"a\":1}"));
        assertThat(text(m.frame(v1))).isEqualTo(
                "TEXT realtime:room broadcast {\"event\":\"ev\",\"meta\":{\"id\":\"x\"},\"payload\":{\"a\":1},\"type\":\"broadcast\"}");
        m.frame(v1);
        m.frame(v2);
        assertThat(v1.built + v2.built).isEqualTo(2);
    }

    @Test
    void bytes_payload_has_no_vsn_1_frame() {
        BroadcastMessage m = BroadcastMessage.user("room", "ev", new byte[] {1, 2}, true, null, null);
        assertThat(m.frame(new Recording(false))).isNull();
        assertThat(text(m.frame(new Recording(true)))).endsWith("0102").startsWith("BINARY 040d020000");
    }

    @Test
    void envelope_is_relayed_as_text_in_both_versions() {
        BroadcastMessage m = BroadcastMessage.envelope("room", bytes("{\"type\":\"broadcast\",\"event\":\"e\",\"payload\":{}}"), null);
        assertThat(text(m.frame(new Recording(true)))).isEqualTo("TEXT realtime:room broadcast {\"type\":\"broadcast\",\"event\":\"e\",\"payload\":{}}");
        assertThat(text(m.frame(new Recording(false)))).startsWith("TEXT realtime:room broadcast ");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static String hex(String s) {
        return java.util.HexFormat.of().formatHex(bytes(s));
    }
}
