package io.etcdrecipes.barrier;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The barrier with ten waiters on a 3-member cluster (fast elections), each waiter a client of its own over all three
 * members: a release wakes all ten, also when the member that served most of their watches was SIGKILLed while they
 * waited and the release happens while it is down; waits that time out, are interrupted or are cancelled leave no
 * watcher behind on any member ({@code etcd_debugging_mvcc_watcher_total}, summed over the members, back to its value
 * before them).
 *
 * <p>What would make it fail: a wait whose watch does not resume on another member after its member died, or resumes
 * from a revision after the release (it would wait forever); a watch not cancelled when its wait gives up (watchers
 * pile up on the server with every timed-out wait).
 */
class BarrierUnderFaultsTest {

  private static final Logger log = LoggerFactory.getLogger(BarrierUnderFaultsTest.class);
  private static final int WAITERS = 10;

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private final BarrierTestSupport t = new BarrierTestSupport(etcd::endpoints, Duration.ofSeconds(2), Duration.ofSeconds(10));

  @AfterEach
  void close() throws Exception {
    t.close();
    for (EtcdMember m : etcd.cluster().members()) {
      if (!m.isRunning()) {
        m.start();
      }
    }
  }

  private EtcdClient client() {
    return t.client();
  }

  private static long watchers(EtcdMember m) {
    return Math.round(MemberMetrics.value(m, "etcd_debugging_mvcc_watcher_total"));
  }

  private static long watchers() {
    return MemberMetrics.sum(etcd.cluster().members(), "etcd_debugging_mvcc_watcher_total");
  }

  @Test
  void releaseWakesAllTenWaitersAfterTheMemberServingMostOfThemWasKilled() throws Exception {
    String name = "bf/release";
    Barrier coordinator = Barrier.create(client(), name);
    assertThat(coordinator.hold()).isTrue();
    long before = watchers();
    List<CompletableFuture<Void>> waiting = new ArrayList<>();
    List<Long> wokenAt = new CopyOnWriteArrayList<>();
    for (int i = 0; i < WAITERS; i++) {
      CompletableFuture<Void> w = Barrier.create(client(), name).awaitAsync();
      w.thenRun(() -> wokenAt.add(System.nanoTime()));
      waiting.add(w);
    }
    await().atMost(Timing.seconds(10)).until(() -> watchers() >= before + WAITERS);
    EtcdMember busiest = etcd.cluster().members().stream().max(Comparator.comparingLong(BarrierUnderFaultsTest::watchers))
        .orElseThrow();
    long onIt = watchers(busiest);
    boolean wasLeader = busiest.isLeader();
    busiest.kill();
    assertThat(waiting).as("waiters while the barrier is held").noneMatch(CompletableFuture::isDone);

    long releasedAt = System.nanoTime();
    // the coordinator's own connection may have been to the killed member: a delete is safe to repeat
    await().atMost(Timing.seconds(10)).ignoreExceptions().until(() -> {
      coordinator.release();
      return true;
    });
    for (CompletableFuture<Void> w : waiting) {
      get(w, Timing.seconds(15));
    }
    long lastMillis = TimeUnit.NANOSECONDS.toMillis(wokenAt.stream().mapToLong(x -> x).max().orElseThrow() - releasedAt);
    log.info("all {} waiters woken, the last {} ms after the release; {} ({}) had {} of their watches and was killed "
        + "before it", WAITERS, lastMillis, busiest.name(), wasLeader ? "the leader" : "a follower", onIt);
    assertThat(onIt).as("watchers on the killed member").isPositive();
    assertThat(coordinator.isHeld()).isFalse();
    busiest.start();
  }

  @Test
  void waitsThatTimeOutAreInterruptedOrCancelledLeaveNoWatcherBehind() throws Exception {
    String name = "bf/timeout";
    Barrier coordinator = Barrier.create(client(), name);
    coordinator.hold();
    long before = watchers();

    // ten timed-out waits at once
    List<CompletableFuture<Throwable>> timedOut = new ArrayList<>();
    for (int i = 0; i < WAITERS; i++) {
      Barrier b = Barrier.create(client(), name);
      timedOut.add(CompletableFuture.supplyAsync(() -> {
        try {
          b.await(Duration.ofMillis(500));
          return null;
        } catch (Throwable e) {
          return e;
        }
      }));
    }
    for (CompletableFuture<Throwable> f : timedOut) {
      assertThat(get(f)).isInstanceOf(TimeoutException.class);
    }
    // an interrupted wait and a cancelled one
    Barrier interrupted = Barrier.create(client(), name);
    List<Throwable> thrown = new CopyOnWriteArrayList<>();
    Thread waiter = new Thread(() -> {
      try {
        interrupted.await();
      } catch (Throwable e) {
        thrown.add(e);
      }
    });
    waiter.start();
    CompletableFuture<Void> cancelled = Barrier.create(client(), name).awaitAsync();
    await().atMost(Timing.seconds(5)).until(() -> watchers() >= before + 2);
    waiter.interrupt();
    waiter.join(Timing.seconds(5).toMillis());
    assertThat(thrown).singleElement().isInstanceOf(InterruptedException.class);
    cancelled.cancel(false);

    await().atMost(Timing.seconds(5)).until(() -> watchers() <= before);
    log.info("watchers on the members: {} before, {} after {} timed-out, 1 interrupted and 1 cancelled wait", before,
        watchers(), WAITERS);
    assertThat(coordinator.release()).isTrue();
    assertThatThrownBy(() -> cancelled.join()).isInstanceOf(java.util.concurrent.CancellationException.class);
  }
}
