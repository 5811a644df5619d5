package io.etcdrecipes.recipes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

class StmTest {

  private static final Logger log = LoggerFactory.getLogger(StmTest.class);
  private static final Duration RUN = Duration.ofSeconds(10);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  /** Clients on one member only: a write through it is applied there before it answers, so its serializable
   *  reads see it, which makes the interleavings below deterministic. */
  private static EtcdClient pinned;
  private static EtcdClient pinnedOther;

  @BeforeAll
  static void open() {
    pinned = EtcdClient.builder().endpoints(etcd.member(0).clientEndpoint()).build();
    pinnedOther = EtcdClient.builder().endpoints(etcd.member(0).clientEndpoint()).build();
  }

  @AfterAll
  static void close() {
    pinned.close();
    pinnedOther.close();
  }


  private static String read(EtcdClient c, String key) throws Exception {
    KeyValue kv = c.kv().get(key).get(10, TimeUnit.SECONDS).first();
    return kv == null ? null : kv.value().toStringUtf8();
  }

  static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    Refused(String m) {
      super(m);
    }
  }

  @Test
  void aFunctionThatThrowsCommitsNothing() throws Exception {
    pinned.kv().put("abort/k", "1").get(10, TimeUnit.SECONDS);
    Stm stm = Stm.builder(pinned.kv()).build();
    IllegalStateException boom = new IllegalStateException("boom");
    assertThatThrownBy(() -> stm.run(tx -> {
      tx.put("abort/k", "2");
      tx.put("abort/new", "x");
      throw boom;
    }, RUN)).isSameAs(boom);

    // a checked exception reaches the caller with its own type (the compiler makes us catch Refused)
    try {
      stm.run(tx -> {
        tx.get("abort/k");
        tx.delete("abort/k");
        throw new Refused("insufficient funds");
      }, RUN);
    } catch (Refused expected) {
      assertThat(expected).hasMessage("insufficient funds");
    }

    CompletableFuture<StmResult<Object>> async = stm.runAsync(tx -> {
      tx.put("abort/k", "3");
      throw new Refused("async");
    });
    assertThatThrownBy(() -> async.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(Refused.class);

    assertThat(read(pinned, "abort/k")).isEqualTo("1");
    assertThat(read(pinned, "abort/new")).isNull();
  }

  @Test
  void runReturnsTheValueAndTheCommitRevision() throws Exception {
    Stm stm = Stm.builder(pinned.kv()).prefetch("ret/a", "ret/b").build();
    StmResult<String> r = stm.run(tx -> {
      assertThat(tx.get("ret/a")).isNull();
      assertThat(tx.rev("ret/b")).isZero();
      tx.put("ret/a", "1");
      assertThat(tx.get("ret/a")).isEqualTo("1"); // reads its own writes
      tx.delete("ret/b");
      assertThat(tx.get("ret/b")).isNull();
      return "done";
    }, RUN);
    assertThat(r.value()).isEqualTo("done");
    assertThat(r.attempts()).isEqualTo(1);
    assertThat(pinned.kv().get("ret/a").get(10, TimeUnit.SECONDS).first().modRevision()).isEqualTo(r.revision());
    StmResult<String> async = stm.runAsync(tx -> tx.get("ret/a")).get(10, TimeUnit.SECONDS);
    assertThat(async.value()).isEqualTo("1");
  }

  @Test
  void maxAttemptsBoundsConflicts() throws Exception {
    pinned.kv().put("bound/k", "0").get(10, TimeUnit.SECONDS);
    AtomicInteger runs = new AtomicInteger();
    Stm stm = Stm.builder(pinned.kv()).maxAttempts(3).build();
    assertThatThrownBy(() -> stm.run(tx -> {
      runs.incrementAndGet();
      tx.get("bound/k");
      pinnedOther.kv().put("bound/k", "someone else").get(10, TimeUnit.SECONDS); // always a conflict
      tx.put("bound/mine", "x");
      return null;
    }, RUN)).isInstanceOfSatisfying(StmConflictException.class, e -> assertThat(e.attempts()).isEqualTo(3));
    assertThat(runs.get()).isEqualTo(3);
    assertThat(read(pinned, "bound/mine")).isNull();
  }

  /**
   * Write skew: two doctors on call, each goes off call if the other is still on. Both read both keys before
   * either commits (a barrier in the first attempt). Read-committed lets both commit: nobody is on call. Every
   * other level re-runs the second one, which then stays on call.
   */
  @ParameterizedTest
  @EnumSource(Isolation.class)
  void writeSkewOnlyAtReadCommitted(Isolation level) throws Exception {
    String p = "skew/" + level + "/";
    pinned.kv().put(p + "alice", "on").get(10, TimeUnit.SECONDS);
    pinned.kv().put(p + "bob", "on").get(10, TimeUnit.SECONDS);
    CyclicBarrier bothRead = new CyclicBarrier(2);
    Stm stm = Stm.builder(pinned.kv()).isolation(level).build();
    List<CompletableFuture<StmResult<Boolean>>> runs = new ArrayList<>();
    for (String me : List.of("alice", "bob")) {
      runs.add(stm.runAsync(tx -> {
        boolean othersOn = "on".equals(tx.get(p + "alice")) && "on".equals(tx.get(p + "bob"));
        if (tx.attempt() == 1) {
          bothRead.await(10, TimeUnit.SECONDS);
        }
        if (othersOn) {
          tx.put(p + me, "off");
        }
        return othersOn;
      }));
    }
    List<StmResult<Boolean>> results = new ArrayList<>();
    for (CompletableFuture<StmResult<Boolean>> f : runs) {
      results.add(f.get(20, TimeUnit.SECONDS));
    }
    long onCall = List.of(read(pinned, p + "alice"), read(pinned, p + "bob")).stream().filter("on"::equals).count();
    if (level == Isolation.READ_COMMITTED) {
      assertThat(onCall).as("write skew at %s", level).isZero();
      assertThat(results).allMatch(r -> r.value() && r.attempts() == 1);
    } else {
      assertThat(onCall).as("no write skew at %s", level).isEqualTo(1);
      assertThat(results).filteredOn(StmResult::value).hasSize(1);
      assertThat(results).filteredOn(r -> !r.value()).singleElement().satisfies(r -> assertThat(r.attempts()).isEqualTo(2));
    }
  }

  /**
   * Read skew inside the function: x and y hold 100 together; between the reads of x and y another client moves
   * 10 from x to y. The snapshot levels read both at one revision (100); repeatable-reads and read-committed
   * read y after the move (110). Repeatable-reads then fails its commit (x changed) and re-runs; read-committed
   * commits what it saw.
   */
  @ParameterizedTest
  @EnumSource(Isolation.class)
  void readSkewOnlyWithoutASnapshot(Isolation level) throws Exception {
    String p = "readskew/" + level + "/";
    pinned.kv().put(p + "x", "50").get(10, TimeUnit.SECONDS);
    pinned.kv().put(p + "y", "50").get(10, TimeUnit.SECONDS);
    List<Integer> sums = new CopyOnWriteArrayList<>();
    StmResult<Integer> r = Stm.builder(pinned.kv()).isolation(level).build().run(tx -> {
      int x = Integer.parseInt(tx.get(p + "x"));
      if (tx.attempt() == 1) {
        pinnedOther.kv().txn().then(Op.put(ByteSequence.of(p + "x"), ByteSequence.of("40")), Op.put(ByteSequence.of(p + "y"), ByteSequence.of("60")))
            .commit().get(10, TimeUnit.SECONDS);
      }
      int y = Integer.parseInt(tx.get(p + "y"));
      sums.add(x + y);
      return x + y;
    }, RUN);
    switch (level) {
      case SERIALIZABLE_SNAPSHOT, SERIALIZABLE -> assertThat(sums).containsExactly(100, 100);
      case REPEATABLE_READS -> assertThat(sums).containsExactly(110, 100);
      case READ_COMMITTED -> assertThat(sums).containsExactly(110);
    }
    assertThat(r.value()).isEqualTo(sums.get(sums.size() - 1));
  }

  /**
   * A blind write (a key written, never read) racing a change made after the snapshot: serializable-snapshot
   * checks written keys too and re-runs; serializable (and the weaker levels) commit over the change.
   */
  @ParameterizedTest
  @EnumSource(Isolation.class)
  void blindWriteConflictOnlyAtSerializableSnapshot(Isolation level) throws Exception {
    String p = "blind/" + level + "/";
    pinned.kv().put(p + "x", "1").get(10, TimeUnit.SECONDS);
    pinned.kv().put(p + "y", "original").get(10, TimeUnit.SECONDS);
    StmResult<Void> r = Stm.builder(pinned.kv()).isolation(level).build().run(tx -> {
      String x = tx.get(p + "x");
      if (tx.attempt() == 1) {
        pinnedOther.kv().put(p + "y", "theirs").get(10, TimeUnit.SECONDS);
      }
      tx.put(p + "y", "mine, from x=" + x);
      return null;
    }, RUN);
    assertThat(read(pinned, p + "y")).isEqualTo("mine, from x=1");
    assertThat(r.attempts()).as("attempts at %s", level).isEqualTo(level == Isolation.SERIALIZABLE_SNAPSHOT ? 2 : 1);
  }

  /**
   * 10 accounts, 8 threads x 200 random transfers, while the leader is killed (after a third) and restarted
   * (after two thirds). A commit whose outcome is unknown (its member died) is retried; a marker key written
   * by each transfer makes the retry a no-op when the first try was applied. The total never changes and every
   * transfer is applied exactly once.
   */
  @ParameterizedTest
  @EnumSource(value = Isolation.class, names = {"SERIALIZABLE_SNAPSHOT", "SERIALIZABLE", "REPEATABLE_READS"})
  void bankTransfersSurviveAMemberKill(Isolation level) throws Exception {
    int accounts = 10;
    int threads = 8;
    int perThread = 200;
    int total = threads * perThread;
    long initial = 1000;
    String p = "bank/" + level + "/";
    long start = System.nanoTime();
    AtomicInteger done = new AtomicInteger();
    AtomicInteger applied = new AtomicInteger();
    AtomicInteger alreadyApplied = new AtomicInteger();
    AtomicInteger failures = new AtomicInteger();
    AtomicInteger attempts = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    EtcdMember victim;
    try (EtcdClient c = EtcdClient.builder().endpoints(etcd.endpoints()).callTimeout(Duration.ofSeconds(5)).build()) {
      for (int a = 0; a < accounts; a++) {
        c.kv().put(p + "acct/" + a, Long.toString(initial)).get(10, TimeUnit.SECONDS);
      }
      List<Future<?>> workers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        workers.add(pool.submit(() -> {
          Random rnd = new Random(thread);
          for (int i = 0; i < perThread; i++) {
            int from = rnd.nextInt(accounts);
            int to = (from + 1 + rnd.nextInt(accounts - 1)) % accounts;
            int amount = 1 + rnd.nextInt(100);
            transfer(c, level, p, thread + "-" + i, from, to, amount, applied, alreadyApplied, failures, attempts);
            done.incrementAndGet();
          }
          return null;
        }));
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> done.get() >= total / 3);
      victim = etcd.leader();
      victim.kill();
      log.info("{}: killed the leader {} after {} transfers", level, victim.name(), done.get());
      await().atMost(Duration.ofSeconds(60)).until(() -> done.get() >= total * 2 / 3);
      victim.start();
      log.info("{}: restarted {} after {} transfers", level, victim.name(), done.get());
      for (Future<?> w : workers) {
        w.get(90, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    try (EtcdClient c = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      long[] balances = new long[accounts];
      long sum = 0;
      for (int a = 0; a < accounts; a++) {
        balances[a] = Long.parseLong(read(c, p + "acct/" + a));
        sum += balances[a];
      }
      List<KeyValue> markers = c.kv().get(ByteSequence.of(p + "tx/"), GetOption.prefix()).get(10, TimeUnit.SECONDS).kvs();
      long[] expected = BankMarkers.expectedBalances(markers, accounts, initial);
      log.info("{}: {} transfers in {} ms ({} attempts, {} conflicts, {} failed runs retried, {} found applied)",
          level, total, millis, attempts.get(), attempts.get() - total, failures.get(), alreadyApplied.get());
      assertThat(sum).isEqualTo(accounts * initial);
      assertThat(markers).hasSize(total);
      assertThat(balances).containsExactly(expected);
      assertThat(applied.get() + alreadyApplied.get()).isEqualTo(total);
      assertThat(alreadyApplied.get()).isLessThanOrEqualTo(failures.get());
    }
  }

  private static void transfer(EtcdClient c, Isolation level, String p, String id, int from, int to, int amount,
                               AtomicInteger applied, AtomicInteger alreadyApplied, AtomicInteger failures,
                               AtomicInteger attempts) throws Exception {
    String marker = p + "tx/" + id;
    String fromKey = p + "acct/" + from;
    String toKey = p + "acct/" + to;
    Stm stm = Stm.builder(c.kv()).isolation(level).prefetch(marker, fromKey, toKey).build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        StmResult<Boolean> r = stm.run(tx -> {
          if (tx.get(marker) != null) {
            return false; // an earlier run whose answer we lost was applied
          }
          long a = Long.parseLong(tx.get(fromKey));
          long b = Long.parseLong(tx.get(toKey));
          tx.put(fromKey, Long.toString(a - amount));
          tx.put(toKey, Long.toString(b + amount));
          tx.put(marker, from + "," + to + "," + amount);
          return true;
        }, RUN);
        attempts.addAndGet(r.attempts());
        (r.value() ? applied : alreadyApplied).incrementAndGet();
        return;
      } catch (EtcdException | TimeoutException e) {
        failures.incrementAndGet();
        if (System.nanoTime() - deadline > 0) {
          throw e;
        }
        log.debug("transfer {} failed, retrying: {}", id, e.toString());
      }
    }
  }
}
