package io.etcdrecipes.testkit;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * Reads a member's Prometheus {@code /metrics}: the server's own count of what it received and sent (gRPC
 * messages per method, watch streams, watchers) is better evidence than anything a client says of itself. Used to
 * count RPCs and watch events in tests ("one release causes O(1) RPCs") and to see that a request reached the
 * server.
 *
 * <pre>{@code
 * double renewals = MemberMetrics.value(member, "grpc_server_msg_received_total", "grpc_method=\"LeaseKeepAlive\"");
 * }</pre>
 */
public final class MemberMetrics {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private MemberMetrics() {}

    /** The sum of every sample of {@code name} whose label text contains each of {@code labelParts}. */
    public static double value(EtcdMember member, String name, String... labelParts) {
        String body;
        try {
            body = HTTP.send(HttpRequest.newBuilder(URI.create(member.clientEndpoint() + "/metrics"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /metrics of " + member + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted reading /metrics of " + member, e);
        }
        double sum = 0;
        for (String line : body.split("\n")) {
            if (line.startsWith("#") || !line.startsWith(name)) {
                continue;
            }
            String rest = line.substring(name.length());
            if (!rest.startsWith(" ") && !rest.startsWith("{")) {
                continue; // a longer name with the same prefix
            }
            boolean match = true;
            for (String l : labelParts) {
                match &= rest.contains(l);
            }
            if (match) {
                sum += Double.parseDouble(rest.substring(rest.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** {@link #value} summed over the running members of {@code members}. */
    public static long sum(List<EtcdMember> members, String name, String... labelParts) {
        double s = 0;
        for (EtcdMember m : members) {
            if (m.isRunning()) {
                s += value(m, name, labelParts);
            }
        }
        return Math.round(s);
    }

    /** gRPC messages {@code member} received for {@code method} (e.g. {@code "LeaseKeepAlive"}, {@code "Range"}). */
    public static long received(EtcdMember member, String method) {
        return Math.round(value(member, "grpc_server_msg_received_total", "grpc_method=\"" + method + "\""));
    }
}
