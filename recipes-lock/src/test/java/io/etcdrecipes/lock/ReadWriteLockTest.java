package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;

/** The read-write lock: Go's layout, readers share, writers exclude, FIFO, cleanup of failed attempts. */
class ReadWriteLockTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void readersShareAndUseGosKeys() throws Exception {
    Session s1 = t.session();
    Session s2 = t.session();
    try (Ownership r1 = ReadWriteLock.create(s1, "rw/share").readLock().lock(Timing.seconds(5));
         Ownership r2 = ReadWriteLock.create(s2, "rw/share").readLock().lock(Timing.seconds(5))) {
      assertThat(r1.key().toStringUtf8()).matches("rw/share/read/\\d+");
      assertThat(r2.key().toStringUtf8()).matches("rw/share/read/\\d+");
      assertThat(r2.fencingToken()).isGreaterThan(r1.fencingToken());
      assertThat(ReadWriteLock.create(t.session(), "rw/share").writeLock().tryLock()).isEmpty();
    }
    assertThat(keys(t.client(), "rw/share")).isEmpty();
  }

  @Test
  void aWriterWaitsForOlderReadersAndLaterReadersWaitForTheWriter() throws Exception {
    EtcdClient c = t.client();
    ReadWriteLock a = ReadWriteLock.create(t.session(c), "rw/fifo");
    ReadWriteLock b = ReadWriteLock.create(t.session(c), "rw/fifo");
    ReadWriteLock d = ReadWriteLock.create(t.session(c), "rw/fifo");
    Ownership reader = a.readLock().lock(Timing.seconds(5));
    CompletableFuture<Ownership> writer = b.writeLock().lockAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys(c, "rw/fifo").size() == 2);
    CompletableFuture<Ownership> lateReader = d.readLock().lockAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys(c, "rw/fifo").size() == 3);
    assertThat(writer).isNotDone();
    assertThat(lateReader).as("a reader behind a waiting writer waits (no writer starvation)").isNotDone();

    reader.close();
    Ownership w = get(writer);
    assertThat(lateReader).isNotDone();
    w.close();
    get(lateReader).close();
    assertThat(keys(c, "rw/fifo")).isEmpty();
  }

  @Test
  void aTimedOutWriterLeavesNoKey() throws Exception {
    EtcdClient c = t.client();
    try (Ownership r = ReadWriteLock.create(t.session(c), "rw/timeout").readLock().lock(Timing.seconds(5))) {
      assertThatThrownBy(() -> ReadWriteLock.create(t.session(c), "rw/timeout").writeLock().lock(Duration.ofMillis(300)))
          .isInstanceOf(TimeoutException.class);
      assertThat(keys(c, "rw/timeout")).containsExactly(r.key().toStringUtf8());
    }
  }

  @Test
  void mixedReadersAndWritersNeverBreakTheRules() throws Exception {
    CriticalSection section = mixed("rw/mixed", false);
    assertThat(section.history().holds().size()).isEqualTo(90);
    section.noLostUpdates();
    section.history().holds().readersWriters().tokensIncrease();
    assertThat(keys(t.client(), "rw/mixed")).isEmpty();
  }

  /** The negative control: the same processes, but a writer takes the read side (a write lock that lets readers in). */
  @Test
  void theChecksSeeAWriterThatHoldsOnlyTheReadSide() throws Exception {
    CriticalSection section = mixed("rw/broken", true);
    assertThatThrownBy(() -> section.history().holds().readersWriters()).isInstanceOf(AssertionError.class)
        .hasMessageContaining("a writer overlaps another hold");
    assertThatThrownBy(section::noLostUpdates).hasMessageContaining("exclusion broken");
    assertThat(keys(t.client(), "rw/broken")).isEmpty();
  }

  /**
   * Six processes on {@code name}, 15 turns each, a third of them (with {@code brokenWrites} half) writes; each turn
   * spans real work in the lock's name: a writer rewrites a shared key under its guard, a reader reads it.
   */
  private CriticalSection mixed(String name, boolean brokenWrites) throws Exception {
    CriticalSection section = new CriticalSection(new History());
    ByteSequence data = ByteSequence.of(name + "-data");
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      String me = "p" + i;
      Session s = t.session();
      ReadWriteLock rw = ReadWriteLock.create(s, name);
      threads.add(new Thread(() -> {
        try {
          for (int n = 0; n < 15; n++) {
            boolean write = ThreadLocalRandom.current().nextInt(brokenWrites ? 2 : 3) == 0;
            DistributedLock side = write && !brokenWrites ? rw.writeLock() : rw.readLock();
            try (Ownership o = side.lock(Timing.seconds(30));
                 CriticalSection.Turn turn = section.enter(me, write ? Hold.Kind.WRITE : Hold.Kind.READ,
                     o.fencingToken())) {
              if (write) {
                get(o.commit(s.client().kv(), Op.put(data, ByteSequence.of(me + "#" + n))));
              } else {
                get(s.client().kv().get(data));
                o.checkValid();
              }
            }
          }
        } catch (Throwable e) {
          errors.add(e);
        }
      }));
    }
    threads.forEach(Thread::start);
    for (Thread th : threads) {
      th.join(Timing.seconds(60).toMillis());
    }
    assertThat(errors).isEmpty();
    get(t.client().kv().delete(data));
    return section;
  }

  @Test
  void readersReallyOverlap() throws Exception {
    History history = new History();
    List<CompletableFuture<Ownership>> readers = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      readers.add(ReadWriteLock.create(t.session(), "rw/overlap").readLock().lockAsync());
    }
    List<Hold> holds = new ArrayList<>();
    for (int i = 0; i < readers.size(); i++) {
      holds.add(history.acquired("r" + i, Hold.Kind.READ, get(readers.get(i)).fencingToken()));
    }
    // every reader holds at the same moment
    assertThatThrownBy(() -> history.holds().atMostConcurrent(4)).isInstanceOf(AssertionError.class);
    for (int i = 0; i < readers.size(); i++) {
      holds.get(i).released();
      get(readers.get(i)).close();
    }
    history.holds().readersWriters();
  }
}
