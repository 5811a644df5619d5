package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.NeedsIsolation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Require-leader: a member cut off from its peers answers "no leader" at once instead of holding the call
 * until its deadline. Isolating a member needs root (iptables); the test fails where it cannot run (@NeedsIsolation).
 */
class RequireLeaderTest {

  @RegisterExtension
  final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).perTest().build();

  @Test
  @NeedsIsolation
  void anIsolatedMemberFailsCallsAtOnceWithNoLeader() throws Exception {
    EtcdMember follower = etcd.members().stream().filter(m -> !m.isLeader()).findFirst().orElseThrow();
    Duration deadline = Duration.ofSeconds(5);
    try (EtcdClient plain = EtcdClient.builder().endpoints(follower.clientEndpoint()).callTimeout(deadline)
            .maxRetries(1).build();
         EtcdClient requiring = EtcdClient.builder().endpoints(follower.clientEndpoint()).callTimeout(deadline)
             .maxRetries(1).requireLeader(true).build()) {
      requiring.kv().put("rl/k", "v").get(10, TimeUnit.SECONDS);
      follower.isolate();
      // wait (without calls that would themselves wait for a leader) until the member knows it has none
      await().atMost(Duration.ofSeconds(5)).until(() -> hasLeaderMetric(follower) == 0);

      long start = System.nanoTime();
      assertThatThrownBy(() -> requiring.kv().get("rl/k").get(10, TimeUnit.SECONDS)).cause()
          .isInstanceOf(NoLeaderException.class).hasMessage("etcdserver: no leader");
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(deadline.toMillis() / 2);

      // without require-leader the same linearizable read waits for a leader until its deadline
      start = System.nanoTime();
      assertThatThrownBy(() -> plain.kv().get("rl/k").get(10, TimeUnit.SECONDS)).cause()
          .isInstanceOf(EtcdException.class);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThan(deadline.toMillis() / 2);

      follower.heal();
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> requiring.kv().get("rl/k").get(5, TimeUnit.SECONDS).count() == 1);
    }
  }

  /** The member's own view: etcd_server_has_leader from its /metrics endpoint. */
  private static int hasLeaderMetric(EtcdMember member) throws Exception {
    String body = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create(member.clientEndpoint() + "/metrics"))
            .timeout(Duration.ofSeconds(2)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    return body.lines().filter(l -> l.startsWith("etcd_server_has_leader ")).findFirst()
        .map(l -> Integer.parseInt(l.substring(l.indexOf(' ') + 1).trim())).orElse(-1);
  }
}
