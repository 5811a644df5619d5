package io.etcdrecipes.barrier;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.TcpProxy;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A participant whose calls fail for a while (its member does not answer: every call of its runs into its 1 s
 * deadline, as during an election or after a member was killed) is not failed by that: its enter and its leave go on
 * once the member answers again, and the others are not held up longer than that. The participant's client goes
 * through a proxy that is blackholed for about twice the call timeout; its session (10 s TTL) survives it.
 *
 * <p>What would make it fail: a DoubleBarrier that ends an enter or a leave with the first failed call (it did: a
 * leader kill in CI failed a leave with "channel closed"), or that retries without re-reading (a repeated leave step
 * acting on a stale view would hang or fail).
 */
class DoubleBarrierTransientFailureTest {

  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(1);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).proxies(true)
      .unsafeNoFsync(true).build();

  private final BarrierTestSupport t = new BarrierTestSupport(etcd::endpoints, CALL_TIMEOUT, Duration.ofSeconds(10));

  @AfterEach
  void close() throws Exception {
    proxy().heal();
    t.close();
  }

  private static TcpProxy proxy() {
    return etcd.members().get(0).proxy();
  }

  /** A participant whose client (with {@code callTimeout}) and session go through the proxy. */
  private DoubleBarrier proxied(String name, Duration callTimeout) throws Exception {
    EtcdClient c = t.closeLater(EtcdClient.builder().endpoints(etcd.members().get(0).proxiedEndpoint())
        .callTimeout(callTimeout).build());
    Session s = t.closeLater(Session.builder(c).ttl(Duration.ofSeconds(10)).build(Timing.seconds(10)));
    return DoubleBarrier.create(s, name, 2);
  }

  /** Both enter, the direct one first: it is the lowest (by mod revision) when they leave. */
  private static void enterDirectFirst(EtcdClient c, String name, DoubleBarrier direct, DoubleBarrier behindProxy) {
    CompletableFuture<Void> in = direct.enterAsync();
    await().atMost(Timing.seconds(5)).until(() -> BarrierTestSupport.keys(c, name + "/waiters/") == 1);
    get(behindProxy.enterAsync(), Timing.seconds(10));
    get(in, Timing.seconds(10));
  }

  /** Keeps the blackhole for 2.5 call timeouts, during which both calls must stay pending; then heals. */
  private static void blackholeWhilePending(CompletableFuture<Void> mine, CompletableFuture<Void> other) {
    try {
      await("the enter or leave, and the other participant's, still pending while the calls fail")
          .during(CALL_TIMEOUT.multipliedBy(5).dividedBy(2)).atMost(CALL_TIMEOUT.multipliedBy(4))
          .until(() -> !mine.isDone() && !other.isDone());
    } finally {
      proxy().heal();
    }
  }

  @Test
  void anEnterWhoseCallsTimeOutGoesOnOnceTheMemberAnswers() throws Exception {
    String name = "dbt/enter";
    EtcdClient c = t.client();
    DoubleBarrier direct = DoubleBarrier.create(t.session(), name, 2);
    DoubleBarrier behindProxy = proxied(name, CALL_TIMEOUT);
    CompletableFuture<Void> first = direct.enterAsync();
    await().atMost(Timing.seconds(5)).until(() -> BarrierTestSupport.keys(c, name + "/waiters/") == 1);

    proxy().blackhole();
    CompletableFuture<Void> second = behindProxy.enterAsync();
    blackholeWhilePending(second, first);

    get(second, Timing.seconds(10));
    get(first, Timing.seconds(10));
    assertThat(BarrierTestSupport.keys(c, name + "/waiters/")).isEqualTo(2);
    get(CompletableFuture.allOf(direct.leaveAsync(), behindProxy.leaveAsync()), Timing.seconds(10));
    assertThat(BarrierTestSupport.keys(c, name + "/")).isZero();
  }

  @Test
  void aLeaveWhoseCallsTimeOutGoesOnOnceTheMemberAnswers() throws Exception {
    String name = "dbt/leave";
    EtcdClient c = t.client();
    DoubleBarrier direct = DoubleBarrier.create(t.session(), name, 2);
    DoubleBarrier behindProxy = proxied(name, CALL_TIMEOUT);
    enterDirectFirst(c, name, direct, behindProxy);

    // the lowest waits for the highest (the proxied one) to leave
    CompletableFuture<Void> first = direct.leaveAsync();
    await().atMost(Timing.seconds(5)).until(() -> BarrierTestSupport.keys(c, name + "/waiters/") == 2);
    proxy().blackhole();
    CompletableFuture<Void> second = behindProxy.leaveAsync();
    blackholeWhilePending(second, first);

    get(second, Timing.seconds(10));
    get(first, Timing.seconds(10));
    assertThat(BarrierTestSupport.keys(c, name + "/")).isZero();
  }

  /**
   * The answer to a leave's delete is held up (it lands, its answer does not come): the lowest finds everybody out and
   * leaves, and a next round starts before the leave reads again. That read must not take the next round's key for
   * one of its own round (it would wait for it to leave, which waits for a second participant: for ever).
   */
  @Test
  void aLeaveThatReadsAgainIgnoresTheNextRound() throws Exception {
    String name = "dbt/next-round";
    EtcdClient c = t.client();
    DoubleBarrier direct = DoubleBarrier.create(t.session(), name, 2);
    // a longer call timeout: every answer to this one is delayed by 800 ms, and its reads must still get through
    DoubleBarrier behindProxy = proxied(name, Duration.ofSeconds(2));
    enterDirectFirst(c, name, direct, behindProxy);

    CompletableFuture<Void> first = direct.leaveAsync(); // the lowest: waits for the proxied one
    await().atMost(Timing.seconds(5)).until(() -> BarrierTestSupport.keys(c, name + "/waiters/") == 2);
    proxy().latency(TcpProxy.Direction.TO_CLIENT, Duration.ofMillis(800));
    CompletableFuture<Void> second = behindProxy.leaveAsync();
    // its delete landed: hold its answer (still in the proxy's delay) and everything after it
    await().atMost(Timing.seconds(10)).pollInterval(Duration.ofMillis(5))
        .until(() -> BarrierTestSupport.keys(c, name + "/waiters/") <= 1);
    proxy().blackhole(TcpProxy.Direction.TO_CLIENT);
    get(first, Timing.seconds(10));
    assertThat(second).as("the proxied leave, its delete's answer held").isNotDone();

    DoubleBarrier next = DoubleBarrier.create(t.session(), name, 2);
    CompletableFuture<Void> nextIn = next.enterAsync();
    await().atMost(Timing.seconds(5)).until(() -> BarrierTestSupport.keys(c, name + "/waiters/") == 1);
    proxy().heal();

    get(second, Timing.seconds(10));
    assertThat(nextIn).as("the next round's first participant waits for its second").isNotDone();
    DoubleBarrier nextSecond = DoubleBarrier.create(t.session(), name, 2);
    get(nextSecond.enterAsync(), Timing.seconds(10));
    get(nextIn, Timing.seconds(10));
    get(CompletableFuture.allOf(next.leaveAsync(), nextSecond.leaveAsync()), Timing.seconds(10));
    assertThat(BarrierTestSupport.keys(c, name + "/")).isZero();
  }
}
