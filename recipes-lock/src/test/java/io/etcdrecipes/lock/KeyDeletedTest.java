package io.etcdrecipes.lock;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.concurrent.TimeUnit;

/**
 * A holder whose key is deleted by someone else (an operator's {@code etcdctl del}, a cleanup job) is told (issue 17).
 * On the old code nothing watched the key: the holder stayed valid for ever while the next waiter held the lock too.
 * Fails on the old code (lost() never completes).
 */
class KeyDeletedTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void aHolderWhoseKeyIsDeletedIsToldAndTheNextLocalCallerGetsANewToken() throws Exception {
    EtcdClient c = t.client();
    EtcdClient operator = t.client();
    Session s = t.session(c);
    Session other = t.session(c);
    Ownership held = Mutex.create(s, "key-deleted/mutex").lock(Timing.seconds(5));
    java.util.concurrent.CompletableFuture<OwnershipLostException> heard = new java.util.concurrent.CompletableFuture<>();
    held.onLost(heard::complete);
    var waiting = Mutex.create(other, "key-deleted/mutex").lockAsync();

    get(operator.kv().delete(held.key()));
    // told within a second of the delete (scaled for a slow host)
    OwnershipLostException why = held.lost().get(Timing.millis(1_000).toMillis(), TimeUnit.MILLISECONDS);
    assertThat(why.reason()).isEqualTo(OwnershipLostException.Reason.KEY_GONE);
    assertThat(held.isValid()).isFalse();
    // the onLost listener hears it too (a lost hold lets go of its local turn at once: the listener must still run)
    assertThat(heard.get(Timing.seconds(5).toMillis(), TimeUnit.MILLISECONDS).reason())
        .isEqualTo(OwnershipLostException.Reason.KEY_GONE);
    assertThatCommitIsRefused(c, held);

    try (Ownership next = waiting.get(Timing.seconds(5).toMillis(), TimeUnit.MILLISECONDS)) {
      assertThat(next.fencingToken()).isGreaterThan(held.fencingToken());
    }
    // the lost hold let go of the session's local turn: the next caller on that session creates the key anew
    try (Ownership again = Mutex.create(s, "key-deleted/mutex").lock(Timing.seconds(5))) {
      assertThat(again.key()).isEqualTo(held.key());
      assertThat(again.fencingToken()).isGreaterThan(held.fencingToken());
      assertThat(again.isValid()).isTrue();
    }
    assertThat(held.release()).isFalse(); // it was lost
    assertThat(LockTestSupport.keys(c, "key-deleted/mutex")).isEmpty();
  }

  @Test
  void aRevokedLeaseEndsTheHoldAndTheSessionAtOnce() throws Exception {
    EtcdClient c = t.client();
    EtcdClient operator = t.client();
    // a long TTL: its keep-alive (every 10 s) would notice the lease gone only much later
    Session s = t.session(c, java.time.Duration.ofSeconds(30));
    Ownership held = Mutex.create(s, "key-deleted/revoked").lock(Timing.seconds(5));
    java.util.concurrent.CompletableFuture<OwnershipLostException> heard = new java.util.concurrent.CompletableFuture<>();
    held.onLost(heard::complete);

    get(operator.lease().revoke(s.leaseId())); // as `etcdctl lease revoke` would: the key goes with it
    held.lost().get(Timing.millis(1_000).toMillis(), TimeUnit.MILLISECONDS);
    assertThat(heard.get(Timing.seconds(5).toMillis(), TimeUnit.MILLISECONDS).reason())
        .isEqualTo(OwnershipLostException.Reason.SESSION_LOST);
    assertThat(held.isValid()).isFalse();
    org.awaitility.Awaitility.await().atMost(Timing.seconds(3))
        .until(() -> s.state() == io.etcdrecipes.recipes.SessionState.LOST);
    assertThat(LockTestSupport.keys(c, "key-deleted/revoked")).isEmpty();
  }

  @Test
  void aReleaseIsNotTakenForADelete() throws Exception {
    EtcdClient c = t.client();
    Session s = t.session(c);
    for (int i = 0; i < 20; i++) {
      Ownership held = Mutex.create(s, "key-deleted/release").lock(Timing.seconds(5));
      assertThat(held.release()).isTrue();
      assertThat(held.lost()).isCompletedExceptionally(); // released first: cancelled, it can no longer be lost
    }
  }

  private static void assertThatCommitIsRefused(EtcdClient c, Ownership held) {
    org.assertj.core.api.Assertions.assertThatThrownBy(() ->
            get(held.commit(c.kv(), Op.put(ByteSequence.of("key-deleted/data"), ByteSequence.of("x")))))
        .isInstanceOf(OwnershipLostException.class);
  }
}
