package io.etcdrecipes.queue;

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
 * A queue take rides through transient failures within its deadline (issue 17, deliverable 7): {@code dequeue(30 s)}
 * on an empty queue, asked for while the etcd leader is killed and a second member paused (no quorum: every call of
 * the consumer's 1 s call timeout fails), gets the item enqueued once the cluster is back. On the old code the first
 * failed read failed the take within about a second.
 */
class QueueRidesThroughFailuresTest {

  @RegisterExtension
  final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).perTest().build();

  private QueueTestSupport t;

  @AfterEach
  void close() throws Exception {
    if (t != null) {
      t.close();
    }
  }

  @Test
  void aTakeWaitsThroughALeaderKillAndALostQuorum() throws Exception {
    t = new QueueTestSupport(etcd.endpoints());
    EtcdClient consumerClient = t.client(etcd.endpoints(), Duration.ofSeconds(1));
    Session consumerSession = t.session(consumerClient, Duration.ofSeconds(20));
    Queue producer = Queue.create(t.session(t.client(), Duration.ofSeconds(20)), "ride/queue");

    CompletableFuture<QueueItem> taking;
    try (QuorumOutage outage = QuorumOutage.start(etcd.cluster())) {
      taking = CompletableFuture.supplyAsync(() -> {
        try {
          return Queue.create(consumerSession, "ride/queue").dequeue(Timing.seconds(30));
        } catch (Exception e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      });
      await().during(Timing.millis(3_000)).atMost(Timing.seconds(6)).until(() -> !taking.isDone());
      outage.heal(Timing.seconds(20));
    }
    producer.enqueue("after the outage");
    QueueItem got = taking.get(Timing.seconds(30).toMillis(), TimeUnit.MILLISECONDS);
    assertThat(got.valueUtf8()).isEqualTo("after the outage");
    assertThat(producer.size()).isZero();
  }
}
