package dev.tidings.bench.jmh;

import dev.tidings.value.JsonValueConverter;
import dev.tidings.value.UnknownTypeException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;

/**
 * {@link JsonValueConverter} on typical columns: {@code row} converts the five values of the
 * benchmark row (ops/s = rows/s per core); the single-type cases show where the time goes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ValueConversionBenchmark {
    @Param({"row", "int4", "text", "timestamptz", "jsonb"})
    public String column;

    private JsonValueConverter converter;
    private int[] types;
    private String[] values;

    @Setup
    public void setup() {
        converter = new JsonValueConverter(Frames.builtinTypes());
        int i = switch (column) {
            case "row" -> -1;
            case "int4" -> 0;
            case "text" -> 2;
            case "timestamptz" -> 3;
            case "jsonb" -> 4;
            default -> throw new IllegalArgumentException(column);
        };
        types = i < 0 ? Frames.TYPES : new int[] {Frames.TYPES[i]};
        values = i < 0 ? Frames.VALUES : new String[] {Frames.VALUES[i]};
    }

    @Benchmark
    public void convert(Blackhole bh) throws UnknownTypeException {
        for (int i = 0; i < types.length; i++) {
            bh.consume(converter.toJson(types[i], values[i]));
        }
    }
}
