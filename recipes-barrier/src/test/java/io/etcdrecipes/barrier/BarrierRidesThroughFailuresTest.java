package io.etcdrecipes.barrier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
 * A barrier wait rides through transient failures within its deadline (issue 17, deliverable 7): {@code await(30 s)} on
 * a held barrier, asked for while the etcd leader is killed and a second member paused (no quorum: every read of the
 * waiter's 1 s call timeout fails), returns once the cluster is back and the barrier is released. On the old code the
 * first failed read failed the wait within about a second.
 */
class BarrierRidesThroughFailuresTest {

  @RegisterExtension
  final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).perTest().build();

  private BarrierTestSupport t;

  @AfterEach
  void close() throws Exception {
    if (t != null) {
      t.close();
    }
  }

  @Test
  void aWaitGoesOnThroughALeaderKillAndALostQuorum() throws Exception {
    t = new BarrierTestSupport(etcd::endpoints, Duration.ofSeconds(1), Duration.ofSeconds(10));
    Barrier coordinator = Barrier.create(t.client(), "ride/barrier");
    assertThat(coordinator.hold()).isTrue();

    Barrier waiter = Barrier.create(t.client(), "ride/barrier");
    CompletableFuture<Void> waiting;
    try (QuorumOutage outage = QuorumOutage.start(etcd.cluster())) {
      waiting = CompletableFuture.runAsync(() -> {
        try {
          waiter.await(Timing.seconds(30));
        } catch (Exception e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      });
      await().during(Timing.millis(3_000)).atMost(Timing.seconds(6)).until(() -> !waiting.isDone());
      outage.heal(Timing.seconds(20));
    }
    assertThat(waiting).isNotDone(); // still held
    assertThat(coordinator.release()).isTrue();
    waiting.get(Timing.seconds(10).toMillis(), TimeUnit.MILLISECONDS);
  }
}
