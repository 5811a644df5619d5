package io.etcdrecipes.election;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A lone selector whose task fails, or returns at once, backs off before it campaigns again (issue 17) instead of
 * campaigning at RPC speed. Fails on the old code: there a lone selector ran hundreds of terms a second. The bound
 * is not a speed figure: with the backoff (20 ms doubling to 2 s) a run of 3 s has room for about 8 terms; 40 leaves
 * a wide margin for a slow host, and the old code's count is far above it on any host.
 */
class LeaderSelectorBackoffTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).fastElections()
      .unsafeNoFsync(true).build();

  private final ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void aTaskThatFailsAtOnceIsNotRequeuedAtRpcSpeed() throws Exception {
    runFor("ls-backoff/fails", () -> {
      throw new IllegalStateException("the task fails at once");
    });
  }

  @Test
  void aTaskThatReturnsAtOnceIsNotRequeuedAtRpcSpeed() throws Exception {
    runFor("ls-backoff/returns", () -> { });
  }

  private void runFor(String name, Runnable body) throws Exception {
    EtcdClient c = t.client();
    AtomicInteger terms = new AtomicInteger();
    LeaderSelector s = t.closeLater(LeaderSelector.builder(c, name, "a", term -> {
      terms.incrementAndGet();
      body.run();
    }).ttl(Duration.ofSeconds(5)).build());
    s.start();
    await().atMost(Timing.seconds(10)).until(() -> terms.get() >= 3); // it does requeue
    int before = terms.get();
    long end = System.nanoTime() + Duration.ofSeconds(3).toNanos();
    await().atMost(Timing.seconds(10)).until(() -> System.nanoTime() >= end);
    assertThat(terms.get() - before).isLessThan(40);
    s.close();
  }
}
