package dev.tidings.bench.jmh;

import dev.tidings.base.Lsn;
import dev.tidings.decode.ChangeDecoder;
import dev.tidings.decode.StreamItem;
import dev.tidings.event.ChangeEvent;
import dev.tidings.pgoutput.DecodeException;
import dev.tidings.value.PgTypeRegistry;
import dev.tidings.value.TypeRegistry;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The benchmark row as pgoutput sends it — the table of the end-to-end benchmark: {@code id int}
 * (key), {@code n int}, {@code label text}, {@code at timestamptz}, {@code attrs jsonb} — and the
 * event Tidings makes of it. Frames are written per the protocol (PostgreSQL docs, "Logical
 * Replication Message Formats"), with the values as the server's text output prints them.
 */
final class Frames {
    static final int RELATION_ID = 16_385;
    static final int INT4 = 23, TEXT = 25, TIMESTAMPTZ = 1184, JSONB = 3802;
    static final String[] NAMES = {"id", "n", "label", "at", "attrs"};
    static final int[] TYPES = {INT4, INT4, TEXT, TIMESTAMPTZ, JSONB};
    static final String[] VALUES = {"123456", "456", "row-123456", "2024-01-02 10:17:36+00",
            "{\"k\": 123456, \"ok\": true, \"tag\": \"abc\"}"};

    private Frames() {}

    /** Built-in types only, so no database is needed. */
    static TypeRegistry builtinTypes() {
        return new PgTypeRegistry(() -> {
            throw new IllegalStateException("the benchmarks use built-in types only");
        });
    }

    static byte[] begin() {
        return frame(out -> {
            out.writeByte('B');
            out.writeLong(0x1A2B3C4L);
            out.writeLong(785_000_000_000_000L);
            out.writeInt(742);
        });
    }

    static byte[] relation() {
        return frame(out -> {
            out.writeByte('R');
            out.writeInt(RELATION_ID);
            cstring(out, "public");
            cstring(out, "bench");
            out.writeByte('d');
            out.writeShort(NAMES.length);
            for (int i = 0; i < NAMES.length; i++) {
                out.writeByte(i == 0 ? 1 : 0);
                cstring(out, NAMES[i]);
                out.writeInt(TYPES[i]);
                out.writeInt(-1);
            }
        });
    }

    static byte[] insert() {
        return frame(out -> {
            out.writeByte('I');
            out.writeInt(RELATION_ID);
            out.writeByte('N');
            out.writeShort(VALUES.length);
            for (String v : VALUES) {
                byte[] b = v.getBytes(StandardCharsets.UTF_8);
                out.writeByte('t');
                out.writeInt(b.length);
                out.write(b);
            }
        });
    }

    /**
     * The event the end-to-end benchmark's consumers receive for one inserted row, made as Tidings
     * makes it: the frames above decoded by {@link ChangeDecoder} (so it carries the relation's
     * column list with its pre-encoded names, as in production).
     */
    static ChangeEvent event() {
        ChangeDecoder decoder = new ChangeDecoder(builtinTypes());
        decoder.streamStarted(4);
        List<ChangeEvent> events = new ArrayList<>();
        Consumer<StreamItem> collect = item -> {
            if (item instanceof StreamItem.Change c) {
                events.add(c.event());
            }
        };
        Lsn lsn = Lsn.of(0x1A2B380L);
        try {
            for (byte[] frame : new byte[][] {relation(), begin(), insert()}) {
                decoder.decode(lsn, ByteBuffer.wrap(frame), collect);
            }
        } catch (DecodeException e) {
            throw new IllegalStateException("the benchmark's own frames do not decode: " + e.getMessage(), e);
        }
        return events.get(0);
    }

    private interface Body {
        void write(DataOutputStream out) throws IOException;
    }

    private static byte[] frame(Body body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            body.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void cstring(DataOutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.writeByte(0);
    }
}
