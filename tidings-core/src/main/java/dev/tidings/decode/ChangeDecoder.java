package dev.tidings.decode;

import dev.tidings.base.Lsn;
import dev.tidings.event.ChangeEvent;
import dev.tidings.event.Column;
import dev.tidings.event.ColumnList;
import dev.tidings.event.LogicalMessage;
import dev.tidings.event.Op;
import dev.tidings.event.Row;
import dev.tidings.event.Transaction;
import dev.tidings.event.TruncateOptions;
import dev.tidings.pgoutput.DecodeException;
import dev.tidings.pgoutput.PgOutputDecoder;
import dev.tidings.pgoutput.PgOutputMessage.OldTupleKind;
import dev.tidings.pgoutput.PgOutputMessage;
import dev.tidings.pgoutput.TupleData;
import dev.tidings.value.JsonValueConverter;
import dev.tidings.value.PgType;
import dev.tidings.value.TypeRegistry;
import dev.tidings.value.UnknownTypeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Turns pgoutput messages into {@link StreamItem}s: transactions and their change events.
 *
 * <p>Design. One instance per replication stream, used by one thread. It keeps the relation cache
 * (the last Relation message per table: PostgreSQL sends one before the first change of a table
 * on a connection and again after every change of its shape, so the cache is always current for
 * the change that follows) and the current transaction with its change counter, which gives each
 * event its id {@code <commit LSN>:<index>}. The Begin message carries the commit LSN, so ids are
 * known before the commit arrives and nothing of a transaction has to be held back.
 *
 * <p>Values are converted to JSON here, once, by {@link JsonValueConverter}; every output format
 * copies that text. A type the catalog does not hold is rendered as a JSON string of its text
 * output (what to_jsonb does for any type it has no special rule for), with one warning. A lookup
 * that could not be made ({@link dev.tidings.value.CatalogLookupException}) is never taken for an
 * unknown type: it ends the stream, which starts again from the last confirmed transaction. A
 * value that does not fit its cached type (a composite altered by ALTER TYPE, which PostgreSQL
 * does not announce) makes every type be looked up again, and the writer is rebuilt.
 *
 * <p>Streamed (in-progress) and two-phase transactions are not requested from the server, so
 * their messages are rejected here as a protocol error rather than guessed at.
 */
public final class ChangeDecoder {
    private static final Logger log = LoggerFactory.getLogger(ChangeDecoder.class);

    private final TypeRegistry types;
    private final RelationKeys keys;
    private final JsonValueConverter values;
    private final Map<Integer, RelationInfo> relations = new HashMap<>();
    private PgOutputDecoder decoder;
    private Transaction tx;
    private boolean begun;
    private int index;

    public ChangeDecoder(TypeRegistry types) {
        this(types, RelationKeys.PGOUTPUT);
    }

    public ChangeDecoder(TypeRegistry types, RelationKeys keys) {
        this.keys = keys;
        this.types = types;
        this.values = new JsonValueConverter(types);
    }

    /** A new stream starts: forget any unfinished transaction; relations will be sent again. */
    public void streamStarted(int protoVersion) {
        decoder = new PgOutputDecoder(protoVersion);
        relations.clear();
        tx = null;
    }

    /** True between a Begin and its Commit. */
    public boolean inTransaction() {
        return tx != null;
    }

