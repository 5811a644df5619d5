package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.end;
import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.History;
import io.etcdrecipes.testkit.Hold;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The shared locks under load while members and the leader are killed and restarted: a read-write lock whose readers
 * really share (some read holds overlap) while writers overlap nothing and tokens order them; a semaphore never held
 * by more than its permits (and by more than one at once: it does share). Each holder does guarded work in its hold
 * (a read, or a write for writers); a cycle that fails (lost, unavailable) is retried. A hold ends when its holder is
 * told it is lost, or just before it releases. What would make it fail: a reader that does not wait for an older
 * writer, a writer that waits only for writers, a claimant counting only part of the older keys, a holder told of a
 * loss after the server deleted its key.
 */
class SharedLocksUnderFaultsTest {

  private static final Logger log = LoggerFactory.getLogger(SharedLocksUnderFaultsTest.class);
  private static final Duration TTL = Duration.ofSeconds(2);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void readersOverlapAndWritersOverlapNothingWhileMembersAreKilled() throws Exception {
    String name = "shared/rw";
    History history = new History();
    AtomicInteger failed = new AtomicInteger();
    LockTestSupport.Nemesis nemesis = run(6, 25, history, failed, name, 1, () ->
        ThreadLocalRandom.current().nextInt(4) == 0 ? LockTestSupport.Kind.WRITE : LockTestSupport.Kind.READ);

    history.holds().readersWriters().tokensIncrease();
    long writes = history.holds().list().stream().filter(h -> h.kind() == Hold.Kind.WRITE).count();
    int overlapping = overlappingPairs(history.holds().list(), Hold.Kind.READ);
    log.info("read-write lock: {} holds ({} writes), {} pairs of overlapping reads, {} failed cycles; {}",
        history.holds().size(), writes, overlapping, failed.get(), nemesis);
    assertThat(writes).as("writes among the holds").isPositive();
    assertThat(overlapping).as("pairs of read holds that overlapped: readers share").isPositive();
    assertThat(keys(t.client(), name)).isEmpty();
  }

  @Test
  void neverMoreThanThePermitsWhileMembersAreKilled() throws Exception {
    String name = "shared/sem";
    int permits = 3;
    History history = new History();
    AtomicInteger failed = new AtomicInteger();
    LockTestSupport.Nemesis nemesis = run(10, 15, history, failed, name, permits, () -> LockTestSupport.Kind.PERMIT);

    history.holds().atMostConcurrent(permits);
    int most = mostAtOnce(history.holds().list());
    log.info("semaphore of {}: {} holds, at most {} at once, {} failed cycles; {}", permits, history.holds().size(),
        most, failed.get(), nemesis);
    assertThat(most).as("permits held at once at the busiest moment: the semaphore shares").isGreaterThan(1);
    assertThat(keys(t.client(), name)).isEmpty();
  }

