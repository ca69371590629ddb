package dev.tidings.server.broadcast;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidings.server.presence.TopicPresence;

import java.io.IOException;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@link Rooms} of one process: topic → its members and its presence.
 *
 * <p>Design. A broadcast reads the topic's member list (copy-on-write: joins are rare, messages
 * many) and queues one shared frame per serializer version to each member; nothing is locked, so
 * broadcasts from different senders run in parallel, and those of one sender, handled one after
 * another on its connection's thread, arrive in the order sent. Presence changes take the topic's
 * presence lock and deliver their diff under it, and a joining member is added and sent
 * {@code presence_state} under the same lock, so every member sees the state and then exactly the
 * diffs after it. A topic's entry is made on the first join and dropped with its last member, both
 * inside the map's per-key compute, so a join never lands in a room being dropped.
 *
 * <p>Private channels ({@link Member#isPrivate}) have rooms of their own, apart from the public
 * channel of the same topic (as in Supabase Realtime); there a broadcast or a presence goes only to
 * the members whose policies let them read it ({@link Member#may}).
 */
public final class LocalRooms implements Rooms {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final class Room {
        final List<Member> members = new CopyOnWriteArrayList<>();
        final TopicPresence presence = new TopicPresence();
    }

    private final Map<String, Room> publicRooms = new ConcurrentHashMap<>();
    private final Map<String, Room> privateRooms = new ConcurrentHashMap<>();
    private final AtomicInteger members = new AtomicInteger();

    private Map<String, Room> rooms(boolean isPrivate) {
        return isPrivate ? privateRooms : publicRooms;
    }

    private Map<String, Room> rooms(Member member) {
        return rooms(member.isPrivate());
    }

    @Override
    public void join(Member member) {
        rooms(member).compute(member.subTopic(), (topic, room) -> {
            Room r = room == null ? new Room() : room;
            synchronized (r.presence.lock()) {
                r.members.add(member);
                if (member.options().presenceEnabled() && member.may(Member.Right.READ_PRESENCE)) {
                    member.push("presence_state", r.presence.state());
                }
            }
            return r;
        });
        members.incrementAndGet();
    }

    @Override
    public void leave(Member member) {
        Room room = rooms(member).get(member.subTopic());
        if (room == null) {
            return;
        }
        if (room.members.remove(member)) {
            members.decrementAndGet();
        }
        untrack(member);
        rooms(member).computeIfPresent(member.subTopic(), (topic, r) -> r.members.isEmpty() && r.presence.size() == 0 ? null : r);
    }

    @Override
    public int broadcast(BroadcastMessage message) {
        Room room = rooms(message.isPrivate()).get(message.topic());
        if (room == null) {
            return 0;
        }
        Member sender = message.sender();
        int n = 0;
        for (Member m : room.members) {
            if (m == sender && !m.options().self() || message.storedId() != null && m.replayed(message.storedId())
                    || message.isPrivate() && !m.may(Member.Right.READ_BROADCAST)) {
                continue;
            }
            byte[] frame = message.frame(m.framing());
            if (frame != null) {
                m.send(frame);
                n++;
            }
        }
        return n;
    }

    @Override
    public boolean track(Member member, byte[] meta) {
        Room room = rooms(member).get(member.subTopic());
        if (room == null) {
            return false;
        }
        ObjectNode payload;
        try {
            payload = (ObjectNode) JSON.readTree(meta);
        } catch (IOException | ClassCastException e) {
            throw new IllegalArgumentException("Presence track payload must be a map");
        }
        return trackIn(room, member, member.options().presenceKey(), payload);
    }

    /** Tracks a presence held by another node (relayed), making the topic's room if no member is here. */
    void trackRemote(String topic, boolean isPrivate, Object who, String key, ObjectNode payload) {
        rooms(isPrivate).compute(topic, (t, room) -> {
            Room r = room == null ? new Room() : room;
            trackIn(r, who, key, payload);
            return r;
        });
    }

    /** Stops a presence held by another node; drops the room when nothing is left in it. */
    void untrackRemote(String topic, boolean isPrivate, Object who) {
        rooms(isPrivate).computeIfPresent(topic, (t, r) -> {
            untrackIn(r, who);
            return r.members.isEmpty() && r.presence.size() == 0 ? null : r;
        });
    }

    private static boolean trackIn(Room room, Object who, String key, ObjectNode payload) {
        synchronized (room.presence.lock()) {
            byte[] diff = room.presence.track(who, key, payload);
            if (diff == null) {
                return false;
            }
            deliverDiff(room, diff);
            return true;
        }
    }

    private static boolean untrackIn(Room room, Object who) {
        synchronized (room.presence.lock()) {
            byte[] diff = room.presence.untrack(who);
            if (diff == null) {
                return false;
            }
            deliverDiff(room, diff);
            return true;
        }
    }

    @Override
    public boolean untrack(Member member) {
        Room room = rooms(member).get(member.subTopic());
        if (room == null) {
            return false;
        }
        return untrackIn(room, member);
    }

    /** Every member of the topic, the tracking one included, gets the diff (as Phoenix Presence does). */
    private static void deliverDiff(Room room, byte[] diff) {
        Map<Framing, byte[]> frames = new IdentityHashMap<>(2);
        for (Member m : room.members) {
            if (!m.may(Member.Right.READ_PRESENCE)) {
                continue;
            }
            byte[] frame = frames.computeIfAbsent(m.framing(), f -> f.text("realtime:" + m.subTopic(), "presence_diff", diff));
            m.send(frame);
        }
    }

    @Override
    public int members() {
        return members.get();
    }

    @Override
    public int presences() {
        int n = 0;
        for (Room r : publicRooms.values()) {
            n += r.presence.size();
        }
        for (Room r : privateRooms.values()) {
            n += r.presence.size();
        }
        return n;
    }
}
