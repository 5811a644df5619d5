package io.etcdrecipes.election;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;

/** LeaderLatch on one member: one leader, handover on close, rejoin after the session is lost, listeners in order. */
class LeaderLatchTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).fastElections()
      .unsafeNoFsync(true).build();

  private final ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  private LeaderLatch latch(EtcdClient c, String name, String id, List<String> events) {
    return t.recordingLatch(c, name, id, Duration.ofSeconds(2), events);
  }

  @Test
  void oneLeadsAndTheNextLeadsWhenItCloses() throws Exception {
    EtcdClient c = t.client();
    List<String> events = new CopyOnWriteArrayList<>();
    LeaderLatch a = latch(c, "ll/close", "a", events);
    LeaderLatch b = latch(c, "ll/close", "b", events);
    a.start();
    Leadership ta = a.await(Timing.seconds(10));
    b.start();
    await().atMost(Timing.seconds(5)).until(() -> a.participants().size() == 2);
    assertThat(a.participants()).containsExactly("a", "b");
    assertThat(b.leaderId()).contains("a");
    assertThat(b.hasLeadership()).isFalse();
    assertThatThrownBy(() -> b.await(Duration.ofMillis(300))).isInstanceOf(TimeoutException.class);

    a.close(LeaderLatch.CloseMode.NOTIFY_LEADER);
    Leadership tb = b.await(Timing.seconds(10));
    assertThat(tb.fencingToken()).isGreaterThan(ta.fencingToken());
    await().atMost(Timing.seconds(5)).until(() -> events.size() == 3);
    assertThat(events).containsExactly("a+" + ta.fencingToken(), "a-", "b+" + tb.fencingToken());
  }

  @Test
  void aLeaderWhoseSessionIsRevokedIsToldAndRejoinsWithANewTerm() throws Exception {
    EtcdClient c = t.client();
    List<String> events = new CopyOnWriteArrayList<>();
    LeaderLatch a = latch(c, "ll/revoke", "a", events);
    a.start();
    Leadership first = a.await(Timing.seconds(10));
    get(t.client().lease().revoke(first.ownership().session().leaseId()));
    await().atMost(Timing.seconds(10)).until(() -> events.size() >= 3);
    Leadership second = a.await(Timing.seconds(10));
    assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
    assertThat(events).containsExactly("a+" + first.fencingToken(), "a-", "a+" + second.fencingToken());
    assertThat(first.isValid()).isFalse();
    assertThat(a.hasLeadership()).isTrue();
  }

  @Test
  void awaitAsyncCompletesWithTheTermAndCancellingItStopsOnlyThatWait() throws Exception {
    EtcdClient c = t.client();
    List<String> events = new CopyOnWriteArrayList<>();
    LeaderLatch a = latch(c, "ll/async", "a", events);
    LeaderLatch b = latch(c, "ll/async", "b", events);
    assertThatThrownBy(a::awaitAsync).isInstanceOf(IllegalStateException.class); // not started
    a.start();
    Leadership first = get(a.awaitAsync(), Timing.seconds(10));
    b.start();
    java.util.concurrent.CompletableFuture<Leadership> bWaits = b.awaitAsync();
    java.util.concurrent.CompletableFuture<Leadership> bWaitsToo = b.awaitAsync();
    await().atMost(Timing.seconds(5)).until(() -> a.participants().size() == 2);
    bWaits.cancel(false); // only this wait: b stays in the running
    a.close();
    Leadership next = get(bWaitsToo, Timing.seconds(5));
    assertThat(next.fencingToken()).isGreaterThan(first.fencingToken());
    assertThat(get(b.awaitAsync(), Timing.seconds(1))).isSameAs(next); // leads now: at once
  }

  @Test
  void startTwiceAndBadInputAreRejected() throws Exception {
    EtcdClient c = t.client();
    LeaderLatch a = t.closeLater(LeaderLatch.builder(c, "ll/bad", "a").build());
    a.start();
    assertThatThrownBy(a::start).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> LeaderLatch.builder(c, "ll/bad", "")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LeaderLatch.builder(c, " ", "a")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LeaderLatch.builder(c, "ll/bad", "a").ttl(Duration.ofSeconds(2)).ttl(Duration.ofSeconds(3)))
        .isInstanceOf(IllegalStateException.class);
  }
}
