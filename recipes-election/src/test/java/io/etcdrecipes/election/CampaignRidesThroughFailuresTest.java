package io.etcdrecipes.election;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.QuorumOutage;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A campaign rides through transient failures within its deadline (issue 17, deliverable 7): {@code campaign(30 s)}
 * behind a leader, asked for while the etcd leader is killed and a second member paused (no quorum: every call of the
 * candidate's 1 s call timeout fails), wins once the cluster is back and the leader resigns. On the old code the first
 * failed create failed the campaign within about a second.
 */
class CampaignRidesThroughFailuresTest {

  @RegisterExtension
  final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).perTest().build();

  private ElectionTestSupport t;

  @AfterEach
  void close() throws Exception {
    if (t != null) {
      t.close();
    }
  }

  @Test
  void aCampaignWaitsThroughALeaderKillAndALostQuorum() throws Exception {
    t = new ElectionTestSupport(etcd.endpoints());
    EtcdClient leaderClient = t.client();
    EtcdClient candidateClient = t.client(etcd.endpoints(), Duration.ofSeconds(1));
    Session leaderSession = t.session(leaderClient, Duration.ofSeconds(20));
    Session candidateSession = t.session(candidateClient, Duration.ofSeconds(20));
    Leadership first = Election.create(leaderSession, "ride/election").campaign("a", Timing.seconds(5));

    CompletableFuture<Leadership> campaigning;
    try (QuorumOutage outage = QuorumOutage.start(etcd.cluster())) {
      campaigning = CompletableFuture.supplyAsync(() -> {
        try {
          return Election.create(candidateSession, "ride/election").campaign("b", Timing.seconds(30));
        } catch (Exception e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      });
      await().during(Timing.millis(3_000)).atMost(Timing.seconds(6)).until(() -> !campaigning.isDone());
      outage.heal(Timing.seconds(20));
    }
    first.close();
    try (Leadership won = campaigning.get(Timing.seconds(30).toMillis(), TimeUnit.MILLISECONDS)) {
      assertThat(won.fencingToken()).isGreaterThan(first.fencingToken());
      assertThat(won.value().toStringUtf8()).isEqualTo("b");
      assertThat(won.isValid()).isTrue();
    }
  }
}
