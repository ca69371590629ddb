package dev.tidings.server.sinks;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;

/**
 * Signs webhook requests as the Standard Webhooks specification says: the signature is
 * {@code v1,} followed by base64 of HMAC-SHA256 over {@code <webhook-id>.<webhook-timestamp>.<body>},
 * with the secret's bytes as key. A secret written {@code whsec_<base64>} is base64-decoded
 * (the spec's form); any other secret is used as its UTF-8 bytes. Thread-safe.
 */
public final class WebhookSigner {
    private final byte[] key;

    public WebhookSigner(String secret) {
        if (secret == null || secret.isEmpty()) {
            throw new IllegalArgumentException("webhook secret is empty");
        }
        this.key = secret.startsWith("whsec_")
                ? Base64.getDecoder().decode(secret.substring("whsec_".length()))
                : secret.getBytes(StandardCharsets.UTF_8);
    }

    /** The {@code webhook-signature} header value. */
    public String sign(String id, long timestampSeconds, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update((id + "." + timestampSeconds + ".").getBytes(StandardCharsets.UTF_8));
            return "v1," + Base64.getEncoder().encodeToString(mac.doFinal(body));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
