package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.end;
import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.GuardedLog;
import io.etcdrecipes.testkit.History;
import io.etcdrecipes.testkit.Hold;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Mutual exclusion while members and the etcd leader are SIGKILLed and restarted, and client connections are reset
 * in between: 8 clients (each its own {@link EtcdClient} over the proxies of all three members, its own sessions) run
 * 100 cycles each; a cycle takes the mutex and appends {@code holder:token:begin} and {@code holder:token:end} to one
 * etcd key, each append a read-modify-write in a transaction guarded by the lock ({@link Ownership#txn}) and by the
 * log key's mod revision. A cycle that fails (lock lost, member gone, connection reset, deadline) is retried; every
 * completed cycle must be in the log.
 *
 * <p>What would make it fail: two holders at once (a waiter that owns without re-checking its key, a session that
 * reports itself usable after the server expired it) shows up three ways — in the holds ({@code noOverlap}), in the
 * log ({@link GuardedLog#noInterleaving}: another holder's entries inside a turn), and at once as a rejected append
 * whose own lock key still existed (someone else changed the log while we held the lock). A holder told
 * {@code lost()} later than the server deleted its key shows up as overlapping holds.
 */
class MutexUnderFaultsTest {

  private static final Logger log = LoggerFactory.getLogger(MutexUnderFaultsTest.class);
  private static final String NAME = "mf/lock";
  private static final ByteSequence LOG = ByteSequence.of("mf/log");
  private static final int CLIENTS = 8;
  private static final int CYCLES = 100;
  private static final Duration TTL = Duration.ofSeconds(2);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  /** A cycle that did not complete; it is retried. */
  private static final class CycleFailed extends Exception {
    CycleFailed(String message) {
      super(message, null, false, false);
    }
  }

  @Test
  void eightClientsNeverInterleaveWhileMembersAndTheLeaderAreKilled() throws Exception {
    History history = new History();
    List<String> violations = new CopyOnWriteArrayList<>();
    Set<String> completed = ConcurrentHashMap.newKeySet();
    AtomicInteger failedCycles = new AtomicInteger();
    AtomicInteger newSessions = new AtomicInteger();
    LockTestSupport.Nemesis nemesis = new LockTestSupport.Nemesis(etcd.cluster(), true);
    ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
    long started = System.nanoTime();
    try (LockTestSupport t = new LockTestSupport(etcd.endpoints())) {
      List<CompletableFuture<Void>> workers = new ArrayList<>();
      List<EtcdClient> clients = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        clients.add(t.client(String.join(",", etcd.proxiedEndpoints()), Duration.ofSeconds(2)));
      }
      nemesis.start();
      for (int i = 0; i < CLIENTS; i++) {
        String me = "c" + i;
        EtcdClient c = clients.get(i);
        workers.add(CompletableFuture.runAsync(() -> {
          try {
            work(me, c, history, violations, completed, failedCycles, newSessions);
          } catch (Exception e) {
            throw new RuntimeException(me + " failed", e);
          }
        }, pool));
      }
      try {
        for (CompletableFuture<Void> w : workers) {
          get(w, Timing.seconds(180));
        }
      } finally {
        nemesis.stopAndRestore();
      }
      long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
      log.info("{} cycles completed in {} s, {} failed and retried, {} sessions made; {}", completed.size(), seconds,
          failedCycles.get(), newSessions.get(), nemesis);
      assertThat(nemesis.errors).isEmpty();
      assertThat(nemesis.kills.get()).as("members killed while the clients ran").isGreaterThanOrEqualTo(2);
      assertThat(nemesis.leaderKills.get()).as("leaders killed while the clients ran").isGreaterThanOrEqualTo(1);
      assertThat(failedCycles.get()).as("cycles the faults broke (else they missed the critical path)").isPositive();

      assertThat(violations).as("appends rejected although the appender's lock key still existed").isEmpty();
      history.holds().noOverlap().tokensIncrease();
      assertThat(history.holds().size()).isGreaterThanOrEqualTo(CLIENTS * CYCLES);

      EtcdClient c = t.client();
      List<String> entries = Arrays.stream(get(c.kv().get(LOG)).first().value().toStringUtf8().split("\n"))
          .filter(e -> !e.isEmpty()).toList();
      GuardedLog.noInterleaving(GuardedLog.parse(entries));
      Set<String> inLog = new HashSet<>(entries);
      for (String turn : completed) {
        assertThat(inLog).as("completed cycle %s in the log", turn).contains(turn + ":begin", turn + ":end");
      }
      assertThat(completed).hasSize(CLIENTS * CYCLES);
      // sessions lost to the faults leave their keys until the TTL runs out
      await().atMost(Timing.seconds(10)).until(() -> keys(c, NAME).isEmpty());
      get(c.kv().delete(LOG));
    } finally {
      pool.shutdownNow();
    }
  }

  private void work(String me, EtcdClient c, History history, List<String> violations, Set<String> completed,
                    AtomicInteger failedCycles, AtomicInteger newSessions) throws Exception {
    long deadline = System.nanoTime() + Timing.seconds(170).toNanos();
    Session s = null;
    int done = 0;
    try {
      while (done < CYCLES) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError(me + " completed only " + done + " cycles in time");
        }
        if (s == null || !s.isValid()) {
          if (s != null) {
            s.close();
          }
          try {
            s = Session.builder(c).ttl(TTL).build(Timing.seconds(10));
            newSessions.incrementAndGet();
          } catch (TimeoutException | EtcdException e) {
            s = null;
            failedCycles.incrementAndGet();
            continue;
          }
        }
        Ownership o;
        try {
          o = Mutex.create(s, NAME).lock(Timing.seconds(10));
        } catch (TimeoutException | EtcdException e) {
          failedCycles.incrementAndGet();
          continue;
        }
        String turn = me + ":" + o.fencingToken();
        Hold h = history.acquired(me, o.fencingToken());
        o.lost().thenRun(() -> end(h, true)); // the instant the holder is told: later writes are its own fault
        boolean ok = false;
        try {
          append(c, o, turn + ":begin", violations);
          append(c, o, turn + ":end", violations);
          ok = true;
        } catch (CycleFailed | EtcdException e) {
          failedCycles.incrementAndGet();
        } finally {
          end(h, false);
          o.close();
        }
        if (ok) {
          completed.add(turn);
          done++;
        }
      }
    } finally {
      if (s != null) {
        s.close();
      }
    }
  }

  /** Appends {@code entry} to the log: read, then write guarded by the lock and the log's mod revision. */
  private static void append(EtcdClient c, Ownership o, String entry, List<String> violations)
      throws CycleFailed, InterruptedException {
    if (!o.isValid()) {
      throw new CycleFailed("told the lock is lost");
    }
    GetResponse g = call(c.kv().get(LOG));
    KeyValue current = g.first();
    long modRevision = current == null ? 0 : current.modRevision();
    String text = current == null ? "" : current.value().toStringUtf8();
    TxnResponse r = call(o.txn(c.kv(), Compare.modRevision(LOG).equal(modRevision))
        .then(Op.put(LOG, ByteSequence.of(text + entry + "\n")))
        .orElse(Op.get(o.key()))
        .commit());
    if (!r.succeeded()) {
      KeyValue mine = r.getResponse(0).first();
      if (mine != null && mine.createRevision() == o.fencingToken()) {
        violations.add(entry + ": the log changed (mod revision " + modRevision + " read at revision "
            + g.header().revision() + ") while the lock key still existed at revision " + r.header().revision());
      }
      throw new CycleFailed("the guarded append was rejected");
    }
  }

  private static <T> T call(CompletableFuture<T> f) throws CycleFailed, InterruptedException {
    try {
      return f.get(Timing.seconds(15).toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new CycleFailed(String.valueOf(e.getCause()));
    } catch (TimeoutException e) {
      throw new CycleFailed("no answer in time");
    }
  }
}
