package io.etcdrecipes.client;

import io.etcdrecipes.testkit.EtcdMember;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * Reads a member's Prometheus {@code /metrics} over HTTP: the server's own count of watch streams,
 * watchers and gRPC streams is better evidence of "one stream" than anything the client says of itself.
 */
final class ServerMetrics {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private ServerMetrics() {}

  /** The sum of every sample of {@code name} whose labels contain each of {@code labelParts}. */
  static double value(EtcdMember member, String name, String... labelParts) {
    String body;
    try {
      body = HTTP.send(HttpRequest.newBuilder(URI.create(member.clientEndpoint() + "/metrics"))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read /metrics of " + member + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
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

  /** {@link #value} summed over the running members. */
  static long sum(List<EtcdMember> members, String name, String... labelParts) {
    double s = 0;
    for (EtcdMember m : members) {
      if (m.isRunning()) {
        s += value(m, name, labelParts);
      }
    }
    return Math.round(s);
  }

  /** The one running member that serves a watch stream, by the servers' own count (waits up to 30 s). */
  static EtcdMember memberWithWatchStream(List<EtcdMember> members) {
    List<EtcdMember> withStream = new java.util.ArrayList<>();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      withStream.clear();
      for (EtcdMember m : members) {
        if (m.isRunning() && value(m, "etcd_debugging_mvcc_watch_stream_total") > 0) {
          withStream.add(m);
        }
      }
      org.assertj.core.api.Assertions.assertThat(withStream).hasSize(1);
    });
    return withStream.get(0);
  }

  /** gRPC streams of {@code method} currently open on the running members (started - handled). */
  static long openStreams(List<EtcdMember> members, String method) {
    String label = "grpc_method=\"" + method + "\"";
    return sum(members, "grpc_server_started_total", label) - sum(members, "grpc_server_handled_total", label);
  }
}
