package io.etcdrecipes.testkit.internal;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/** Plain HTTP/1.1 GETs against an etcd member's client port ({@code /health}, {@code /metrics}). Not public API. */
public final class Http {
    private Http() {}

    // HTTP/1.1 only: etcd multiplexes gRPC (h2c) and HTTP/1 on the client port; no h2c upgrade dance.
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(1))
            .build();

    /** The body of a 200 response, or empty on any other status, error or timeout. */
    public static Optional<String> get(String url, Duration timeout) {
        try {
            return Optional.ofNullable(getOnce(url, timeout));
        } catch (java.net.http.HttpTimeoutException e) {
            return Optional.empty();
        } catch (IOException e) {
            // Perhaps a pooled keep-alive connection the member closed (restart): one more try on a fresh one.
            try {
                return Optional.ofNullable(getOnce(url, timeout));
            } catch (IOException again) {
                return Optional.empty();
            }
        }
    }

    private static String getOnce(String url, Duration timeout) throws IOException {
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build();
            HttpResponse<String> response = CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? response.body() : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** True if {@code GET /health} answers {@code "health":"true"}. */
    public static boolean healthy(int clientPort, Duration timeout) {
        return get("http://127.0.0.1:" + clientPort + "/health", timeout)
                .map(body -> body.replace(" ", "").contains("\"health\":\"true\""))
                .orElse(false);
    }

    /** True if {@code GET /metrics} reports {@code etcd_server_is_leader 1}. */
    public static boolean isLeader(int clientPort, Duration timeout) {
        return get("http://127.0.0.1:" + clientPort + "/metrics", timeout)
                .map(body -> body.lines().anyMatch(l -> l.trim().equals("etcd_server_is_leader 1")))
                .orElse(false);
    }
}
