package io.etcdrecipes.recipes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.LeaseNotFoundException;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

class SessionTest {

  private static final Logger log = LoggerFactory.getLogger(SessionTest.class);
  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private static EtcdClient client(String endpoints) {
    return EtcdClient.builder().endpoints(endpoints).callTimeout(Duration.ofSeconds(5)).build();
  }


  private static boolean exists(EtcdClient c, String key) throws Exception {
    return !c.kv().get(ByteSequence.of(key)).get(10, TimeUnit.SECONDS).isEmpty();
  }

  private static long serverTtl(EtcdClient c, long leaseId) throws Exception {
    return c.lease().timeToLive(leaseId, false).get(10, TimeUnit.SECONDS).ttl();
  }

  @Test
  void killingAMemberKeepsTheSessionAndItsLease() throws Exception {
    try (EtcdClient c = client(etcd.endpoints()); EtcdClient checker = client(etcd.endpoints())) {
      List<SessionState> states = new CopyOnWriteArrayList<>();
      Session s = Session.builder(c).ttl(Duration.ofSeconds(2)).listener((x, st) -> states.add(st)).build();
      c.kv().put(ByteSequence.of("kill/key"), ByteSequence.of("v"), PutOption.lease(s.leaseId())).get(10, TimeUnit.SECONDS);

      // kill every member in turn, so whichever one the keep-alive stream is on gets killed once
      for (int i = 0; i < 3; i++) {
        EtcdMember m = etcd.member(i);
        m.kill();
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(s::isValid);
        assertThat(exists(checker, "kill/key")).as("key after killing member %d", i).isTrue();
        m.start();
      }
      assertThat(serverTtl(checker, s.leaseId())).isPositive();
      assertThat(states).doesNotContain(SessionState.LOST);
      assertThat(s.state()).isIn(SessionState.CONNECTED, SessionState.RECONNECTED);
      log.info("states seen while members were killed: {}", states);
      s.close();
    }
  }

  @Test
  void blackholedLongerThanTheTtlGoesSuspendedThenLostAndTheKeysAreGone() throws Exception {
    EtcdMember m = etcd.member(0);
    try (EtcdClient c = client(m.proxiedEndpoint()); EtcdClient checker = client(etcd.endpoints())) {
      List<SessionState> states = new CopyOnWriteArrayList<>();
      Session s = Session.builder(c).ttl(Duration.ofSeconds(2)).listener((x, st) -> states.add(st)).build();
      assertThat(s.ttl()).isEqualTo(Duration.ofSeconds(2));
      c.kv().put(ByteSequence.of("blackhole/key"), ByteSequence.of("v"), PutOption.lease(s.leaseId())).get(10, TimeUnit.SECONDS);

      long t0 = System.nanoTime();
      m.proxy().blackhole();
      s.lost().get(s.ttl().toMillis() + 2_000, TimeUnit.MILLISECONDS);
      long lostAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      log.info("blackholed: states {}, LOST {} ms after the blackhole (TTL {} ms)", states, lostAfterMs,
          s.ttl().toMillis());

      assertThat(lostAfterMs).isLessThanOrEqualTo(s.ttl().toMillis() + 1_000);
      assertThat(states).containsExactly(SessionState.SUSPENDED, SessionState.LOST);
      assertThat(s.lostCause().reason()).isEqualTo(SessionLostException.Reason.EXPIRED_LOCALLY);
      assertThat(s.isValid()).isFalse();
      // the server expired the lease too (its expiry loop runs every 500 ms)
      await().atMost(WAIT).until(() -> !exists(checker, "blackhole/key"));
      assertThat(serverTtl(checker, s.leaseId())).isEqualTo(-1);
      m.proxy().heal();
      s.close();
    }
  }

