package io.etcdrecipes.client;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.TcpProxy;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Keep-alive answers are matched to their own requests (etcd answers one stream's requests in order): a renewal is
 * credited from the send of the request it answers, and each keepAliveOnce completes with its own answer.
 */
class KeepAliveMatchingTest {

  private static final Duration LATENCY = Duration.ofMillis(300);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  @AfterEach
  void heal() {
    etcd.member(0).proxy().heal();
  }

  @Test
  void eachKeepAliveOnceCompletesWithTheAnswerToItsOwnRequest() {
    EtcdMember m = etcd.member(0);
    try (EtcdClient c = EtcdClient.builder().endpoints(m.proxiedEndpoint()).callTimeout(Timing.seconds(10)).build()) {
      long id = get(c.lease().grant(60)).id();
      get(c.lease().keepAliveOnce(id)); // the stream is open
      m.proxy().latency(LATENCY);

      long received = MemberMetrics.received(m, "LeaseKeepAlive");
      long sent1 = System.nanoTime();
      CompletableFuture<LeaseKeepAliveResponse> first = c.lease().keepAliveOnce(id);
      await().atMost(Timing.seconds(5)).pollInterval(Duration.ofMillis(5))
          .until(() -> MemberMetrics.received(m, "LeaseKeepAlive") > received);
      long sent2 = System.nanoTime(); // the first request has reached the server: its answer is on the way
      CompletableFuture<Long> secondDone = c.lease().keepAliveOnce(id).thenApply(r -> {
        assertThat(r.requestSentNanos()).isGreaterThanOrEqualTo(sent2);
        return System.nanoTime();
      });

      LeaseKeepAliveResponse r1 = get(first);
      assertThat(r1.requestSentNanos()).isBetween(sent1, sent2);
      long done2 = get(secondDone);
      // its own answer needs a round trip through the proxy; the first one's arrived earlier than that
      assertThat(Duration.ofNanos(done2 - sent2)).isGreaterThanOrEqualTo(LATENCY.multipliedBy(2).minusMillis(30));
    }
  }

  @Test
  void renewalsAreCreditedFromTheSendOfTheRequestTheyAnswer() {
    EtcdMember m = etcd.member(0);
    try (EtcdClient c = EtcdClient.builder().endpoints(m.proxiedEndpoint()).callTimeout(Timing.seconds(10)).build()) {
      long id = get(c.lease().grant(2)).id();
      get(c.lease().keepAliveOnce(id));
      m.proxy().latency(TcpProxy.Direction.TO_CLIENT, LATENCY); // answers held on their way back
      List<long[]> renewals = new CopyOnWriteArrayList<>(); // {sent, received}
      try (KeepAlive ka = c.lease().keepAlive(id, new KeepAliveListener() {
        @Override
        public void onRenewed(LeaseKeepAliveResponse r) {
          renewals.add(new long[] {r.requestSentNanos(), System.nanoTime()});
        }

        @Override
        public void onLost(EtcdException cause) {
        }
      })) {
        // extra renewals in between, as a session sends them: each answer still belongs to its own request
        for (int i = 0; i < 6; i++) {
          get(c.lease().keepAliveOnce(id));
        }
        await().atMost(Timing.seconds(10)).until(() -> renewals.size() >= 4);
      }
      for (long[] r : renewals) {
        assertThat(Duration.ofNanos(r[1] - r[0])).as("answer held %s on the way back", LATENCY)
            .isGreaterThanOrEqualTo(LATENCY.minusMillis(5));
      }
      assertThat(renewals.stream().mapToLong(r -> r[0]).toArray()).isSorted();
      assertThat(TimeUnit.NANOSECONDS.toMillis(renewals.get(renewals.size() - 1)[0] - renewals.get(0)[0])).isPositive();
    }
  }
}
