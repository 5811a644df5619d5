package io.etcdrecipes.testkit;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads and writes keys through etcd's JSON gateway ({@code /v3/kv/put}, {@code /v3/kv/range}), so tests need no client of ours. */
final class EtcdHttp {
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(1))
            .build();
    private static final Pattern VALUE = Pattern.compile("\"value\"\\s*:\\s*\"([^\"]*)\"");
    static final Duration TIMEOUT = Duration.ofSeconds(2);

    private EtcdHttp() {}

    /** Writes a key; throws if the member does not confirm within 2 s. */
    static void put(String endpoint, String key, String value) throws IOException, InterruptedException {
        String body = "{\"key\":\"" + b64(key) + "\",\"value\":\"" + b64(value) + "\"}";
        HttpResponse<String> r = post(endpoint + "/v3/kv/put", body, TIMEOUT);
        if (r.statusCode() != 200) throw new IOException("put " + key + " via " + endpoint + ": HTTP " + r.statusCode() + " " + r.body());
    }

    /** True if the put succeeded (for use inside Awaitility retries). */
    static boolean tryPut(String endpoint, String key, String value) {
        try {
            put(endpoint, key, value);
            return true;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Reads a key; {@code serializable} reads the member's local state without asking the leader. */
    static Optional<String> get(String endpoint, String key, boolean serializable) throws IOException, InterruptedException {
        String body = "{\"key\":\"" + b64(key) + "\"" + (serializable ? ",\"serializable\":true" : "") + "}";
        HttpResponse<String> r = post(endpoint + "/v3/kv/range", body, TIMEOUT);
        if (r.statusCode() != 200) throw new IOException("range " + key + " via " + endpoint + ": HTTP " + r.statusCode() + " " + r.body());
        Matcher m = VALUE.matcher(r.body());
        return m.find() ? Optional.of(new String(Base64.getDecoder().decode(m.group(1)), StandardCharsets.UTF_8)) : Optional.empty();
    }

    /** {@link #get} that maps failures to empty (for use inside Awaitility retries). */
    static Optional<String> tryGet(String endpoint, String key, boolean serializable) {
        try {
            return get(endpoint, key, serializable);
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** GET /health with a timeout; throws on timeout or connection failure. */
    static String health(String endpoint, Duration timeout) throws IOException, InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(URI.create(endpoint + "/health")).timeout(timeout).GET().build();
        return CLIENT.send(req, HttpResponse.BodyHandlers.ofString()).body();
    }

    /** True if the member answers /metrics with {@code etcd_server_is_leader 0} (it positively says it is not leader). */
    static boolean reportsFollower(String endpoint) {
        try {
            HttpRequest req = HttpRequest.newBuilder(URI.create(endpoint + "/metrics")).timeout(TIMEOUT).GET().build();
            return CLIENT.send(req, HttpResponse.BodyHandlers.ofString()).body().lines()
                    .anyMatch(l -> l.trim().equals("etcd_server_is_leader 0"));
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static HttpResponse<String> post(String url, String body, Duration timeout) throws IOException, InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(URI.create(url))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        return CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
