package dev.tidings.server.realtime;

import dev.tidings.server.auth.Authenticator;
import dev.tidings.server.auth.ChannelAuthorization;
import dev.tidings.server.auth.RowSecurity;
import dev.tidings.server.broadcast.BroadcastHistory;
import dev.tidings.server.broadcast.BroadcastService;
import dev.tidings.server.live.LiveService;
import dev.tidings.server.log.LogReader;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.websocket.server.ServerUpgradeRequest;
import org.eclipse.jetty.websocket.server.ServerUpgradeResponse;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;
import org.eclipse.jetty.websocket.server.WebSocketCreator;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;

/**
 * The Realtime WebSocket endpoint, {@code /socket/websocket} and {@code /realtime/v1/websocket}:
 * checks the upgrade request (serializer {@code vsn}; with secure channels the connect-time token,
 * 400/401/403 otherwise) and opens a {@link RealtimeSocket} for it. Thread-safe.
 */
public final class RealtimeEndpoint implements WebSocketCreator {
    /** The paths Realtime clients connect to. */
    public static final List<String> PATHS = List.of("/socket/websocket", "/realtime/v1/websocket");

    private final RealtimeService service;

    /**
     * @param catalog    column types for checking filters at join; null to skip the checks
     * @param broadcasts Broadcast and Presence of the server
     * @param changeLog  the change log channels resume from; null when there is none
     * @param rowSecurity the RLS checks in RLS mode ({@code auth.rls}), else null
     * @param channels   authorizes private channels; null when the server reads no database
     */
    public RealtimeEndpoint(LiveService live, Authenticator auth, TableCatalog catalog, BroadcastService broadcasts,
                            LogReader changeLog, RowSecurity rowSecurity, ChannelAuthorization channels) {
        this.service = new RealtimeService(live, auth, catalog, broadcasts, changeLog,
                catalog == null ? null : new BroadcastHistory(catalog.database()), rowSecurity, channels);
    }

    /** Maps the Realtime paths of {@code container} to this endpoint, with its frame and idle limits. */
    public void install(ServerWebSocketContainer container, int maxFrameBytes) {
        for (String path : PATHS) {
            container.addMapping(path, this);
        }
        container.setMaxTextMessageSize(maxFrameBytes);
        container.setMaxBinaryMessageSize(maxFrameBytes);
        container.setIdleTimeout(Duration.ofSeconds(90));
    }

    @Override
    public Object createWebSocket(ServerUpgradeRequest request, ServerUpgradeResponse response, Callback callback) {
        Fields q = Request.extractQueryParameters(request);
        String vsn = q.getValue("vsn");
        PhoenixFrame.Vsn parsed = PhoenixFrame.Vsn.parse(vsn);
        if (parsed == null) {
            refuse(response, callback, 400, Authenticator.errorBody("unsupported vsn '" + vsn + "': use 1.0.0 or 2.0.0"));
            return null;
        }
        Authenticator.Admission admission = service.auth().admit(q.getValue("apikey"), q.getValue("token"),
                request.getHeaders().get("x-api-key"), request.getHeaders().get(HttpHeader.AUTHORIZATION));
        if (!admission.admitted()) {
            refuse(response, callback, admission.status(), admission.jsonBody());
            return null;
        }
        // no permessage-deflate (Supabase Realtime does not compress either): compressing each
        // change once per connection would cost more than everything else the fan-out does
        response.setExtensions(List.of());
        return new RealtimeSocket(service, parsed, admission.rawToken());
    }

    private static void refuse(Response response, Callback callback, int status, byte[] json) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(json), callback);
    }
}
