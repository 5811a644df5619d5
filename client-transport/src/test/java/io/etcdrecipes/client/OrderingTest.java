package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ordering.OrderViolationException;
import io.etcdrecipes.client.ordering.OrderViolationHandler;
import io.etcdrecipes.client.ordering.OrderingKV;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.NeedsIsolation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The ordering KV against a member that fell behind: a member is cut off (or frozen) while the others
 * move on, and serializable reads from it are stale. Cutting a member off needs root (iptables).
 */
class OrderingTest {

  @RegisterExtension
  final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).perTest().build();

  private static final GetOption SERIALIZABLE = GetOption.builder().serializable().build();

  @Test
  @NeedsIsolation
  void aStaleReadFromALaggingMemberIsAViolationAndTheSwitchingHandlerRecovers() throws Exception {
    EtcdMember lagging = laggingFollower();
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      AtomicInteger violations = new AtomicInteger();
      OrderViolationHandler standard = OrderViolationHandler.switchEndpoint(client);
      OrderingKV kv = new OrderingKV(client.kv(), (stale, prev) -> {
        violations.incrementAndGet();
        assertThat(stale.header().revision()).isLessThan(prev);
        standard.onViolation(stale, prev);
      });
      // writes need a leader: send them to the members that have one, then read from all three
      client.setEndpoints(healthy(lagging));
      for (int i = 0; i < 5; i++) {
        kv.put("ord/k", "v" + i).get(10, TimeUnit.SECONDS);
      }
      client.setEndpoints(etcd.endpoints());
      long last = kv.previousRevision();
      // round robin sends some of these to the lagging member; none may go back in time
      for (int i = 0; i < 12; i++) {
        GetResponse r = kv.get(ByteSequence.of("ord/k"), SERIALIZABLE).get(10, TimeUnit.SECONDS);
        assertThat(r.header().revision()).isGreaterThanOrEqualTo(last);
        assertThat(r.first().value().toStringUtf8()).isEqualTo("v4");
        last = r.header().revision();
      }
      assertThat(violations.get()).as("reads that met the lagging member").isPositive();
    } finally {
      lagging.heal();
    }
  }

  @Test
  @NeedsIsolation
  void whenNoMemberIsAheadTheSwitchingHandlerFailsWithAClearError() throws Exception {
    EtcdMember lagging = laggingFollower();
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      OrderingKV kv = new OrderingKV(client.kv(), OrderViolationHandler.switchEndpoint(client));
      client.setEndpoints(healthy(lagging));
      long written = kv.put("ord/k", "late").get(10, TimeUnit.SECONDS).header().revision();
      client.setEndpoints(lagging.clientEndpoint());
      assertThatThrownBy(() -> kv.get(ByteSequence.of("ord/k"), SERIALIZABLE).get(10, TimeUnit.SECONDS))
          .cause().isInstanceOfSatisfying(OrderViolationException.class, e -> {
            assertThat(e.previousRevision()).isEqualTo(written);
            assertThat(e.staleRevision()).isLessThan(written);
            assertThat(e).hasMessageContaining("no cluster member has a revision at or above " + written);
          });
    } finally {
      lagging.heal();
    }
  }

  private String[] healthy(EtcdMember lagging) {
    return etcd.members().stream().filter(m -> m != lagging).map(EtcdMember::clientEndpoint).toArray(String[]::new);
  }

  /** A follower cut off from its peers: it still answers serializable reads, from old state. */
  private EtcdMember laggingFollower() throws Exception {
    EtcdMember follower = etcd.members().stream().filter(m -> !m.isLeader()).findFirst().orElseThrow();
    try (EtcdClient c = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      c.kv().put("ord/k", "before").get(10, TimeUnit.SECONDS);
      // the follower has applied the first write before it is cut off
      await().atMost(Duration.ofSeconds(5)).until(() -> {
        try (EtcdClient one = EtcdClient.builder().endpoints(follower.clientEndpoint()).build()) {
          return one.kv().get(ByteSequence.of("ord/k"), SERIALIZABLE).get(5, TimeUnit.SECONDS).count() == 1;
        }
      });
    }
    follower.isolate();
    // a peer connection the follower opened before the cut is only dropped once it sends on it again; until
    // it has lost its leader (its /health turns false after an election timeout) a write could still reach it
    await().atMost(Duration.ofSeconds(10)).until(() -> !follower.isHealthy());
    return follower;
  }
}
