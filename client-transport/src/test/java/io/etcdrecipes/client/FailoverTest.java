package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.TcpProxy;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Members die, freeze and vanish; calls keep their deadlines and move on to live members. Each test
 * gets a fresh 3-member cluster.
 */
class FailoverTest {

  private static final Duration DEADLINE = Duration.ofSeconds(2);

  @RegisterExtension
  final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).perTest().build();

  private EtcdClient client() {
    return EtcdClient.builder().endpoints(etcd.endpoints()).callTimeout(DEADLINE).build();
  }

  /** Puts and reads back until both succeed; returns how long that took. */
  private static Duration untilReadAndWriteSucceed(EtcdClient client, String key) {
    long start = System.nanoTime();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).ignoreExceptions().until(() -> {
      client.kv().put(key, "v").get(DEADLINE.toMillis() + 1000, TimeUnit.MILLISECONDS);
      return client.kv().get(key).get(DEADLINE.toMillis() + 1000, TimeUnit.MILLISECONDS).count() == 1;
    });
    return Duration.ofNanos(System.nanoTime() - start);
  }

  private static void allSucceed(EtcdClient client, int n) throws Exception {
    for (int i = 0; i < n; i++) {
      client.kv().put("after/" + i, "v").get(DEADLINE.toMillis() + 1000, TimeUnit.MILLISECONDS);
      assertThat(client.kv().get("after/" + i).get(DEADLINE.toMillis() + 1000, TimeUnit.MILLISECONDS).count()).isOne();
    }
  }

  @Test
  void killingTheLeaderLetsReadsAndWritesContinueWithinTwiceTheDeadline() throws Exception {
    try (EtcdClient client = client()) {
      allSucceed(client, 6); // round robin: every member has served calls
      EtcdMember leader = etcd.cluster().leader();
      leader.kill();
      assertThat(untilReadAndWriteSucceed(client, "k")).isLessThan(DEADLINE.multipliedBy(2));
      allSucceed(client, 20);
    }
  }

  @Test
  void killingAFollowerLetsReadsAndWritesContinueWithinTwiceTheDeadline() throws Exception {
    try (EtcdClient client = client()) {
      allSucceed(client, 6);
      EtcdMember follower = etcd.members().stream().filter(m -> !m.isLeader()).findFirst().orElseThrow();
      follower.kill();
      assertThat(untilReadAndWriteSucceed(client, "k")).isLessThan(DEADLINE.multipliedBy(2));
      allSucceed(client, 20);
    }
  }

  @Test
  void pausingAMemberInUseLetsReadsAndWritesContinueWithinTwiceTheDeadline() throws Exception {
    try (EtcdClient client = client()) {
      allSucceed(client, 6);
      EtcdMember follower = etcd.members().stream().filter(m -> !m.isLeader()).findFirst().orElseThrow();
      follower.pause();
      try {
        assertThat(untilReadAndWriteSucceed(client, "k")).isLessThan(DEADLINE.multipliedBy(2));
        // the frozen member keeps its TCP connection; calls that went to it ended at their deadline and
        // the member is now passed over
        allSucceed(client, 20);
      } finally {
        follower.resume();
      }
    }
  }

  @Test
  void pausingTheLeaderLetsReadsAndWritesContinueWithinTwiceTheDeadline() throws Exception {
    try (EtcdClient client = client()) {
      allSucceed(client, 6);
      EtcdMember leader = etcd.cluster().leader();
      leader.pause();
      try {
        assertThat(untilReadAndWriteSucceed(client, "k")).isLessThan(DEADLINE.multipliedBy(2));
        allSucceed(client, 20);
      } finally {
        leader.resume();
      }
    }
  }

  @Test
  void anUnreachableClusterFailsCallsAtTheirDeadlineWithAClearException() {
    for (TcpProxy p : etcd.members().stream().map(EtcdMember::proxy).toList()) {
      p.blackhole();
    }
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.cluster().proxiedEndpoints())
        .callTimeout(DEADLINE).build()) {
      for (int i = 0; i < 3; i++) {
        long start = System.nanoTime();
        CompletableFuture<GetResponse> get = client.kv().get("k");
        CompletableFuture<PutResponse> put = client.kv().put("k", "v");
        assertThatThrownBy(() -> get.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
            .cause().isInstanceOf(DeadlineExceededException.class).hasMessageContaining("deadline");
        assertThatThrownBy(() -> put.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(DeadlineExceededException.class);
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(elapsedMs).isBetween(DEADLINE.toMillis() - 100, DEADLINE.toMillis() + 1500);
      }
    }
  }

  @Test
  void nothingListeningFailsAtTheDeadlineNotLater() {
    // a cluster whose members are all dead: connections are refused, calls are retried until the deadline
    etcd.members().forEach(EtcdMember::kill);
    try (EtcdClient client = client()) {
      long start = System.nanoTime();
      assertThatThrownBy(() -> client.kv().get("k").get(10, TimeUnit.SECONDS)).cause()
          .isInstanceOfAny(DeadlineExceededException.class, UnavailableException.class);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(DEADLINE.toMillis() + 1500);
    }
  }

  @Test
  void aPutWhoseResponseIsLostIsNotRetriedButAGetIs() throws Exception {
    EtcdMember m = etcd.member(0);
    TcpProxy proxy = m.proxy();
    try (EtcdClient direct = EtcdClient.builder().endpoints(m.clientEndpoint()).build();
         EtcdClient client = EtcdClient.builder().endpoints(m.proxiedEndpoint())
             .callTimeout(Duration.ofSeconds(10)).build()) {
      client.kv().put("rs/warm", "x").get(10, TimeUnit.SECONDS); // connection established
      proxy.latency(Duration.ofMillis(600));
      CompletableFuture<PutResponse> put = client.kv().put("rs/key", "v");
      // the request reached etcd (the key exists) but the response is still on its way back: cut it
      await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
          .until(() -> direct.kv().get("rs/key").get(5, TimeUnit.SECONDS).count() == 1);
      proxy.reset();
      proxy.heal();
      assertThatThrownBy(() -> put.get(15, TimeUnit.SECONDS)).cause().isInstanceOf(UnavailableException.class);
      // not retried behind our back: written once, so version 1
      assertThat(direct.kv().get("rs/key").get(5, TimeUnit.SECONDS).first().version()).isEqualTo(1);

      // the same fault on a read: retried, and the caller sees the value
      proxy.latency(Duration.ofMillis(600));
      long rangesBefore = MemberMetrics.received(m, "Range");
      CompletableFuture<GetResponse> get = client.kv().get("rs/key");
      // the read reached etcd (the server counted it) and its answer is held in the proxy: cut it
      await().atMost(Timing.seconds(5)).pollInterval(Duration.ofMillis(10))
          .until(() -> MemberMetrics.received(m, "Range") > rangesBefore);
      proxy.reset();
      proxy.heal();
      assertThat(get.get(15, TimeUnit.SECONDS).first().value().toStringUtf8()).isEqualTo("v");
    }
  }
}
