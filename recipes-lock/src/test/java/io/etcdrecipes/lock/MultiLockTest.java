package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.History;
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
    History history = new History();
    List<CompletableFuture<Void>> runs = new ArrayList<>();
    String[][] orders = {{"ml/a", "ml/b", "ml/c"}, {"ml/c", "ml/b", "ml/a"}};
    for (int p = 0; p < 4; p++) {
      Session s = t.session();
      String[] names = orders[p % 2];
      String me = "p" + p;
      runs.add(CompletableFuture.runAsync(() -> {
        try {
          MultiLock all = MultiLock.mutexes(s, names);
          for (int i = 0; i < 10; i++) {
            try (HeldLocks held = all.lock(Timing.seconds(30))) {
              history.acquired(me, held.ownerships().get(0).fencingToken()).released();
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
    history.holds().noOverlap();
    EtcdClient c = t.client();
    assertThat(keys(c, "ml/a")).isEmpty();
    assertThat(keys(c, "ml/c")).isEmpty();
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
}
