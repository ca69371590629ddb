package dev.tidings.server.realtime;

import dev.tidings.server.auth.Authenticator;
import dev.tidings.server.live.LiveService;

/**
 * What every Realtime connection of one server shares.
 *
 * @param live    the live fan-out, send queues and their writer (shared with SSE)
 * @param auth    tokens and grants
 * @param catalog column types for checking filters at join; null to skip the checks
 */
record RealtimeService(LiveService live, Authenticator auth, TableCatalog catalog) {}
