package dev.tidings.server.realtime;

import dev.tidings.server.auth.Authenticator;
import dev.tidings.server.auth.ChannelAuthorization;
import dev.tidings.server.auth.RowSecurity;
import dev.tidings.server.broadcast.BroadcastHistory;
import dev.tidings.server.broadcast.BroadcastService;
import dev.tidings.server.live.LiveService;
import dev.tidings.server.log.LogReader;

/**
 * What every Realtime connection of one server shares.
 *
 * @param live    the live fan-out, send queues and their writer (shared with SSE)
 * @param auth    tokens and grants
 * @param catalog column types for checking filters at join; null to skip the checks
 * @param broadcasts Broadcast and Presence, and the limits of each connection
 * @param changeLog  the change log channels resume from ({@link ChangeReplay}); null when there is none
 * @param history    the stored broadcasts a join may ask to replay; null when the server reads no database
 * @param rowSecurity the RLS checks of every change in RLS mode ({@code auth.rls}), else null
 * @param channels    authorizes private channels; null when the server reads no database (an edge node)
 */
record RealtimeService(LiveService live, Authenticator auth, TableCatalog catalog, BroadcastService broadcasts,
                       LogReader changeLog, BroadcastHistory history, RowSecurity rowSecurity,
                       ChannelAuthorization channels) {}
