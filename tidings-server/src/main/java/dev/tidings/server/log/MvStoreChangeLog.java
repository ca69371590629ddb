package dev.tidings.server.log;

import dev.tidings.event.ChangeEvent;
import org.h2.mvstore.Cursor;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.MVStoreException;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;
import org.h2.mvstore.type.ByteArrayDataType;
import org.h2.mvstore.type.StringDataType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentMap;

/**
 * The change log in one H2 MVStore file ({@code <dir>/changes.mv}): a B-tree map from
 * {@link EventId} to the record of {@link EventCodec}, so a read by id is a tree descent, not a
 * scan. MVStore is copy-on-write: readers see a consistent tree without locks while the appending
 * thread writes. Why MVStore and not RocksDB: docs/architecture.md ("The change log").
 *
 * <p>Invariants: ids in the map only grow ({@link #append} skips what is not after the last);
 * {@code horizon} (in the {@code meta} map) is the newest id ever removed, so a reader whose id is
 * at or after it has missed nothing, and one before it has; a log that never removed anything
 * knows nothing before its first id. The byte count is kept in memory and written with each
 * commit, so opening a large log reads no records.
 *
 * <p>Space: removed events free their pages; chunks without live pages are reused after
 * {@link #RETAIN_CHUNKS_MILLIS}, and after each trim the emptiest chunks are rewritten, so the file
 * stays a few times the retained bytes (MvStoreChangeLogTest measures it).
 *
 * <p>Durability: {@link #sync} commits a new version of the tree to the file and forces it to the
 * disk (fsync). A crash loses only what was appended after the last sync; those events were not
 * acknowledged, so the slot sends them again with the same ids. A group of transactions shares
 * one sync (the caller batches, see {@link GroupCommit}).
 */
public final class MvStoreChangeLog implements ChangeLog {
    private static final String HORIZON = "horizon";
    private static final String BYTES = "bytes";
    /**
     * How long a chunk no longer needed is kept before its space is reused. MVStore's default (45 s)
     * covers disks that write late when nobody syncs; here every commit is fsynced before the
     * next, so after a crash only the newest version is read, and at a sync every few milliseconds
     * 45 s of chunks made the file 16 times its contents (MvStoreChangeLogTest).
     */
    private static final int RETAIN_CHUNKS_MILLIS = 0;
    /** After a trim, chunks less full than this are rewritten, at most {@link #COMPACT_BYTES} per trim. */
    private static final int COMPACT_FILL_PERCENT = 60;
    private static final int COMPACT_BYTES = 16 << 20;

    private final MVStore store;
    private final MVMap<EventId, byte[]> events;
    private final MVMap<String, String> meta;
    private final Retention retention;
    private final Clock clock;
    private volatile EventId last;
    private volatile long bytes;

    private MvStoreChangeLog(MVStore store, Retention retention, Clock clock) {
        this.store = store;
        this.retention = retention;
        this.clock = clock;
        this.events = store.openMap("events", new MVMap.Builder<EventId, byte[]>().keyType(KeyType.INSTANCE)
                .valueType(ByteArrayDataType.INSTANCE));
        this.meta = store.openMap("meta", new MVMap.Builder<String, String>().keyType(StringDataType.INSTANCE)
                .valueType(StringDataType.INSTANCE));
        this.last = events.lastKey();
        String b = meta.get(BYTES);
        this.bytes = b == null ? 0 : Long.parseLong(b);
    }

