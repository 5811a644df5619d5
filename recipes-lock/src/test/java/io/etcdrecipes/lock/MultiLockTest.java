package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/** All or nothing, in one fixed order: no deadlock between multi-locks listing the same names differently. */
class MultiLockTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void twoMultiLocksInOppositeOrderDoNotDeadlock() throws Exception {
    String[][] orders = {{"ml/a", "ml/b", "ml/c"}, {"ml/c", "ml/b", "ml/a"}};
    CriticalSection section = fourProcesses(orders, 10);
    section.noLostUpdates();
    section.history().holds().noOverlap();
    assertThat(section.turns()).isEqualTo(40);
    EtcdClient c = t.client();
    assertThat(keys(c, "ml/a")).isEmpty();
    assertThat(keys(c, "ml/c")).isEmpty();
  }

  /** The negative control: the same processes, half of them on other names (so nothing excludes the two halves). */
  @Test
  void theChecksSeeMultiLocksThatDoNotShareANameHoldAtOnce() throws Exception {
    String[][] disjoint = {{"mln/a", "mln/b"}, {"mln/c", "mln/d"}};
    CriticalSection section = fourProcesses(disjoint, 10);
    assertThatThrownBy(() -> section.history().holds().noOverlap()).isInstanceOf(AssertionError.class)
        .hasMessageContaining("holds overlap");
    assertThatThrownBy(section::noLostUpdates).hasMessageContaining("exclusion broken");
    assertThat(section.maxConcurrent()).isGreaterThan(1);
  }

  /**
   * Four processes, process p on {@code names[p % 2]}, each holding all of them {@code rounds} times; each turn spans
   * real work in the locks' names: a guarded write under every lock it holds.
   */
  private CriticalSection fourProcesses(String[][] names, int rounds) throws Exception {
    CriticalSection section = new CriticalSection(new History());
    List<CompletableFuture<Void>> runs = new ArrayList<>();
    for (int p = 0; p < 4; p++) {
      Session s = t.session();
      String[] mine = names[p % 2];
      String me = "p" + p;
      runs.add(CompletableFuture.runAsync(() -> {
        try {
          MultiLock all = MultiLock.mutexes(s, mine);
          for (int i = 0; i < rounds; i++) {
            try (HeldLocks held = all.lock(Timing.seconds(30));
                 CriticalSection.Turn turn = section.enter(me, Hold.Kind.EXCLUSIVE,
                     held.ownerships().get(0).fencingToken())) {
              for (Ownership o : held.ownerships()) {
                get(o.commit(s.client().kv(), Op.put(ByteSequence.of("mldata/" + me), ByteSequence.of("turn " + i))));
              }
            }
          }
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      }));
    }
    for (CompletableFuture<Void> r : runs) {
      get(r, Timing.seconds(90));
    }
    get(t.client().kv().delete(ByteSequence.of("mldata/"), DeleteOption.prefix()));
    return section;
  }

  @Test
  void aFailedMultiLockReleasesWhatItTook() throws Exception {
    EtcdClient c = t.client();
    try (Ownership b = Mutex.create(t.session(c), "mlf/b").lock(Timing.seconds(5))) {
      MultiLock all = MultiLock.mutexes(t.session(c), "mlf/c", "mlf/a", "mlf/b");
      assertThat(all.locks()).extracting(DistributedLock::name).containsExactly("mlf/a", "mlf/b", "mlf/c");
      assertThatThrownBy(() -> all.lock(Duration.ofMillis(400))).isInstanceOf(TimeoutException.class);
      assertThat(keys(c, "mlf/a")).isEmpty();
      assertThat(keys(c, "mlf/b")).containsExactly(b.key().toStringUtf8());
      assertThat(keys(c, "mlf/c")).isEmpty();
      assertThat(all.tryLock()).isEmpty();
      assertThat(keys(c, "mlf/a")).isEmpty();
    }
    assertThatThrownBy(() -> MultiLock.mutexes(t.session(c), "x", "x")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> MultiLock.of()).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void lockAsyncTakesEveryLockAndAGiveUpReleasesWhatItTook() throws Exception {
    EtcdClient c = t.client();
    MultiLock all = MultiLock.mutexes(t.session(c), "mla/c", "mla/a", "mla/b");
    try (HeldLocks held = get(all.lockAsync(), Timing.seconds(5))) {
      assertThat(held.ownerships()).hasSize(3);
      assertThat(held.isValid()).isTrue();
    }
    assertThat(keys(c, "mla/a")).isEmpty();

    try (Ownership b = Mutex.create(t.session(c), "mla/b").lock(Timing.seconds(5))) {
      java.util.concurrent.CompletableFuture<HeldLocks> waiting = all.lockAsync();
      // a taken, b waited for (its key queued behind the holder's)
      await().atMost(Timing.seconds(5)).until(() -> keys(c, "mla/a").size() == 1 && keys(c, "mla/b").size() == 2);
      assertThat(waiting).isNotDone();
      waiting.completeExceptionally(new TimeoutException("given up")); // any foreign completion gives it up
      await().atMost(Timing.seconds(5)).until(() -> keys(c, "mla/a").isEmpty() && keys(c, "mla/b").size() == 1);
      assertThat(keys(c, "mla/b")).containsExactly(b.key().toStringUtf8());
      assertThat(keys(c, "mla/c")).isEmpty();
    }
    try (HeldLocks again = get(all.lockAsync(), Timing.seconds(5))) { // nothing of the given-up attempt is in the way
      assertThat(again.ownerships()).hasSize(3);
    }
  }
}
