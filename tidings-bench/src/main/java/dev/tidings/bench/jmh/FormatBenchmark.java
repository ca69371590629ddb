package dev.tidings.bench.jmh;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.EventFormat;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.TimeUnit;

/**
 * Each {@link EventFormat} writing the benchmark row's insert event, on one thread: events/s per
 * core. {@code stream} writes to one long-lived generator as {@code tidings tail} does;
 * {@code toBytes} makes a byte array per event as the fan-out does.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class FormatBenchmark {
    @Param({"tidings", "debezium", "cloudevents", "supabase"})
    public String format;

    private EventFormat eventFormat;
    private ChangeEvent event;
    private JsonGenerator generator;
    private final Counting sink = new Counting();

    @Setup
    public void setup() throws IOException {
        eventFormat = EventFormat.named(format);
        event = Frames.event();
        generator = new JsonFactory().createGenerator(sink, JsonEncoding.UTF8);
        generator.setRootValueSeparator(null);
    }

    @Benchmark
    public long stream() throws IOException {
        eventFormat.write(event, generator);
        generator.writeRaw('\n');
        generator.flush();
        return sink.count;
    }

    @Benchmark
    public byte[] toBytes() {
        return eventFormat.toBytes(event);
    }

    /** Counts bytes and drops them, like /dev/null without the system call. */
    static final class Counting extends OutputStream {
        long count;

        @Override
        public void write(int b) {
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            count += len;
        }
    }
}
