package io.etcdrecipes.barrier;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.ChildJvm;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A round whose lowest participant dies inside the barrier leaves nothing behind. The lowest (by mod revision) is the
 * one whose leave, once it is the only key left, deletes {@code name/ready} with its own key; when it dies its key
 * goes with its lease, and the others' leaves find nobody left. Go leaves {@code ready} (a key without a lease) for
 * good; ours deletes it, guarded by its revision, from whichever leave finds the waiters empty.
 */
class DoubleBarrierLeftoverTest {

  private static final Duration TTL = Duration.ofSeconds(2);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(1).fastElections().unsafeNoFsync(true).build();

  private final BarrierTestSupport t = new BarrierTestSupport(etcd::endpoints, Timing.seconds(5), TTL);

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  private Session session() throws Exception {
    return t.session();
  }

  @Test
  void nothingIsLeftWhenTheLowestParticipantDiedInsideTheBarrier() throws Exception {
    String name = "dbl/round";
    Session s = session();
    EtcdClient c = s.client();
    try (ChildJvm child = ChildJvm.start(DoubleBarrierChild.class, etcd.endpoints(), String.valueOf(TTL.toSeconds()),
        name, "3")) {
      child.awaitLine("ENTERING ", Timing.seconds(30));
      await().atMost(Timing.seconds(5)).until(() -> count(c, name + "/waiters/") == 1); // the child is the lowest
      List<CompletableFuture<Void>> entering = new ArrayList<>();
      List<DoubleBarrier> others = List.of(DoubleBarrier.create(s, name, 3), DoubleBarrier.create(session(), name, 3));
      for (DoubleBarrier b : others) {
        entering.add(b.enterAsync());
      }
      child.awaitLine("ENTERED ", Timing.seconds(15));
      for (CompletableFuture<Void> e : entering) {
        get(e);
      }
      List<CompletableFuture<Void>> leaving = new ArrayList<>();
      for (DoubleBarrier b : others) {
        leaving.add(b.leaveAsync());
      }
      child.kill();
      for (CompletableFuture<Void> l : leaving) {
        get(l, Timing.seconds(15));
      }
      List<String> left = new ArrayList<>();
      for (KeyValue kv : get(c.kv().get(ByteSequence.of(name + "/"), GetOption.prefix())).kvs()) {
        left.add(kv.key().toStringUtf8() + (kv.lease() == 0 ? " (no lease)" : ""));
      }
      assertThat(left).as("keys left under %s/ once every participant has left or died", name).isEmpty();
    }
  }

  private static long count(EtcdClient c, String prefix) {
    return get(c.kv().get(ByteSequence.of(prefix), GetOption.prefix())).count();
  }
}
