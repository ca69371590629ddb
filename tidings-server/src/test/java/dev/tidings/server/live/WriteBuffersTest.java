package dev.tidings.server.live;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

@Tag("unit")
class WriteBuffersTest {
    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String read(ByteBuffer b) {
        return StandardCharsets.UTF_8.decode(b.duplicate()).toString();
    }

    @Test
    void messagesAreCopiedInOrderIntoOneDirectBufferReadyToWrite() {
        WriteBuffers buffers = new WriteBuffers(1 << 20);
        ByteBuffer b = buffers.merge(List.of(text("one,"), text("two,"), text("three")));
        assertThat(b.isDirect()).isTrue();
        assertThat(read(b)).isEqualTo("one,two,three");
    }

    @Test
    void aReleasedBufferIsReusedAndHoldsOnlyTheNewMessages() {
        WriteBuffers buffers = new WriteBuffers(1 << 20);
        ByteBuffer first = buffers.merge(List.of(text("a much longer first write")));
        buffers.release(first);
        ByteBuffer second = buffers.merge(List.of(text("short")));
        assertThat(second).isSameAs(first);
        assertThat(read(second)).isEqualTo("short");
        assertThat(buffers.held()).isEqualTo(WriteBuffers.SIZE);
    }

    @Test
    void writesBiggerThanOneBufferOrBeyondTheBudgetAreLeftToTheHeap() {
        WriteBuffers buffers = new WriteBuffers(2L * WriteBuffers.SIZE);
        assertThat(buffers.merge(List.of(new byte[WriteBuffers.SIZE + 1]))).isNull();
        ByteBuffer a = buffers.merge(List.of(text("a")));
        ByteBuffer b = buffers.merge(List.of(text("b")));
        assertThat(a).isNotNull();
        assertThat(b).isNotNull();
        // two writes in flight hold the whole budget: a third is not given direct memory
        assertThat(buffers.merge(List.of(text("c")))).isNull();
        buffers.release(a);
        assertThat(buffers.merge(List.of(text("c")))).isSameAs(a);
        assertThat(buffers.held()).isEqualTo(2L * WriteBuffers.SIZE);
    }
}
