package dev.tidings.server.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidings.source.DatabaseUrl;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * {@code config.broadcast.replay} of a join ({@code {since: <ms since the epoch>, limit: n}}): the
 * newest {@code limit} broadcasts stored in {@code realtime.messages} for the topic since
 * {@code since}, oldest first, as Supabase Realtime replays them — read from the table, where the
 * database's broadcasts ({@code realtime.send}, {@code realtime.broadcast_changes}, INSERTs) are
 * stored; client and REST broadcasts are not stored, so not replayed (as in Supabase).
 *
 * <p>Supabase replays only on private channels, and only their private rows; here a channel gets
 * the rows of its own kind (a public channel the public rows, which anyone may read anyway).
 * {@code limit} is at most {@value #MAX_LIMIT} (Supabase's bound), 25 when absent. One short query
 * on a connection of its own per join that asks; a join without {@code replay} costs nothing.
 */
public final class BroadcastHistory {
    static final int MAX_LIMIT = 25;

    private static final String QUERY = "SELECT id::text, event, payload::text, binary_payload FROM realtime.messages"
            + " WHERE topic = ? AND private = ? AND extension = 'broadcast' AND event IS NOT NULL"
            + " AND inserted_at >= (to_timestamp(? / 1000.0) AT TIME ZONE current_setting('TimeZone'))"
            + " ORDER BY inserted_at DESC LIMIT ?";

    private final DatabaseUrl database;

    public BroadcastHistory(DatabaseUrl database) {
        this.database = database;
    }

    /** What a join's {@code config.broadcast.replay} asks for. */
    public record Request(long since, int limit) {}

    /** Why a replay cannot be served: its reason is the join's error. */
    public static final class Refused extends Exception {
        Refused(String reason) {
            super(reason);
        }
    }

    /**
     * The replay a join's {@code config} asks for, or null when it asks for none.
     *
     * @throws Refused when {@code replay} is not {@code {since, limit}} with integers
     */
    public static Request request(JsonNode config) throws Refused {
        JsonNode replay = config == null ? null : config.path("broadcast").get("replay");
        if (replay == null || replay.isNull()) {
            return null;
        }
        JsonNode since = replay.get("since");
        JsonNode limit = replay.get("limit");
        if (!replay.isObject() || since != null && !since.isIntegralNumber() || limit != null && !limit.isIntegralNumber()) {
            throw new Refused("UnableToReplayMessages: Replay params are not valid: config.broadcast.replay is "
                    + "{since: <milliseconds since 1970>, limit: <1 to " + MAX_LIMIT + ">}, not " + replay);
        }
        int n = limit == null ? MAX_LIMIT : (int) Math.max(1, Math.min(MAX_LIMIT, limit.asLong()));
        return new Request(since == null ? 0 : since.asLong(), n);
    }

    /** The stored broadcasts of {@code topic} the request asks for, oldest first, marked {@code replayed}. */
    List<BroadcastMessage> read(String topic, boolean isPrivate, Request request) throws Refused {
        List<BroadcastMessage> out = new ArrayList<>();
        try (Connection c = database.connect(); PreparedStatement ps = c.prepareStatement(QUERY)) {
            ps.setQueryTimeout(5);
            ps.setString(1, topic);
            ps.setBoolean(2, isPrivate);
            ps.setLong(3, request.since());
            ps.setInt(4, request.limit());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    byte[] binary = rs.getBytes(4);
                    String json = rs.getString(3);
                    if (binary == null && json == null) {
                        continue;
                    }
                    out.add(BroadcastMessage.stored(topic, rs.getString(2), binary != null ? binary
                            : json.getBytes(StandardCharsets.UTF_8), binary != null, rs.getString(1), true));
                }
            }
        } catch (SQLException e) {
            throw new Refused("UnableToReplayMessages: Realtime was unable to replay messages (" + e.getMessage()
                    + "; realtime.messages is created by tidings install-realtime-sql)");
        }
        Collections.reverse(out);
        return out;
    }
}
