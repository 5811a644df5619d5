package io.etcdrecipes.lock;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionLostException;
import io.etcdrecipes.recipes.SessionState;
import io.etcdrecipes.testkit.CriticalSection;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.History;
import io.etcdrecipes.testkit.Hold;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;

/** The mutex on one member: Go's layout, the blocking forms, cleanup of every failed attempt, threads of one JVM. */
class MutexTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private EtcdClient client() {
    EtcdClient c = EtcdClient.builder().endpoints(etcd.endpoints()).callTimeout(Timing.seconds(5)).build();
    toClose.add(c);
    return c;
  }

  private Session session(EtcdClient c) throws Exception {
    Session s = Session.builder(c).ttl(Duration.ofSeconds(10)).build(Timing.seconds(10));
    toClose.add(s);
    return s;
  }

  private static List<String> keys(EtcdClient c, String name) {
    List<String> keys = new ArrayList<>();
    for (KeyValue kv : get(c.kv().get(ByteSequence.of(name + "/"), GetOption.prefix())).kvs()) {
      keys.add(kv.key().toStringUtf8());
    }
    return keys;
  }

  @Test
  void anUncontendedLockIsGosKeyAndItsCreateRevisionIsTheToken() throws Exception {
    EtcdClient c = client();
    Session s = session(c);
    Mutex m = Mutex.create(s, "mt/plain");
    try (Ownership lock = m.lock(Timing.seconds(5))) {
      assertThat(lock.key().toStringUtf8()).isEqualTo("mt/plain/" + Long.toHexString(s.leaseId()));
      KeyValue kv = get(c.kv().get(lock.key())).first();
      assertThat(lock.fencingToken()).isEqualTo(kv.createRevision());
      assertThat(kv.lease()).isEqualTo(s.leaseId());
      assertThat(lock.isValid()).isTrue();
      get(lock.commit(c.kv(), Op.put(ByteSequence.of("mt/plain-data"), ByteSequence.of("x"))));
    }
    assertThat(keys(c, "mt/plain")).isEmpty();
  }

  @Test
  void aWaiterGetsTheLockWhenTheHolderUnlocksAndTokensIncrease() throws Exception {
    EtcdClient c1 = client();
    EtcdClient c2 = client();
    Mutex m1 = Mutex.create(session(c1), "mt/handoff");
    Mutex m2 = Mutex.create(session(c2), "mt/handoff");
    Ownership first = m1.lock(Timing.seconds(5));
    CompletableFuture<Ownership> second = m2.lockAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys(c1, "mt/handoff").size() == 2);
    assertThat(second).isNotDone();
    assertThat(first.release()).isTrue();
    Ownership got = get(second);
    assertThat(got.fencingToken()).isGreaterThan(first.fencingToken());
    assertThat(first.release()).isFalse(); // released before: nothing to do
    got.close();
  }

  @Test
  void tryLockFailsAtOnceWhenHeldElsewhereAndLeavesNoKey() throws Exception {
    EtcdClient c1 = client();
    EtcdClient c2 = client();
    Mutex m1 = Mutex.create(session(c1), "mt/try");
    Mutex m2 = Mutex.create(session(c2), "mt/try");
    try (Ownership held = m1.lock(Timing.seconds(5))) {
      assertThat(m2.tryLock()).isEmpty();
      assertThat(keys(c1, "mt/try")).containsExactly(held.key().toStringUtf8());
    }
    Optional<Ownership> now = m2.tryLock();
    assertThat(now).isPresent();
    now.get().close();
  }

  @Test
  void aTimedOutAttemptDeletesItsKeyBeforeItReturns() throws Exception {
    EtcdClient c1 = client();
    EtcdClient c2 = client();
    Mutex m1 = Mutex.create(session(c1), "mt/timeout");
    Mutex m2 = Mutex.create(session(c2), "mt/timeout");
    try (Ownership held = m1.lock(Timing.seconds(5))) {
      assertThatThrownBy(() -> m2.lock(Duration.ofMillis(300))).isInstanceOf(TimeoutException.class);
      assertThat(keys(c1, "mt/timeout")).containsExactly(held.key().toStringUtf8());
    }
  }

  @Test
  void anInterruptedAttemptDeletesItsKeyBeforeItThrows() throws Exception {
    EtcdClient c1 = client();
    EtcdClient c2 = client();
    Mutex m1 = Mutex.create(session(c1), "mt/interrupt");
    Mutex m2 = Mutex.create(session(c2), "mt/interrupt");
    try (Ownership held = m1.lock(Timing.seconds(5))) {
      CompletableFuture<Throwable> thrown = new CompletableFuture<>();
      Thread t = new Thread(() -> {
        try {
          m2.lock();
          thrown.complete(null);
        } catch (Throwable e) {
          thrown.complete(e);
        }
      });
      t.start();
      await().atMost(Timing.seconds(5)).until(() -> keys(c1, "mt/interrupt").size() == 2);
      t.interrupt();
      assertThat(get(thrown)).isInstanceOf(InterruptedException.class);
      assertThat(keys(c1, "mt/interrupt")).containsExactly(held.key().toStringUtf8());
    }
  }

  @Test
  void aCancelledAsyncAttemptDeletesItsKey() throws Exception {
    EtcdClient c1 = client();
    EtcdClient c2 = client();
    Mutex m1 = Mutex.create(session(c1), "mt/cancel");
    Mutex m2 = Mutex.create(session(c2), "mt/cancel");
    try (Ownership held = m1.lock(Timing.seconds(5))) {
      CompletableFuture<Ownership> f = m2.lockAsync();
      await().atMost(Timing.seconds(5)).until(() -> keys(c1, "mt/cancel").size() == 2);
      f.cancel(false);
      await().atMost(Timing.seconds(5)).until(() -> keys(c1, "mt/cancel").size() == 1);
      assertThat(keys(c1, "mt/cancel")).containsExactly(held.key().toStringUtf8());
    }
  }

  @Test
  void threadsSharingOneSessionNeverHoldAtOnce() throws Exception {
    EtcdClient c = client();
    CriticalSection section = eightThreadsOnOneSession(c, "mt/threads", "mt/threads");
    assertThat(section.history().holds().size()).isEqualTo(80);
    section.noLostUpdates();
    section.history().holds().noOverlap().tokensIncrease();
    assertThat(keys(c, "mt/threads")).isEmpty();
  }

  /** The negative control: the same threads, half of them on another mutex (a lock that lets two in). */
  @Test
  void theChecksSeeTwoThreadsHoldingAtOnce() throws Exception {
    EtcdClient c = client();
    CriticalSection section = eightThreadsOnOneSession(c, "mt/neg-a", "mt/neg-b");
    assertThatThrownBy(() -> section.history().holds().noOverlap()).isInstanceOf(AssertionError.class)
        .hasMessageContaining("holds overlap");
    assertThatThrownBy(section::noLostUpdates).hasMessageContaining("exclusion broken");
    assertThat(keys(c, "mt/neg-a")).isEmpty();
  }

  /**
   * Eight threads on one session, the even ones on mutex {@code even}, the odd ones on {@code odd}, 10 turns each;
   * each turn spans real work in the lock's name: a guarded rewrite of a shared key.
   */
  private CriticalSection eightThreadsOnOneSession(EtcdClient c, String even, String odd) throws Exception {
    Session s = session(c);
    CriticalSection section = new CriticalSection(new History());
    ByteSequence data = ByteSequence.of(even + "-data");
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      String me = "t" + t;
      Mutex m = Mutex.create(s, t % 2 == 0 ? even : odd); // separate instances: the key is the session's either way
      threads.add(new Thread(() -> {
        try {
          for (int i = 0; i < 10; i++) {
            try (Ownership lock = m.lock(Timing.seconds(30));
                 CriticalSection.Turn turn = section.enter(me, Hold.Kind.EXCLUSIVE, lock.fencingToken())) {
              get(lock.commit(c.kv(), Op.put(data, ByteSequence.of(me + "#" + i))));
            }
          }
        } catch (Throwable e) {
          errors.add(e);
        }
      }));
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join(Timing.seconds(60).toMillis());
    }
    assertThat(errors).isEmpty();
    get(c.kv().delete(data));
    return section;
  }

  @Test
  void asLockIsReentrantForItsThreadAndOnlyItsThreadUnlocks() throws Exception {
    EtcdClient c = client();
    Lock lock = Mutex.create(session(c), "mt/lock").asLock();
    lock.lock();
    lock.lock();
    assertThat(keys(c, "mt/lock")).hasSize(1);
    CompletableFuture<Throwable> other = CompletableFuture.supplyAsync(() -> {
      try {
        lock.unlock();
        return null;
      } catch (Throwable e) {
        return e;
      }
    });
    assertThat(get(other)).isInstanceOf(IllegalMonitorStateException.class);
    lock.unlock();
    assertThat(keys(c, "mt/lock")).hasSize(1);
    lock.unlock();
    assertThat(keys(c, "mt/lock")).isEmpty();
    assertThatThrownBy(lock::newCondition).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void asLockCountsHoldsPerLockWhateverObjectTheThreadUses() throws Exception {
    // on the old code each asLock() had its own count: the second lock() hung behind the first (non-interruptibly)
    EtcdClient c = client();
    Session s = session(c);
    Lock first = Mutex.create(s, "mt/one-count").asLock();
    Lock second = Mutex.create(s, "mt/one-count").asLock();
    Lock otherName = Mutex.create(s, "mt/one-count-b").asLock();
    assertThat(first.tryLock(Timing.seconds(5).toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    assertThat(second.tryLock(Timing.seconds(5).toMillis(), TimeUnit.MILLISECONDS)).isTrue(); // the same hold
    assertThat(keys(c, "mt/one-count")).hasSize(1);
    assertThat(otherName.tryLock()).isTrue(); // another lock: a hold of its own
    otherName.unlock();
    first.unlock(); // through either object
    assertThat(keys(c, "mt/one-count")).hasSize(1);
    second.unlock();
    assertThat(keys(c, "mt/one-count")).isEmpty();
    assertThatThrownBy(first::unlock).isInstanceOf(IllegalMonitorStateException.class);
    // another session on the same name is another contender, not the same hold
    Lock elsewhere = Mutex.create(session(c), "mt/one-count").asLock();
    first.lock();
    assertThat(elsewhere.tryLock()).isFalse();
    first.unlock();
    assertThat(elsewhere.tryLock()).isTrue();
    elsewhere.unlock();
  }

  @Test
  void aNestedLockOfALostHoldThrowsRatherThanPretendToHold() throws Exception {
    EtcdClient c = client();
    EtcdClient other = client();
    Session s = session(c);
    Lock lock = Mutex.create(s, "mt/lost-nested").asLock();
    lock.lock();
    get(other.lease().revoke(s.leaseId()));
    await().atMost(Timing.seconds(10)).until(() -> s.state() == SessionState.LOST);
    try (Ownership theirs = Mutex.create(session(other), "mt/lost-nested").lock(Timing.seconds(5))) {
      assertThatThrownBy(lock::lock).isInstanceOf(OwnershipLostException.class);
      assertThatThrownBy(lock::tryLock).isInstanceOf(OwnershipLostException.class);
      // the last unlock ends the lost hold without touching theirs, and says it was lost
      assertThatThrownBy(lock::unlock).isInstanceOf(OwnershipLostException.class);
      assertThatThrownBy(lock::unlock).isInstanceOf(IllegalMonitorStateException.class); // over: nothing left to unlock
      assertThat(theirs.isValid()).isTrue();
      assertThat(keys(c, "mt/lost-nested")).containsExactly(theirs.key().toStringUtf8());
    }
  }

  @Test
  void aRevokedSessionLosesTheLockAndGuardedWritesAreRejected() throws Exception {
    EtcdClient c = client();
    EtcdClient other = client();
    Session s = session(c);
    Ownership lock = Mutex.create(s, "mt/lost").lock(Timing.seconds(5));
    get(other.lease().revoke(s.leaseId()));
    OwnershipLostException why = get(lock.lost());
    assertThat(why.reason()).isEqualTo(OwnershipLostException.Reason.SESSION_LOST);
    assertThat(lock.isValid()).isFalse();
    assertThatThrownBy(() -> get(lock.commit(c.kv(), Op.put(ByteSequence.of("mt/lost-data"), ByteSequence.of("x")))))
        .isInstanceOf(OwnershipLostException.class);
    assertThat(get(c.kv().get(ByteSequence.of("mt/lost-data"))).isEmpty()).isTrue();
    assertThat(lock.release()).isFalse(); // unlocking a lost lock is not an error: it says it was lost
    assertThatThrownBy(() -> Mutex.create(s, "mt/lost").lock(Timing.seconds(5)))
        .isInstanceOf(SessionLostException.class);
  }

  @Test
  void aCallerQueuedBehindAnotherOfItsSessionFailsWhenTheSessionIsLost() throws Exception {
    EtcdClient c = client();
    Session s = session(c);
    Ownership held = Mutex.create(s, "mt/queued").lock(Timing.seconds(5));
    CompletableFuture<Ownership> queued = Mutex.create(s, "mt/queued").lockAsync(); // waits locally behind `held`
    get(client().lease().revoke(s.leaseId()));
    assertThat(io.etcdrecipes.testkit.Futures.failure(queued)).isInstanceOf(SessionLostException.class);
    assertThat(get(held.lost()).reason()).isEqualTo(OwnershipLostException.Reason.SESSION_LOST);
    held.close();
  }

  @Test
  void badInputIsRejectedBeforeAnythingIsWritten() throws Exception {
    EtcdClient c = client();
    Session s = session(c);
    assertThatThrownBy(() -> Mutex.create(s, "")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("name");
    assertThatThrownBy(() -> Mutex.create(s, "  ")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("name");
    assertThatThrownBy(() -> Mutex.create(s, "a/")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("name");
    assertThatThrownBy(() -> Mutex.create(s, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("name");
    Mutex m = Mutex.create(s, "mt/bad");
    assertThatThrownBy(() -> m.lock(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeout");
    assertThatThrownBy(() -> m.lock(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class);
    s.close();
    assertThatThrownBy(m::lock).isInstanceOf(SessionLostException.class);
    assertThatThrownBy(m::tryLock).isInstanceOf(SessionLostException.class);
    assertThat(keys(c, "mt/bad")).isEmpty();
  }
}