  @Test
  void revokingTheLeaseFromAnotherClientGivesLostWithinOneSecond() throws Exception {
    try (EtcdClient c = client(etcd.endpoints()); EtcdClient other = client(etcd.endpoints())) {
      // a long TTL: the keep-alive stream alone would renew only every 10 s
      Session s = Session.builder(c).ttl(Duration.ofSeconds(30)).build();
      other.lease().revoke(s.leaseId()).get(10, TimeUnit.SECONDS);
      long t0 = System.nanoTime();
      s.lost().get(1, TimeUnit.SECONDS);
      log.info("revoked by another client: LOST after {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
      assertThat(s.state()).isEqualTo(SessionState.LOST);
      assertThat(s.lostCause().reason()).isEqualTo(SessionLostException.Reason.LEASE_GONE);
      s.close(); // revoking a gone lease is fine
    }
  }

  @Test
  void closeDeletesTheSessionsKeysAtOnce() throws Exception {
    try (EtcdClient c = client(etcd.endpoints()); EtcdClient checker = client(etcd.endpoints())) {
      Session s = Session.builder(c).ttl(Duration.ofSeconds(30)).build();
      for (int i = 0; i < 3; i++) {
        c.kv().put(ByteSequence.of("close/" + i), ByteSequence.of("v"), PutOption.lease(s.leaseId())).get(10, TimeUnit.SECONDS);
      }
      assertThat(checker.kv().get(ByteSequence.of("close/"), GetOption.prefix()).get(10, TimeUnit.SECONDS).kvs()).hasSize(3);

      s.close();

      assertThat(checker.kv().get(ByteSequence.of("close/"), GetOption.prefix()).get(10, TimeUnit.SECONDS).kvs()).isEmpty();
      assertThat(serverTtl(checker, s.leaseId())).isEqualTo(-1);
      assertThat(s.state()).isEqualTo(SessionState.LOST);
      assertThat(s.lostCause().reason()).isEqualTo(SessionLostException.Reason.CLOSED);
      s.lost().get(5, TimeUnit.SECONDS);
      s.close(); // idempotent
    }
  }

  @Test
  void aResumedSessionSeesItsOwnKeys() throws Exception {
    long leaseId;
    OwnerKey first;
    try (EtcdClient c1 = client(etcd.endpoints())) {
      Session s1 = Session.builder(c1).ttl(Duration.ofSeconds(10)).build();
      leaseId = s1.leaseId();
      first = Keys.createOrGet(c1.kv(), "resume/lock", leaseId, "me").get(10, TimeUnit.SECONDS);
      assertThat(first.created()).isTrue();
      s1.orphan(); // the process "restarts": keep-alive stops, the lease stays
      assertThat(s1.lostCause().reason()).isEqualTo(SessionLostException.Reason.ORPHANED);
      s1.close(); // after orphan: no revoke
    }
    try (EtcdClient c2 = client(etcd.endpoints())) {
      Session s2 = Session.builder(c2).leaseId(leaseId).build();
      assertThat(s2.leaseId()).isEqualTo(leaseId);
      assertThat(s2.ttl()).isEqualTo(Duration.ofSeconds(10));
      assertThat(s2.state()).isEqualTo(SessionState.CONNECTED);

      OwnerKey again = Keys.createOrGet(c2.kv(), "resume/lock", leaseId, "me").get(10, TimeUnit.SECONDS);
      assertThat(again.created()).isFalse();
      assertThat(again.key()).isEqualTo(first.key());
      assertThat(again.createRevision()).isEqualTo(first.createRevision());
      assertThat(again.isOldest()).isTrue();
      assertThat(c2.kv().get(first.key()).get(10, TimeUnit.SECONDS).first().lease()).isEqualTo(leaseId);

      s2.close();
      assertThat(c2.kv().get(first.key()).get(10, TimeUnit.SECONDS).isEmpty()).isTrue();
      assertThatThrownBy(() -> Session.builder(c2).leaseId(leaseId).build())
          .isInstanceOf(LeaseNotFoundException.class);
    }
  }

  /** Without extra renewals, a session renewed at a third of its TTL never looks suspended between renewals. */
  @Test
  void withoutExtraRenewalsAHealthySessionDoesNotFlap() throws Exception {
    try (EtcdClient c = client(etcd.endpoints())) {
      List<SessionState> states = new CopyOnWriteArrayList<>();
      try (Session s = Session.builder(c).ttl(Duration.ofSeconds(3)).lossCheckInterval(Duration.ZERO)
          .listener((x, st) -> states.add(st)).build()) {
        await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(6))
            .until(() -> s.state() == SessionState.CONNECTED);
        assertThat(states).isEmpty();
      }
    }
  }

  @Test
  void builderChecksItsArguments() throws Exception {
    try (EtcdClient c = client(etcd.endpoints())) {
      assertThatThrownBy(() -> Session.builder(c).ttl(Duration.ofMillis(1500)))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> Session.builder(c).ttl(Duration.ofSeconds(2)).suspendAfter(Duration.ofSeconds(2)).build())
          .isInstanceOf(IllegalArgumentException.class);
      try (Session s = Session.builder(c).ttl(Duration.ofSeconds(3)).build()) {
        assertThat(s.suspendAfter()).isEqualTo(Duration.ofMillis(1500));
      }
      assertThatThrownBy(() -> Session.builder(c).ttl(Duration.ofSeconds(3)).ttl(Duration.ofSeconds(4)))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("ttl");
      try (Session s = Session.builder(c).ttl(Duration.ofSeconds(60)).suspendAfter(0.5).build()) {
        assertThat(s.suspendAfter()).isEqualTo(Duration.ofSeconds(30));
      }
    }
  }
}
