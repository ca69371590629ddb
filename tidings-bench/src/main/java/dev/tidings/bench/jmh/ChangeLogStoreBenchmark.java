package dev.tidings.bench.jmh;

import dev.tidings.event.EventFormat;
import org.h2.mvstore.Cursor;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.type.ByteArrayDataType;
import org.h2.mvstore.type.LongDataType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The two candidate stores of the change log on this machine's disk, with the log's access
 * pattern: appends of increasing 8-byte keys in groups made durable together (a group commit:
 * {@code group} events, then one fsync), and range reads of {@value #RANGE} consecutive events
 * from a random key of a log of {@value #PREFILL} events (a client resuming). Each record is the
 * benchmark row's insert event in the tidings format. Scores: {@code rangeRead} in events/s,
 * {@code append} in groups/s (times {@code group} for events/s).
 *
 * <p>Both stores get the same work: MVStore commits a version and syncs its file; RocksDB writes a
 * {@code WriteBatch} with {@code sync=true} (its write-ahead log fsynced).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ChangeLogStoreBenchmark {
    static final int PREFILL = 200_000;
    static final int RANGE = 1_000;

    @Param({"mvstore", "rocksdb"})
    public String store;

    /** Events made durable by one sync: 1 is a sync per event, 100 a group commit under load. */
    @Param({"1", "100"})
    public int group;

    private Path dir;
    private byte[] record;
    private long nextKey;
    private Store log;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "changelog-bench");
        record = EventFormat.named("tidings").toBytes(Frames.event());
        log = store.equals("rocksdb") ? new Rocks(dir) : new MvStore(dir);
        for (int i = 0; i < PREFILL; i += 1000) {
            for (int j = 0; j < 1000; j++) {
                log.put(nextKey++, record);
            }
            log.sync();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        log.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** One group: {@code group} appends and one sync; the score times {@code group} is events/s. */
    @Benchmark
    public long append() throws Exception {
        for (int i = 0; i < group; i++) {
            log.put(nextKey++, record);
        }
        log.sync();
        return nextKey;
    }

    @Benchmark
    @OperationsPerInvocation(RANGE)
    public long rangeRead() throws Exception {
        return log.read(ThreadLocalRandom.current().nextLong(PREFILL - RANGE), RANGE);
    }

    interface Store {
        void put(long key, byte[] value) throws Exception;

        void sync() throws Exception;

        /** Reads {@code n} records from {@code from}; returns their bytes. */
        long read(long from, int n);

        void close();
    }

    static final class MvStore implements Store {
        private final MVStore mv;
        private final MVMap<Long, byte[]> map;

        MvStore(Path dir) {
            mv = new MVStore.Builder().fileName(dir.resolve("changes.mv").toString()).autoCommitDisabled().open();
            map = mv.openMap("events", new MVMap.Builder<Long, byte[]>().keyType(LongDataType.INSTANCE)
                    .valueType(ByteArrayDataType.INSTANCE));
        }

        @Override
        public void put(long key, byte[] value) {
            map.put(key, value);
        }

        @Override
        public void sync() {
            mv.commit();
            mv.sync();
        }

        @Override
        public long read(long from, int n) {
            long bytes = 0;
            Cursor<Long, byte[]> c = map.cursor(from);
            for (int i = 0; i < n && c.hasNext(); i++) {
                c.next();
                bytes += c.getValue().length;
            }
            return bytes;
        }

        @Override
        public void close() {
            mv.close();
        }
    }

    static final class Rocks implements Store {
        static {
            RocksDB.loadLibrary();
        }

        private final Options options = new Options().setCreateIfMissing(true);
        private final WriteOptions durable = new WriteOptions().setSync(true);
        private final RocksDB db;
        private WriteBatch batch = new WriteBatch();

        Rocks(Path dir) throws RocksDBException {
            db = RocksDB.open(options, dir.toString());
        }

        private static byte[] key(long k) {
            return ByteBuffer.allocate(8).putLong(k).array();
        }

        @Override
        public void put(long key, byte[] value) throws RocksDBException {
            batch.put(key(key), value);
        }

        @Override
        public void sync() throws RocksDBException {
            db.write(durable, batch);
            batch.close();
            batch = new WriteBatch();
        }

        @Override
        public long read(long from, int n) {
            long bytes = 0;
            try (RocksIterator it = db.newIterator()) {
                it.seek(key(from));
                for (int i = 0; i < n && it.isValid(); i++) {
                    bytes += it.value().length;
                    it.next();
                }
            }
            return bytes;
        }

        @Override
        public void close() {
            batch.close();
            db.close();
            durable.close();
            options.close();
        }
    }
}