  /**
   * {@code processes} clients (each its own, over all members) run {@code cycles} successful holds each of the kind
   * {@code kinds} picks, while a nemesis kills members; returns it stopped, the cluster whole again.
   */
  private LockTestSupport.Nemesis run(int processes, int cycles, History history, AtomicInteger failed, String name,
                                      int permits, Supplier<LockTestSupport.Kind> kinds) throws Exception {
    LockTestSupport.Nemesis nemesis = new LockTestSupport.Nemesis(etcd.cluster(), false);
    ExecutorService pool = Executors.newFixedThreadPool(processes);
    try {
      List<CompletableFuture<Void>> workers = new ArrayList<>();
      List<EtcdClient> clients = new ArrayList<>();
      for (int i = 0; i < processes; i++) {
        clients.add(t.client(etcd.endpoints(), Duration.ofSeconds(2)));
      }
      nemesis.start();
      for (int i = 0; i < processes; i++) {
        String me = "p" + i;
        EtcdClient c = clients.get(i);
        workers.add(CompletableFuture.runAsync(() -> {
          try {
            work(me, c, cycles, history, failed, name, permits, kinds);
          } catch (Exception e) {
            throw new RuntimeException(me + " failed", e);
          }
        }, pool));
      }
      try {
        for (CompletableFuture<Void> w : workers) {
          get(w, Timing.seconds(120));
        }
      } finally {
        nemesis.stopAndRestore();
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(nemesis.errors).isEmpty();
    assertThat(nemesis.kills.get()).as("members killed while the clients ran").isPositive();
    // sessions lost to the faults leave their keys until the TTL runs out
    EtcdClient c = t.client();
    await().atMost(Timing.seconds(10)).until(() -> keys(c, name).isEmpty());
    get(c.kv().delete(ByteSequence.of(name + "-data")));
    return nemesis;
  }

  private static void work(String me, EtcdClient c, int cycles, History history, AtomicInteger failed, String name,
                           int permits, Supplier<LockTestSupport.Kind> kinds) throws Exception {
    ByteSequence data = ByteSequence.of(name + "-data");
    long deadline = System.nanoTime() + Timing.seconds(110).toNanos();
    Session s = null;
    int done = 0;
    try {
      while (done < cycles) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError(me + " completed only " + done + " cycles in time");
        }
        if (s == null || !s.isValid()) {
          if (s != null) {
            s.close();
          }
          try {
            s = Session.builder(c).ttl(TTL).build(Timing.seconds(10));
          } catch (TimeoutException | EtcdException e) {
            s = null;
            failed.incrementAndGet();
            continue;
          }
        }
        LockTestSupport.Kind kind = kinds.get();
        Ownership o;
        try {
          o = kind.on(s, name, permits).lock(Timing.seconds(10));
        } catch (TimeoutException | EtcdException e) {
          failed.incrementAndGet();
          continue;
        }
        Hold h = history.acquired(me, kind.holdKind, o.fencingToken());
        o.lost().thenRun(() -> end(h, true));
        try {
          // the work in the hold: two guarded round trips, a write for a writer
          Op op = kind == LockTestSupport.Kind.WRITE ? Op.put(data, ByteSequence.of(me)) : Op.get(data);
          boolean ok = true;
          for (int i = 0; i < 2 && ok; i++) {
            TxnResponse r = o.txn(c.kv()).then(op).commit().get(Timing.seconds(10).toMillis(), TimeUnit.MILLISECONDS);
            ok = r.succeeded() && o.isValid();
          }
          if (ok) {
            done++;
          } else {
            failed.incrementAndGet();
          }
        } catch (ExecutionException | TimeoutException e) {
          failed.incrementAndGet();
        } finally {
          end(h, false);
          o.close();
        }
      }
    } finally {
      if (s != null) {
        s.close();
      }
    }
  }

  /** How many pairs of holds of {@code kind} overlapped in time. */
  private static int overlappingPairs(List<Hold> holds, Hold.Kind kind) {
    List<Hold> of = holds.stream().filter(h -> h.kind() == kind).toList();
    int pairs = 0;
    for (int i = 0; i < of.size(); i++) {
      for (int j = i + 1; j < of.size(); j++) {
        Hold a = of.get(i);
        Hold b = of.get(j);
        if (a.startNanos() < b.endNanos() && b.startNanos() < a.endNanos()) {
          pairs++;
        }
      }
    }
    return pairs;
  }

  /** The most holds open at one instant. */
  private static int mostAtOnce(List<Hold> holds) {
    List<long[]> events = new ArrayList<>(); // {instant, +1 start / -1 end}
    for (Hold h : holds) {
      events.add(new long[] {h.startNanos(), 1});
      events.add(new long[] {h.endNanos(), -1});
    }
    events.sort(Comparator.<long[]>comparingLong(e -> e[0]).thenComparingLong(e -> e[1])); // ends first
    int open = 0;
    int most = 0;
    for (long[] e : events) {
      open += (int) e[1];
      most = Math.max(most, open);
    }
    return most;
  }
}
