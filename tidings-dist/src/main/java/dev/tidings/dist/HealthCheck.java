package dev.tidings.dist;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;

/**
 * The container image's health command: exits 0 when {@code GET /health} of the server in the
 * same container answers 200, else 1 with one line saying why. An OCI image cannot carry a
 * HEALTHCHECK and the image has no shell or HTTP client, so runtimes that probe by command
 * run this ({@code podman run --health-cmd …}, docs/operations.md); Kubernetes probes the HTTP
 * endpoints directly. The port is the argument if one is given, else {@code PORT} as for the
 * server (4000 when unset).
 */
public final class HealthCheck {
    private HealthCheck() {}

    public static void main(String[] args) {
        String port = args.length > 0 ? args[0] : System.getenv().getOrDefault("PORT", "4000");
        String url = "http://127.0.0.1:" + port + "/health";
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setConnectTimeout(2000);
            c.setReadTimeout(3000);
            int status = c.getResponseCode();
            c.disconnect();
            if (status != 200) {
                System.err.println("unhealthy: " + url + " answered " + status);
                System.exit(1);
            }
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("unhealthy: " + url + ": " + e.getMessage());
            System.exit(1);
        }
    }
}
