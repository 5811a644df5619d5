package io.etcdrecipes.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Any completion of {@code lockAsync()}'s future other than the attempt's own result gives the attempt up (issue 17):
 * {@code orTimeout}, {@code completeOnTimeout} and {@code completeExceptionally} delete the waiter's key and pass its
 * local turn on. Fails on the old code, where only {@code cancel()} did: the key stayed queued, and a later
 * {@code lock()} on the same session waited behind the dead attempt.
 */
class AsyncGiveUpTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void orTimeoutGivesTheAttemptUp() throws Exception {
    check("async-give-up/or-timeout", f -> f.orTimeout(200, TimeUnit.MILLISECONDS));
  }

  @Test
  void completeOnTimeoutGivesTheAttemptUp() throws Exception {
    check("async-give-up/complete-on-timeout", f -> f.completeOnTimeout(null, 200, TimeUnit.MILLISECONDS));
  }

  @Test
  void completeExceptionallyGivesTheAttemptUp() throws Exception {
    check("async-give-up/complete-exceptionally", f -> f.completeExceptionally(new IllegalStateException("gave up")));
  }

  private void check(String name, java.util.function.Consumer<CompletableFuture<Ownership>> giveUp) throws Exception {
    EtcdClient c = t.client();
    Session holderSession = t.session(c);
    Session waiterSession = t.session(c);
    Ownership held = Mutex.create(holderSession, name).lock(Timing.seconds(10));

    CompletableFuture<Ownership> waiting = Mutex.create(waiterSession, name).lockAsync();
    await().atMost(Timing.seconds(5)).until(() -> LockTestSupport.keys(c, name).size() == 2);
    giveUp.accept(waiting);
    // the waiter's key goes, though nobody cancelled the future itself
    await().atMost(Timing.seconds(5)).until(() -> LockTestSupport.keysOnLease(c, name, waiterSession.leaseId()).isEmpty());
    assertThat(LockTestSupport.keys(c, name)).containsExactly(held.key().toStringUtf8());

    // the session's local turn was passed on: a later lock on it gets the lock as soon as the holder lets go
    held.release();
    try (Ownership next = Mutex.create(waiterSession, name).lock(Timing.seconds(5))) {
      assertThat(next.isValid()).isTrue();
    }
    assertThat(LockTestSupport.keys(c, name)).isEmpty();
  }
}
