package io.etcdrecipes.barrier;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.TcpProxy;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/** The barrier: release wakes every waiter; a wait that times out leaves no watch behind. */
class BarrierTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final BarrierTestSupport t = new BarrierTestSupport(etcd::endpoints, Timing.seconds(5), Duration.ofSeconds(10));

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  private EtcdClient client() {
    return t.client();
  }

  private static double watchers() {
    return MemberMetrics.value(etcd.member(0), "etcd_debugging_mvcc_watcher_total");
  }

  @Test
  void releaseWakesAllTenWaiters() throws Exception {
    Barrier coordinator = Barrier.create(client(), "b/ten");
    assertThat(coordinator.hold()).isTrue();
    assertThat(coordinator.hold()).isFalse(); // held already
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      waiters.add(Barrier.create(client(), "b/ten").awaitAsync());
    }
    await().atMost(Timing.seconds(5)).until(() -> watchers() >= 10);
    assertThat(waiters).noneMatch(CompletableFuture::isDone);
    assertThat(coordinator.release()).isTrue();
    for (CompletableFuture<Void> w : waiters) {
      get(w);
    }
    assertThat(coordinator.isHeld()).isFalse();
    Barrier.create(client(), "b/ten").await(Timing.seconds(1)); // not held: at once
  }

  @Test
  void aTimedOutWaitLeavesNoWatchBehind() throws Exception {
    Barrier b = Barrier.create(client(), "b/timeout");
    b.hold();
    double before = watchers();
    assertThatThrownBy(() -> Barrier.create(client(), "b/timeout").await(Duration.ofMillis(300)))
        .isInstanceOf(TimeoutException.class);
    await().atMost(Timing.seconds(5)).until(() -> watchers() <= before);
    b.release();
  }

  /**
   * The waiter's read is answered (held), then — before its watch reaches the server — the barrier is released, held
   * again and the history compacted: the watch fails as compacted, and the read after it finds the barrier held by a
   * new hold. That is the release it waited for. (A re-read that only asked "held?" waited for the next release.)
   * Answers to the waiter are delayed by 1 s, so its watch is sent a second after its read was served.
   */
  @Test
  void aReleaseHiddenByACompactionStillEndsTheWait() throws Exception {
    TcpProxy proxy = etcd.member(0).proxy();
    EtcdClient direct = client();
    Barrier coordinator = Barrier.create(direct, "b/compacted");
    coordinator.hold();
    EtcdClient slow = t.client(etcd.member(0).proxiedEndpoint());
    get(slow.kv().get(ByteSequence.of("b/warm-up"))); // connected before the answers slow down
    try {
      proxy.latency(TcpProxy.Direction.TO_CLIENT, Duration.ofSeconds(1));
      long ranges = MemberMetrics.received(etcd.member(0), "Range");
      CompletableFuture<Void> waiter = Barrier.create(slow, "b/compacted").awaitAsync();
      await().atMost(Timing.seconds(5)).until(() -> MemberMetrics.received(etcd.member(0), "Range") > ranges);
      assertThat(coordinator.release()).isTrue();
      assertThat(coordinator.hold()).isTrue();
      long now = get(direct.kv().get(ByteSequence.of("b/compacted"))).header().revision();
      get(direct.kv().compact(now));
      get(waiter);
    } finally {
      proxy.heal();
      coordinator.release();
    }
  }

  @Test
  void badInputIsRejected() {
    EtcdClient c = client();
    assertThatThrownBy(() -> Barrier.create(c, "")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Barrier.create(c, "b/").await(Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Barrier.create(c, "b/x").await(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
  }
}
