package dev.tidings.server.sinks;

import dev.tidings.sink.Sink;
import dev.tidings.sink.SinkException;
import dev.tidings.sink.SinkMessage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Events as JSON lines in a file, fsynced before a batch is confirmed. When the file passes
 * {@code maxBytes} it is renamed to {@code <name>.<n>} (n = 1, 2, … oldest first) and a new one
 * is started, so a reader can process rotated files in order of n, then the live file.
 *
 * <p>A crash can leave half a line at the end of the file: it was never confirmed, so it is sent
 * again after the restart. Opening the file cuts such a tail off, so every line is whole JSON.
 */
public final class FileSink implements Sink {
    private final Path path;
    private final long maxBytes;
    private FileChannel channel;
    private ByteBuffer buffer = ByteBuffer.allocate(1 << 16);

    /** @param maxBytes rotate when the file passes this size; 0 = never */
    public FileSink(Path path, long maxBytes) throws IOException {
        this.path = path.toAbsolutePath();
        this.maxBytes = maxBytes;
        Files.createDirectories(this.path.getParent());
        open();
    }

    private void open() throws IOException {
        channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
        long size = channel.size();
        long whole = wholeLinesEnd(channel, size);
        if (whole < size) {
            channel.truncate(whole);
            channel.force(true);
        }
        channel.position(whole);
    }

    /** The end of the last complete line: the file size, or less when it ends in a torn line. */
    private static long wholeLinesEnd(FileChannel channel, long size) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8192);
        long end = size;
        while (end > 0) {
            long start = Math.max(0, end - b.capacity());
            b.clear().limit((int) (end - start));
            channel.read(b, start);
            for (int i = b.position() - 1; i >= 0; i--) {
                if (b.get(i) == '\n') {
                    return start + i + 1;
                }
            }
            end = start;
        }
        return 0;
    }

    @Override
    public CompletableFuture<Void> send(List<SinkMessage> batch) {
        try {
            write(batch);
            return CompletableFuture.completedFuture(null);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new SinkException("writing " + path + " failed: " + e.getMessage(), e));
        }
    }

    private void write(List<SinkMessage> batch) throws IOException {
        if (channel == null) {
            open();
        }
        long before = channel.position();
        try {
            buffer.clear();
            for (SinkMessage m : batch) {
                byte[] body = m.body();
                if (buffer.remaining() < body.length + 1) {
                    flushBuffer();
                    if (buffer.capacity() < body.length + 1) {
                        buffer = ByteBuffer.allocate(body.length + 1);
                    }
                }
                buffer.put(body).put((byte) '\n');
            }
            flushBuffer();
            channel.force(false);
            if (maxBytes > 0 && channel.position() >= maxBytes) {
                rotate();
            }
        } catch (IOException e) {
            // the retry writes the whole batch again: cut off what part of it got written
            try {
                channel.truncate(before);
            } catch (IOException ignored) {
                // reopening cuts off at least a torn line
            }
            closeQuietly();
            throw e;
        }
    }

    private void flushBuffer() throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
        buffer.clear();
    }

    private void rotate() throws IOException {
        channel.close();
        channel = null;
        int n = 1;
        while (Files.exists(rotated(n))) {
            n++;
        }
        Files.move(path, rotated(n), StandardCopyOption.ATOMIC_MOVE);
        try (FileChannel dir = FileChannel.open(path.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException ignored) {
            // some file systems cannot sync a directory; the rename is still ordered before new writes
        }
        open();
    }

    Path rotated(int n) {
        return path.resolveSibling(path.getFileName() + "." + n);
    }

    private void closeQuietly() {
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException ignored) {
            // already failing
        }
        channel = null;
    }

    @Override
    public void close() {
        closeQuietly();
    }
}