    /** Decodes one pgoutput message starting at {@code walStart} and emits what it means. */
    public void decode(Lsn walStart, ByteBuffer payload, Consumer<StreamItem> out) throws DecodeException {
        PgOutputMessage message = decoder.decode(payload);
        switch (message) {
            case PgOutputMessage.Begin b -> {
                tx = new Transaction(Integer.toUnsignedLong(b.xid()), b.finalLsn(), b.commitTime());
                index = 0;
                begun = false; // emitted with the first item, once an Origin message had its chance
            }
            case PgOutputMessage.Commit c -> {
                Transaction done = requireTx(c);
                begin(out);
                tx = null;
                out.accept(new StreamItem.Commit(done, c.endLsn()));
            }
            case PgOutputMessage.Relation r -> relations.put(r.relationId(), resolve(r));
            case PgOutputMessage.Type t -> types.invalidate(t.typeOid());
            case PgOutputMessage.Origin o -> {
                if (tx != null && !begun) {
                    tx = tx.withOrigin(o.name());
                }
            }
            case PgOutputMessage.Insert i -> {
                RelationInfo rel = relation(i.relationId());
                change(out, Op.INSERT, rel, row(rel, i.newTuple()), null, walStart, null);
            }
            case PgOutputMessage.Update u -> {
                RelationInfo rel = relation(u.relationId());
                Row old = u.oldTuple() == null ? null : oldRow(rel, u.oldKind(), u.oldTuple());
                change(out, Op.UPDATE, rel, row(rel, u.newTuple()), old, walStart, null);
            }
            case PgOutputMessage.Delete d -> {
                RelationInfo rel = relation(d.relationId());
                change(out, Op.DELETE, rel, null, oldRow(rel, d.oldKind(), d.oldTuple()), walStart, null);
            }
            case PgOutputMessage.Truncate t -> {
                TruncateOptions options = new TruncateOptions(t.cascade(), t.restartIdentity());
                for (int id : t.relationIds()) {
                    RelationInfo rel = relation(id);
                    change(out, Op.TRUNCATE, rel, null, null, walStart, options);
                }
            }
            case PgOutputMessage.Message m -> message(m, out);
            default -> throw new DecodeException("unexpected " + message.getClass().getSimpleName()
                    + " message: Tidings does not request streamed or two-phase transactions", 0);
        }
    }

    private void message(PgOutputMessage.Message m, Consumer<StreamItem> out) {
        LogicalMessage lm = new LogicalMessage(m.transactional(), m.prefix(), m.content());
        if (m.transactional() && tx != null) {
            begin(out);
            out.accept(new StreamItem.Change(new ChangeEvent(Op.MESSAGE, "", m.prefix(), List.of(), null, null,
                    List.of(), tx, index++, m.lsn(), lm)));
            return;
        }
        // A non-transactional message stands alone. Its LSN is the end of its WAL record, where the
        // next record (often the commit of a transaction still being received) may start: confirming
        // past it would make PostgreSQL skip that transaction on the next start. So it is confirmed
        // at its LSN exactly, and a restart from there skips the message and nothing else.
        Transaction own = new Transaction(0, m.lsn(), Instant.now());
        out.accept(new StreamItem.Begin(own));
        out.accept(new StreamItem.Change(new ChangeEvent(Op.MESSAGE, "", m.prefix(), List.of(), null, null,
                List.of(), own, 0, m.lsn(), lm)));
        out.accept(new StreamItem.Commit(own, m.lsn()));
    }

    /** Emits the current transaction's Begin, once, before its first item. */
    private void begin(Consumer<StreamItem> out) {
        if (!begun) {
            begun = true;
            out.accept(new StreamItem.Begin(tx));
        }
    }

    private void change(Consumer<StreamItem> out, Op op, RelationInfo rel, Row record, Row old, Lsn lsn,
                        TruncateOptions truncate) throws DecodeException {
        if (tx == null) {
            throw new DecodeException(op.json() + " of " + rel.schema() + "." + rel.table() + " outside a transaction", 0);
        }
        begin(out);
        List<String> toast = List.of();
        if (record != null) {
            for (int i = 0; i < record.size(); i++) {
                if (!record.has(i)) {
                    if (toast.isEmpty()) {
                        toast = new ArrayList<>(2);
                    }
                    toast.add(rel.columns().get(i).name());
                }
            }
        }
        out.accept(new StreamItem.Change(new ChangeEvent(op, rel.schema(), rel.table(), rel.columns(), record, old,
                toast.isEmpty() ? List.of() : List.copyOf(toast), tx, index++, lsn, null, truncate)));
    }

