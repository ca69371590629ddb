package dev.tidings.server.presence;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Who is present on one topic, in the shapes of Phoenix Presence that realtime-js's
 * {@code RealtimePresence} syncs from.
 *
 * <p>State: presence key → the metas tracked under it, one per tracking member, in tracking order.
 * A meta is the tracked payload plus a unique {@code phx_ref}. {@code presence_state} is
 * {@code {key: {metas: [meta…]}}}; {@code presence_diff} is {@code {joins: {…}, leaves: {…}}} of
 * the same shape. Tracking again replaces the member's meta: the new one (with
 * {@code phx_ref_prev}) joins and the old one leaves in one diff, as Phoenix does.
 *
 * <p>Thread-safe (one lock per topic); callers deliver the returned diff while the state it came
 * from is still current, by holding {@link #lock()}.
 */
public final class TopicPresence {
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Entry(String key, ObjectNode meta, ObjectNode payload) {}

    private final Map<Object, Entry> byMember = new LinkedHashMap<>();

    /** The lock under which a diff must be delivered to keep diffs in the order of the state. */
    public Object lock() {
        return this;
    }

    /**
     * Tracks {@code payload} for {@code member} under {@code key}; returns the {@code presence_diff}
     * payload, or null when the member already tracked exactly this.
     */
    public synchronized byte[] track(Object member, String key, ObjectNode payload) {
        Entry old = byMember.get(member);
        if (old != null && old.key.equals(key) && old.payload.equals(payload)) {
            return null;
        }
        ObjectNode meta = payload.deepCopy();
        meta.put("phx_ref", newRef());
        if (old != null) {
            meta.put("phx_ref_prev", old.meta.get("phx_ref").asText());
        }
        Entry entry = new Entry(key, meta, payload.deepCopy());
        byMember.put(member, entry);
        ObjectNode diff = JSON.createObjectNode();
        add(diff.putObject("joins"), entry);
        ObjectNode leaves = diff.putObject("leaves");
        if (old != null) {
            add(leaves, old);
        }
        return bytes(diff);
    }

    /** Stops tracking {@code member}; returns the {@code presence_diff} payload, or null when it tracked nothing. */
    public synchronized byte[] untrack(Object member) {
        Entry old = byMember.remove(member);
        if (old == null) {
            return null;
        }
        ObjectNode diff = JSON.createObjectNode();
        diff.putObject("joins");
        add(diff.putObject("leaves"), old);
        return bytes(diff);
    }

    /** The {@code presence_state} payload. */
    public synchronized byte[] state() {
        ObjectNode state = JSON.createObjectNode();
        for (Entry e : byMember.values()) {
            add(state, e);
        }
        return bytes(state);
    }

    public synchronized int size() {
        return byMember.size();
    }

    private static void add(ObjectNode byKey, Entry e) {
        ObjectNode group = byKey.has(e.key) ? (ObjectNode) byKey.get(e.key) : byKey.putObject(e.key);
        (group.has("metas") ? (com.fasterxml.jackson.databind.node.ArrayNode) group.get("metas") : group.putArray("metas"))
                .add(e.meta);
    }

    /** A reference unique in practice, as Phoenix's: random, URL-safe. */
    private static String newRef() {
        byte[] b = new byte[9];
        ThreadLocalRandom.current().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static byte[] bytes(ObjectNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
