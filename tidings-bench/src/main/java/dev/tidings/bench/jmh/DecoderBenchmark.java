package dev.tidings.bench.jmh;

import dev.tidings.base.Lsn;
import dev.tidings.decode.ChangeDecoder;
import dev.tidings.decode.StreamItem;
import dev.tidings.pgoutput.DecodeException;
import dev.tidings.pgoutput.PgOutputDecoder;
import dev.tidings.pgoutput.PgOutputMessage;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One Insert frame of the benchmark row (5 columns), per operation, on one thread: events/s per core.
 * {@code pgoutput}: bytes → typed message ({@link PgOutputDecoder}). {@code changeEvent}: bytes →
 * {@code ChangeEvent} with every value converted to JSON ({@link ChangeDecoder}), which is all the
 * work between the socket and a format.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class DecoderBenchmark {
    private final Lsn lsn = Lsn.of(0x1A2B380L);
    private PgOutputDecoder pgoutput;
    private ChangeDecoder changes;
    private ByteBuffer insert;

    @Setup
    public void setup() throws DecodeException {
        pgoutput = new PgOutputDecoder(4);
        changes = new ChangeDecoder(Frames.builtinTypes());
        changes.streamStarted(4);
        Consumer<StreamItem> ignore = item -> { };
        changes.decode(lsn, ByteBuffer.wrap(Frames.relation()), ignore);
        changes.decode(lsn, ByteBuffer.wrap(Frames.begin()), ignore);
        insert = ByteBuffer.wrap(Frames.insert());
    }

    @Benchmark
    public PgOutputMessage pgoutput() throws DecodeException {
        return pgoutput.decode(insert.duplicate());
    }

    @Benchmark
    public void changeEvent(Blackhole bh) throws DecodeException {
        changes.decode(lsn, insert.duplicate(), bh::consume);
    }
}