    private Row row(RelationInfo rel, TupleData tuple) throws DecodeException {
        return toRow(rel, tuple, false);
    }

    private Row oldRow(RelationInfo rel, OldTupleKind kind, TupleData tuple) throws DecodeException {
        return toRow(rel, tuple, kind == OldTupleKind.KEY);
    }

    private Row toRow(RelationInfo rel, TupleData tuple, boolean keyOnly) throws DecodeException {
        List<Column> columns = rel.columns();
        if (tuple.size() != columns.size()) {
            throw new DecodeException("row of " + rel.schema() + "." + rel.table() + " has " + tuple.size()
                    + " values for " + columns.size() + " columns", 0);
        }
        String[] json = new String[tuple.size()];
        for (int i = 0; i < json.length; i++) {
            if (keyOnly && !columns.get(i).key()) {
                continue;
            }
            json[i] = switch (tuple.get(i)) {
                case TupleData.Null n -> "null";
                case TupleData.UnchangedToast u -> null;
                case TupleData.Text t -> convert(rel, i, t.value());
                case TupleData.Binary b -> throw new DecodeException("binary value for " + columns.get(i).name()
                        + ": Tidings does not request binary mode", 0);
            };
        }
        return new Row(columns, json);
    }

    private String convert(RelationInfo rel, int column, String text) {
        int oid = rel.typeOids()[column];
        try {
            return values.toJson(oid, text);
        } catch (UnknownTypeException e) {
            return JsonValueConverter.jsonString(text);
        } catch (IllegalArgumentException misfit) {
            // The text does not fit the type as cached: a composite (or a type inside one) was altered,
            // which PostgreSQL announces with no Type message. Look every type up again.
            types.invalidateAll();
            try {
                return values.toJson(oid, text);
            } catch (UnknownTypeException | IllegalArgumentException e) {
                // written before an ALTER TYPE and decoded after it: the catalog no longer has its shape
                log.warn("a value of {}.{}.{} does not fit its type as the catalog has it now ({}); it is sent as"
                        + " a JSON string of its text", rel.schema(), rel.table(), rel.columns().get(column).name(),
                        e.getMessage());
                return JsonValueConverter.jsonString(text);
            }
        }
    }

    private RelationInfo relation(int id) throws DecodeException {
        RelationInfo rel = relations.get(id);
        if (rel == null) {
            throw new DecodeException("change for relation " + id + " before its Relation message", 0);
        }
        return rel;
    }

    private Transaction requireTx(PgOutputMessage.Commit c) throws DecodeException {
        if (tx == null) {
            throw new DecodeException("Commit at " + c.commitLsn() + " without Begin", 0);
        }
        return tx;
    }

    private RelationInfo resolve(PgOutputMessage.Relation r) {
        String schema = r.namespace().isEmpty() ? "pg_catalog" : r.namespace();
        List<Column> columns = new ArrayList<>(r.columns().size());
        int[] oids = new int[r.columns().size()];
        // Under REPLICA IDENTITY FULL every column is flagged; the key users mean is the primary key.
        Set<String> primaryKey = r.replicaIdentity() == PgOutputMessage.ReplicaIdentity.FULL
                ? keys.primaryKey(r.relationId()) : null;
        for (int i = 0; i < oids.length; i++) {
            PgOutputMessage.RelationColumn c = r.columns().get(i);
            oids[i] = c.typeOid();
            boolean key = primaryKey == null ? c.key() : primaryKey.contains(c.name());
            columns.add(new Column(c.name(), typeName(c.typeOid()), c.typeOid(), key));
        }
        return new RelationInfo(r.relationId(), schema, r.name(), ColumnList.of(columns), oids);
    }

    private String typeName(int oid) {
        try {
            PgType type = types.type(oid);
            return type.displayName();
        } catch (UnknownTypeException e) {
            log.warn("type {} is unknown ({}); its values are sent as JSON strings of their text", oid, e.getMessage());
            return "unknown";
        }
    }
}
