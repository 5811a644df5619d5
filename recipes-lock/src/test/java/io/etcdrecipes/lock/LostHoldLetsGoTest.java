package io.etcdrecipes.lock;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionState;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

/**
 * When a lost hold lets go of its key (issue 17, item 5). A hold lost because its session was suspended lets go of
 * its key once the session is connected again — but only after its {@code onLost} listeners returned: on the old code
 * the key was deleted on {@code RECONNECTED} while the holder's listener was still running, so the next holder could
 * start before this one had stopped. And after {@link Session#orphan()}, closing a hold deletes nothing: the keys
 * are left for whoever resumes the lease (the old code deleted them).
 */
class LostHoldLetsGoTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    etcd.cluster().healAll();
    t.close();
  }

  @Test
  void aSuspendedHoldLetsGoOfItsKeyOnlyAfterItsOnLostListenersReturned() throws Exception {
    EtcdMember via = etcd.member(0);
    EtcdClient direct = t.client();
    EtcdClient holderClient = t.client(via.proxiedEndpoint(), Duration.ofSeconds(2));
    Session s = t.session(holderClient, Duration.ofSeconds(8)); // suspended after 4 s without a renewal
    Ownership held = Mutex.create(s, "lets-go/suspended").lock(Timing.seconds(5));
    CountDownLatch stopping = new CountDownLatch(1);
    CompletableFuture<OwnershipLostException> told = new CompletableFuture<>();
    held.onLost(e -> {
      told.complete(e);
      try {
        stopping.await(); // the holder takes its time to stop
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
      }
    });

    via.proxy().blackhole();
    assertThat(get(told, Timing.seconds(10)).reason()).isEqualTo(OwnershipLostException.Reason.SESSION_SUSPENDED);
    via.proxy().heal();
    await().atMost(Timing.seconds(5)).until(() -> s.state() == SessionState.RECONNECTED
        || s.state() == SessionState.CONNECTED);
    // connected again, the holder still stopping: its key stays (on the old code it was deleted now)
    await().during(Timing.millis(1_000)).atMost(Timing.seconds(3))
        .until(() -> LockTestSupport.keys(direct, "lets-go/suspended").size() == 1);

    stopping.countDown();
    await().atMost(Timing.seconds(5)).until(() -> LockTestSupport.keys(direct, "lets-go/suspended").isEmpty());
    try (Ownership again = Mutex.create(s, "lets-go/suspended").lock(Timing.seconds(5))) {
      assertThat(again.fencingToken()).isGreaterThan(held.fencingToken());
    }
  }

  @Test
  void afterOrphanClosingAHoldLeavesItsKeyForWhoeverResumesTheLease() throws Exception {
    EtcdClient c = t.client();
    EtcdClient direct = t.client();
    Session s = Session.builder(c).ttl(Duration.ofSeconds(30)).build(Timing.seconds(10));
    Ownership held = Mutex.create(s, "lets-go/orphan").lock(Timing.seconds(5));
    s.orphan();
    held.close();
    assertThat(LockTestSupport.keys(direct, "lets-go/orphan")).containsExactly(held.key().toStringUtf8());
    assertThat(get(direct.lease().timeToLive(s.leaseId(), false)).ttl()).isPositive();
    get(direct.lease().revoke(s.leaseId())); // this test's own cleanup
    assertThat(LockTestSupport.keys(direct, "lets-go/orphan")).isEmpty();
  }
}
