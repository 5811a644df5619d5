package io.etcdrecipes.barrier;

import static io.etcdrecipes.testkit.Futures.failure;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/** Five participants enter and leave together; too many are refused; a lost participant breaks the enter. */
class DoubleBarrierTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final BarrierTestSupport t = new BarrierTestSupport(etcd::endpoints, Timing.seconds(5), Duration.ofSeconds(10));

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  private EtcdClient client() {
    return t.client();
  }

  private Session session() throws Exception {
    return t.session();
  }

  private long keys(String prefix) {
    return BarrierTestSupport.keys(client(), prefix);
  }

  @Test
  void fiveEnterTogetherAndLeaveTogether() throws Exception {
    List<DoubleBarrier> all = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      all.add(DoubleBarrier.create(session(), "db/five", 5));
    }
    List<CompletableFuture<Void>> entering = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      entering.add(all.get(i).enterAsync());
    }
    await().atMost(Timing.seconds(5)).until(() -> keys("db/five/waiters/") == 4);
    assertThat(entering).noneMatch(CompletableFuture::isDone);
    entering.add(all.get(4).enterAsync());
    for (CompletableFuture<Void> e : entering) {
      get(e);
    }
    assertThatThrownBy(() -> DoubleBarrier.create(session(), "db/five", 5).enter(Timing.seconds(5)))
        .isInstanceOf(TooManyParticipantsException.class);

    List<CompletableFuture<Void>> leaving = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      leaving.add(all.get(i).leaveAsync());
    }
    await().atMost(Timing.seconds(5)).until(() -> keys("db/five/waiters/") <= 2);
    assertThat(leaving).noneMatch(CompletableFuture::isDone);
    leaving.add(all.get(4).leaveAsync());
    for (CompletableFuture<Void> l : leaving) {
      get(l);
    }
    assertThat(keys("db/five/")).isZero();
  }

  @Test
  void aTimedOutEnterLeavesNoKey() throws Exception {
    assertThatThrownBy(() -> DoubleBarrier.create(session(), "db/timeout", 3).enter(Duration.ofMillis(300)))
        .isInstanceOf(TimeoutException.class);
    assertThat(keys("db/timeout/")).isZero(); // deleted before the exception
  }

  @Test
  void aLeaveGivenUpByTheLowestHasLeftAndDoesNotHoldUpTheOthers() throws Exception {
    DoubleBarrier lowest = DoubleBarrier.create(session(), "db/give-up", 2);
    DoubleBarrier other = DoubleBarrier.create(session(), "db/give-up", 2);
    CompletableFuture<Void> first = lowest.enterAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys("db/give-up/waiters/") == 1);
    other.enter(Timing.seconds(5));
    get(first);
    // the lowest waits for the highest to leave; it gives up first: its key is deleted before the exception
    assertThatThrownBy(() -> lowest.leave(Duration.ofMillis(300))).isInstanceOf(TimeoutException.class);
    assertThat(keys("db/give-up/waiters/")).isEqualTo(1);
    other.leave(Timing.seconds(5)); // not waiting for the one that gave up
    assertThat(keys("db/give-up/")).isZero();
  }

  @Test
  void aCancelledEnterWhoseKeyIsBeingCreatedLeavesNothing() throws Exception {
    DoubleBarrier b = DoubleBarrier.create(session(), "db/cancel", 3);
    for (int i = 0; i < 20; i++) { // cancelled at once: mostly while its read or its create is in flight
      CompletableFuture<Void> e = b.enterAsync();
      e.cancel(false);
    }
    await().atMost(Timing.seconds(5)).until(() -> keys("db/cancel/") == 0);
    CompletableFuture<Void> waiting = b.enterAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys("db/cancel/waiters/") == 1);
    waiting.cancel(false);
    await().atMost(Timing.seconds(5)).until(() -> keys("db/cancel/") == 0);
  }

  @Test
  void aParticipantLostWhileOthersWaitToEnterBreaksTheBarrier() throws Exception {
    Session doomed = session();
    CompletableFuture<Void> a = DoubleBarrier.create(session(), "db/broken", 3).enterAsync();
    CompletableFuture<Void> b = DoubleBarrier.create(doomed, "db/broken", 3).enterAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys("db/broken/waiters/") == 2);
    doomed.close(); // its key is deleted with its lease
    assertThat(failure(a)).isInstanceOf(BarrierBrokenException.class);
    assertThat(failure(b)).isNotNull();
    await().atMost(Timing.seconds(5)).until(() -> keys("db/broken/") == 0);
  }

  @Test
  void badInputIsRejected() throws Exception {
    Session s = session();
    assertThatThrownBy(() -> DoubleBarrier.create(s, "db/bad", 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("count");
    assertThatThrownBy(() -> DoubleBarrier.create(s, "", 2)).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * A participant whose session was lost while it was inside (its key went with the lease) does not leave as if
   * nothing happened: the others may be in a next round already, and it must not wait among them.
   */
  @Test
  void aLeaveAfterTheSessionWasLostFailsWithSessionLost() throws Exception {
    Session lostOne = session();
    DoubleBarrier a = DoubleBarrier.create(session(), "db/lost-inside", 2);
    DoubleBarrier b = DoubleBarrier.create(lostOne, "db/lost-inside", 2);
    CompletableFuture<Void> in = a.enterAsync();
    get(b.enterAsync());
    get(in);
    get(client().lease().revoke(lostOne.leaseId()));
    await().atMost(Timing.seconds(5)).until(() -> keys("db/lost-inside/waiters/") == 1);
    assertThatThrownBy(() -> b.leave(Timing.seconds(5)))
        .isInstanceOfAny(io.etcdrecipes.recipes.SessionLostException.class, BarrierBrokenException.class);
    a.leave(Timing.seconds(5)); // the other one leaves alone: the lost one's key counts as gone
    assertThat(keys("db/lost-inside/")).isZero();
  }
}
