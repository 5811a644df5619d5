package io.etcdrecipes.recipes;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.LeaseNotFoundException;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.TcpProxy;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/** What a failed {@link Stm} run says about its commit: nothing committed, or outcome unknown. */
class StmOutcomeTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  @AfterEach
  void heal() {
    etcd.member(0).proxy().heal();
  }

  private static EtcdClient client(String endpoint) {
    return EtcdClient.builder().endpoints(endpoint).callTimeout(Timing.seconds(5)).build();
  }

  @Test
  void aDeadlineInsideTheCommitIsAnUnknownOutcomeAndTheCommitMayWellApply() throws Exception {
    EtcdMember m = etcd.member(0);
    try (EtcdClient c = client(m.proxiedEndpoint()); EtcdClient direct = client(m.clientEndpoint())) {
      get(c.kv().get(ByteSequence.of("warm-up")));
      // Only the answers are slowed: the commit reaches etcd at once and is applied well within the deadline it
      // carries, while its answer arrives after the client's deadline. (With both directions slowed, a loaded host
      // let the server's own deadline run out before it applied the commit: an unknown outcome that was "not applied".)
      m.proxy().latency(TcpProxy.Direction.TO_CLIENT, Duration.ofMillis(1000));
      Stm stm = Stm.builder(c.kv()).build();
      // no reads: the commit is the run's first RPC, sent at once, and the deadline passes while it is in flight
      assertThatThrownBy(() -> stm.run(tx -> {
        tx.put("outcome/in-flight", "applied?");
        return null;
      }, Duration.ofMillis(500)))
          .isInstanceOf(StmOutcomeUnknownException.class)
          .hasCauseInstanceOf(TimeoutException.class)
          .hasMessageContaining("may or may not have been applied");
      // ... and here it was applied
      await().atMost(Timing.seconds(5))
          .until(() -> !get(direct.kv().get(ByteSequence.of("outcome/in-flight"))).isEmpty());
    }
  }

  @Test
  void aDeadlineBeforeTheCommitIsATimeoutAndNothingIsCommitted() throws Exception {
    EtcdMember m = etcd.member(0);
    try (EtcdClient c = client(m.proxiedEndpoint()); EtcdClient direct = client(m.clientEndpoint())) {
      get(c.kv().get(ByteSequence.of("warm-up")));
      m.proxy().latency(Duration.ofMillis(400));
      Stm stm = Stm.builder(c.kv()).build();
      // the read takes a round trip of 800 ms: the deadline passes before any commit is sent
      assertThatThrownBy(() -> stm.run(tx -> {
        tx.get("outcome/read-first");
        tx.put("outcome/never", "x");
        return null;
      }, Duration.ofMillis(300))).isInstanceOf(TimeoutException.class);
      m.proxy().heal();
      assertThat(get(direct.kv().get(ByteSequence.of("outcome/never"))).isEmpty()).isTrue();
    }
  }

  @Test
  void aCommitTheServerRejectsIsADefiniteFailure() throws Exception {
    try (EtcdClient c = client(etcd.member(0).clientEndpoint())) {
      Stm stm = Stm.builder(c.kv()).build();
      assertThatThrownBy(() -> stm.run(tx -> {
        tx.put(ByteSequence.of("outcome/lease"), ByteSequence.of("x"), PutOption.lease(0x7eadbeefL));
        return null;
      }, Timing.seconds(5))).isInstanceOf(LeaseNotFoundException.class);
      assertThat(get(c.kv().get(ByteSequence.of("outcome/lease"))).isEmpty()).isTrue();
    }
  }
}