    /** Opens (or creates) the log in {@code dir}; fails with what to do when the directory cannot hold it. */
    public static MvStoreChangeLog open(Path dir, Retention retention, Clock clock) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot create the change log directory " + dir + " (log.dir): " + e.getMessage()
                    + "; give a writable directory");
        }
        try {
            // no background commits: sync() decides when a version is durable. MVStore still writes
            // pages out when its unsaved memory grows, so a long transaction does not fill the heap
            // before its commit (MvStoreChangeLogTest)
            MVStore store = new MVStore.Builder().fileName(dir.resolve("changes.mv").toString()).autoCommitDisabled().open();
            store.setRetentionTime(RETAIN_CHUNKS_MILLIS);
            return new MvStoreChangeLog(store, retention, clock);
        } catch (MVStoreException e) {
            throw new IllegalArgumentException("cannot open the change log in " + dir + " (log.dir): " + e.getMessage()
                    + "; is another tidings serve using it? Each server needs a directory of its own");
        }
    }

    @Override
    public void append(ChangeEvent event) {
        EventId id = EventId.of(event);
        EventId newest = last;
        if (newest != null && !id.isAfter(newest)) {
            return;
        }
        byte[] record = EventCodec.encode(event, clock.millis());
        events.put(id, record);
        bytes += record.length;
        last = id;
    }

    @Override
    public EventId sync() {
        EventId newest = last;
        meta.put(BYTES, Long.toString(bytes));
        store.commit();
        store.sync();
        return newest;
    }

    @Override
    public long trim(EventId keepFrom) {
        long oldestKept = clock.millis() - retention.maxAge().toMillis();
        long removed = 0;
        EventId removedNewest = null;
        for (EventId id = events.firstKey(); id != null && !id.equals(last)
                && (keepFrom == null || keepFrom.isAfter(id)); id = events.firstKey()) {
            byte[] record = events.get(id);
            if (EventCodec.appendedMillis(record) >= oldestKept && bytes <= retention.maxBytes()) {
                break;
            }
            events.remove(id);
            bytes -= record.length;
            removedNewest = id;
            removed++;
        }
        if (removedNewest != null) {
            meta.put(HORIZON, removedNewest.toString());
            store.compact(COMPACT_FILL_PERCENT, COMPACT_BYTES);
        }
        return removed;
    }

    @Override
    public Read readAfter(EventId after, int max) {
        EventId first = events.firstKey();
        if (after != null && (first == null || first.isAfter(after))) {
            String horizon = meta.get(HORIZON);
            if (horizon == null || EventId.parse(horizon).isAfter(after)) {
                return new Read.Expired(first);
            }
        }
        List<ChangeEvent> found = new ArrayList<>(Math.min(max, 1024));
        Cursor<EventId, byte[]> cursor = events.cursor(after);
        while (cursor.hasNext() && found.size() < max) {
            EventId id = cursor.next();
            if (after == null || id.isAfter(after)) {
                found.add(EventCodec.decode(cursor.getValue()));
            }
        }
        return new Read.Events(found);
    }

    @Override
    public ChangeEvent read(EventId id) {
        byte[] record = events.get(id);
        return record == null ? null : EventCodec.decode(record);
    }

    @Override
    public ConcurrentMap<String, String> textMap(String name) {
        return store.openMap(name, new MVMap.Builder<String, String>().keyType(StringDataType.INSTANCE)
                .valueType(StringDataType.INSTANCE));
    }

    @Override
    public ConcurrentMap<EventId, Integer> idMap(String name) {
        return store.openMap(name, new MVMap.Builder<EventId, Integer>().keyType(KeyType.INSTANCE)
                .valueType(IntType.INSTANCE));
    }

    @Override
    public void removeMap(String name) {
        if (store.hasMap(name)) {
            store.removeMap(name);
        }
    }

    @Override
    public EventId last() {
        return last;
    }

    @Override
    public EventId first() {
        return events.firstKey();
    }

    @Override
    public Size size() {
        return new Size(events.sizeAsLong(), bytes);
    }

    @Override
    public void close() {
        if (!store.isClosed()) {
            meta.put(BYTES, Long.toString(bytes));
            store.close();
        }
    }

    /** A map value that is a whole number. */
    private static final class IntType extends BasicDataType<Integer> {
        static final IntType INSTANCE = new IntType();

        @Override
        public int getMemory(Integer v) {
            return 16;
        }

        @Override
        public void write(WriteBuffer buffer, Integer v) {
            buffer.putVarInt(v);
        }

        @Override
        public Integer read(ByteBuffer buffer) {
            return org.h2.mvstore.DataUtils.readVarInt(buffer);
        }

        @Override
        public Integer[] createStorage(int size) {
            return new Integer[size];
        }
    }

    /** {@link EventId} as a B-tree key: 12 bytes, in id order. */
    private static final class KeyType extends BasicDataType<EventId> {
        static final KeyType INSTANCE = new KeyType();

        @Override
        public int getMemory(EventId id) {
            return 32;
        }

        @Override
        public void write(WriteBuffer buffer, EventId id) {
            buffer.putLong(id.lsn()).putInt(id.index());
        }

        @Override
        public EventId read(ByteBuffer buffer) {
            return new EventId(buffer.getLong(), buffer.getInt());
        }

        @Override
        public int compare(EventId a, EventId b) {
            return a.compareTo(b);
        }

        @Override
        public EventId[] createStorage(int size) {
            return new EventId[size];
        }
    }
}
