package dev.tidings.base;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

@Tag("unit")
class LsnTest {
    @Test
    void prints_like_pg_lsn_and_parses_back() {
        SplittableRandom random = new SplittableRandom(42);
        long[] fixed = {0, 1, 0xFFFFFFFFL, 1L << 32, -1L, 0x16B374D848L, 0x0000000A00000000L};
        for (int i = 0; i < 100_000; i++) {
            long v = i < fixed.length ? fixed[i] : random.nextLong() >>> random.nextInt(64);
            String expected = Long.toHexString(v >>> 32).toUpperCase() + "/" + Long.toHexString(v & 0xFFFFFFFFL).toUpperCase();
            assertEquals(expected, Lsn.of(v).toString());
            assertEquals(v, Lsn.parse(expected).value());
        }
    }
}
