package io.etcdrecipes.recipes;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.leasing.LeasingKV;
import io.etcdrecipes.testkit.EtcdCluster;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A long run under random faults (kill and restart a member, kill the leader, pause a member, reset the
 * client connections of a member, cut a member off from its peers), one at a time with quorum kept, while:
 * STM transfers move money between accounts (each writes a marker key, so a retry after an unknown outcome is
 * a no-op); a watch follows the marker keys; two leasing clients (CONFIRMED reads) and a plain client write and
 * read shared keys. At the end: money is conserved and every balance matches the markers; the watch saw every
 * marker exactly once, in revision order; every leasing read was linearizable (no completed write missed,
 * never back in time per reader). Tagged {@code soak}: {@code mvn -Psoak test -pl recipes-core -am
 * -Dsoak.minutes=5} (default 5).
 */
@Tag("soak")
class ChaosSoakTest {

  private static final Logger log = LoggerFactory.getLogger(ChaosSoakTest.class);
  private static final int ACCOUNTS = 8;
  private static final long INITIAL = 1_000;
  private static final List<String> SHARED = List.of("soak/l/0", "soak/l/1", "soak/l/2");

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).proxies(true).build();

  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();
  private final ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();

  /** A leasing-history record: a write attempt (ok: it completed) or a completed read. */
  record Op(int thread, boolean write, boolean ok, String key, String value, long invoke, long complete, long rev) {}

  @Test
  void everyInvariantHoldsUnderRandomFaults() throws Exception {
    long minutes = Long.getLong("soak.minutes", 5);
    EtcdCluster cluster = etcd.cluster();
    String endpoints = String.join(",", cluster.proxiedEndpoints());
    ConcurrentLinkedQueue<Op> history = new ConcurrentLinkedQueue<>();
    List<WatchEvent> markerEvents = new CopyOnWriteArrayList<>();
    AtomicLong transfers = new AtomicLong();
    AtomicLong unknownOutcomes = new AtomicLong();
    AtomicLong failedOps = new AtomicLong();
    try (EtcdClient bank = client(endpoints); EtcdClient watcherClient = client(endpoints);
         EtcdClient c0 = client(endpoints); EtcdClient c1 = client(endpoints); EtcdClient plain = client(endpoints)) {
      for (int a = 0; a < ACCOUNTS; a++) {
        bank.kv().put("soak/acct/" + a, Long.toString(INITIAL)).get(10, TimeUnit.SECONDS);
      }
      for (String k : SHARED) {
        plain.kv().put(k, "init").get(10, TimeUnit.SECONDS);
      }
      long from = bank.kv().get("soak/acct/0").get(10, TimeUnit.SECONDS).header().revision() + 1;
      Watcher markers = watcherClient.watch().watch(ByteSequence.of("soak/tx/"),
          WatchOption.builder().prefix().revision(from).build(), new WatchListener() {
            @Override
            public void onNext(WatchResponse response) {
              markerEvents.addAll(response.events());
            }

            @Override
            public void onError(EtcdException error) {
              unexpected.add(error);
            }
          });
      try (LeasingKV l0 = leasing(c0); LeasingKV l1 = leasing(c1)) {
        for (int t = 0; t < 3; t++) {
          int thread = t;
          spawn("transfers-" + t, () -> transfers(bank, thread, transfers, unknownOutcomes));
        }
        KV[] writers = {l0, l1, plain.kv()};
        for (int w = 0; w < writers.length; w++) {
          int thread = 10 + w;
          KV kv = writers[w];
          spawn("writer-" + w, () -> leasingWriter(kv, thread, history, failedOps));
        }
        KV[] readers = {l0, l0, l1, l1};
        for (int r = 0; r < readers.length; r++) {
          int thread = 20 + r;
          KV kv = readers[r];
          spawn("reader-" + r, () -> leasingReader(kv, thread, history, failedOps));
        }

        int faults = chaos(cluster, TimeUnit.MINUTES.toNanos(minutes));
        cluster.healAll();
        cluster.awaitHealthy(Duration.ofSeconds(30));
        long doneBefore = transfers.get();
        int opsBefore = history.size();
        park(Duration.ofSeconds(5)); // a quiet stretch: everything must be working again
        stop.set(true);
        for (Thread t : threads) {
          t.join(90_000);
          assertThat(t.isAlive()).as("%s ended", t.getName()).isFalse();
        }
        assertThat(unexpected).as("unexpected errors").isEmpty();
        assertThat(transfers.get()).as("transfers after the faults ended").isGreaterThan(doneBefore);
        assertThat(history.size()).as("leasing operations after the faults ended").isGreaterThan(opsBefore);
        log.info("{} faults in {} min: {} transfers ({} unknown outcomes retried), {} leasing ops ({} failed "
                + "and were not counted), leasing hits {} / {}", faults, minutes, transfers.get(),
            unknownOutcomes.get(), history.size(), failedOps.get(), l0.hits() + l1.hits(),
            l0.hits() + l1.hits() + l0.misses() + l1.misses());
      }

      // money is conserved, and the balances are exactly what the markers say was transferred
      List<KeyValue> txs = bank.kv().get(ByteSequence.of("soak/tx/"), GetOption.prefix()).get(30, TimeUnit.SECONDS)
          .kvs();
      long[] expected = BankMarkers.expectedBalances(txs, ACCOUNTS, INITIAL);
      long sum = 0;
      for (int a = 0; a < ACCOUNTS; a++) {
        long balance = Long.parseLong(bank.kv().get("soak/acct/" + a).get(10, TimeUnit.SECONDS).first().value()
            .toStringUtf8());
        assertThat(balance).as("account %d", a).isEqualTo(expected[a]);
        sum += balance;
      }
      assertThat(sum).isEqualTo(ACCOUNTS * INITIAL);
      assertThat(txs).hasSize((int) transfers.get());

      // the watch saw every marker exactly once, in revision order
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> markerEvents.size() >= txs.size());
      markers.close();
      List<Long> revs = markerEvents.stream().map(e -> e.kv().modRevision()).toList();
      assertThat(revs).isSorted().doesNotHaveDuplicates();
      assertThat(markerEvents.stream().map(e -> e.kv().key()).toList())
          .containsExactlyInAnyOrderElementsOf(txs.stream().map(KeyValue::key).toList());

      checkLinearizable(new ArrayList<>(history), plain);
    }
  }

  private static EtcdClient client(String endpoints) {
    return EtcdClient.builder().endpoints(endpoints).callTimeout(Duration.ofSeconds(3)).build();
  }

  private static LeasingKV leasing(EtcdClient c) throws InterruptedException {
    return LeasingKV.builder(c, "soak/_lease/").sessionTtl(Duration.ofSeconds(3)).timeout(Duration.ofSeconds(5))
        .build();
  }

  private void spawn(String name, Runnable body) {
    Thread t = new Thread(() -> {
      try {
        body.run();
      } catch (Throwable e) {
        unexpected.add(e);
      }
    }, name);
    threads.add(t);
    t.start();
  }

  private static void park(Duration d) {
    long end = System.nanoTime() + d.toNanos();
    while (System.nanoTime() - end < 0) {
      LockSupport.parkNanos(end - System.nanoTime()); // the length of a fault or a quiet stretch
    }
  }

  /** One fault at a time, each followed by a healthy stretch; returns how many were injected. */
  private int chaos(EtcdCluster cluster, long nanos) {
    Random rnd = new Random();
    boolean canIsolate = EtcdCluster.isolationUnavailableReason().isEmpty();
    long end = System.nanoTime() + nanos;
    int n = 0;
    while (System.nanoTime() - end < 0 && unexpected.isEmpty()) {
      EtcdMember m = cluster.members().get(rnd.nextInt(cluster.size()));
      int kind = rnd.nextInt(canIsolate ? 5 : 4);
      switch (kind) {
        case 0 -> {
          log.info("fault {}: kill {} for a while", n, m.name());
          m.kill();
          park(Duration.ofMillis(1_000 + rnd.nextInt(3_000)));
          m.start();
        }
        case 1 -> {
          EtcdMember leader = cluster.leader(Duration.ofSeconds(10));
          log.info("fault {}: kill the leader {}", n, leader.name());
          leader.kill();
          park(Duration.ofMillis(1_000 + rnd.nextInt(2_000)));
          leader.start();
        }
        case 2 -> {
          log.info("fault {}: pause {}", n, m.name());
          m.pause();
          park(Duration.ofMillis(500 + rnd.nextInt(2_500)));
          m.resume();
        }
        case 3 -> {
          log.info("fault {}: reset the client connections of {}", n, m.name());
          m.proxy().reset();
        }
        default -> {
          log.info("fault {}: cut {} off from its peers", n, m.name());
          m.isolate();
          park(Duration.ofMillis(1_000 + rnd.nextInt(3_000)));
          m.heal();
        }
      }
      n++;
      cluster.awaitHealthy(Duration.ofSeconds(30));
      park(Duration.ofMillis(1_000 + rnd.nextInt(2_000)));
    }
    return n;
  }

  /** STM transfers until stopped; an unknown outcome is retried, and the marker makes a retry a no-op. */
  private void transfers(EtcdClient c, int thread, AtomicLong transfers, AtomicLong unknown) {
    Random rnd = new Random(thread);
    for (long i = 0; !stop.get(); i++) {
      int from = rnd.nextInt(ACCOUNTS);
      int to = (from + 1 + rnd.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
      int amount = 1 + rnd.nextInt(50);
      String marker = "soak/tx/" + thread + "-" + i;
      Stm stm = Stm.builder(c.kv()).prefetch(marker, "soak/acct/" + from, "soak/acct/" + to).build();
      while (true) {
        try {
          StmResult<Boolean> r = stm.run(tx -> {
            if (tx.get(marker) != null) {
              return false;
            }
            long a = Long.parseLong(tx.get("soak/acct/" + from));
            long b = Long.parseLong(tx.get("soak/acct/" + to));
            tx.put("soak/acct/" + from, Long.toString(a - amount));
            tx.put("soak/acct/" + to, Long.toString(b + amount));
            tx.put(marker, from + "," + to + "," + amount);
            return true;
          }, Duration.ofSeconds(20));
          if (!r.value()) {
            unknown.incrementAndGet();
          }
          transfers.incrementAndGet();
          break;
        } catch (EtcdException | TimeoutException e) {
          unknown.incrementAndGet(); // its member died or the deadline passed: try again, the marker decides
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private void leasingWriter(KV kv, int thread, ConcurrentLinkedQueue<Op> history, AtomicLong failed) {
    Random rnd = new Random(thread);
    for (long n = 0; !stop.get(); n++) {
      String key = SHARED.get(rnd.nextInt(SHARED.size()));
      String value = "t" + thread + "-" + n;
      long invoke = System.nanoTime();
      try {
        long rev = kv.put(ByteSequence.of(key), ByteSequence.of(value)).get(10, TimeUnit.SECONDS).header()
            .revision();
        history.add(new Op(thread, true, true, key, value, invoke, System.nanoTime(), rev));
      } catch (Exception e) {
        // unknown outcome: the value may or may not be there; reads may return it, nothing may miss it
        history.add(new Op(thread, true, false, key, value, invoke, Long.MAX_VALUE, 0));
        failed.incrementAndGet();
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20 + rnd.nextInt(40))); // pacing
    }
  }

  private void leasingReader(KV kv, int thread, ConcurrentLinkedQueue<Op> history, AtomicLong failed) {
    Random rnd = new Random(thread);
    while (!stop.get()) {
      String key = SHARED.get(rnd.nextInt(SHARED.size()));
      long invoke = System.nanoTime();
      try {
        GetResponse r = kv.get(ByteSequence.of(key)).get(10, TimeUnit.SECONDS);
        history.add(new Op(thread, false, true, key, r.first().value().toStringUtf8(), invoke, System.nanoTime(),
            r.first().modRevision()));
      } catch (Exception e) {
        failed.incrementAndGet(); // unavailable during a fault: allowed, not recorded
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2)); // pacing
    }
  }

  /**
   * Every read returns a value some write of that key wrote (or the initial one), at that write's revision; no
   * read misses a write that completed before it started; each reader's revisions never go back.
   */
  private static void checkLinearizable(List<Op> history, EtcdClient plain) throws Exception {
    Map<String, Op> writes = new HashMap<>();
    for (Op o : history) {
      if (o.write()) {
        writes.put(o.value(), o);
      }
    }
    Map<String, Long> initRev = new HashMap<>();
    for (String k : SHARED) {
      // the initial value's revision is its create revision (every key was put once before the run)
      initRev.put(k, plain.kv().get(k).get(10, TimeUnit.SECONDS).first().createRevision());
    }
    List<Op> reads = history.stream().filter(o -> !o.write()).sorted(Comparator.comparingLong(Op::invoke)).toList();
    assertThat(reads).isNotEmpty();
    Map<String, Long> lastByReader = new HashMap<>();
    Map<String, List<Op>> completedWrites = new HashMap<>();
    for (Op w : writes.values()) {
      if (w.ok()) {
        completedWrites.computeIfAbsent(w.key(), k -> new ArrayList<>()).add(w);
      }
    }
    completedWrites.values().forEach(l -> l.sort(Comparator.comparingLong(Op::complete)));
    Set<String> readValues = new HashSet<>();
    for (Op r : reads) {
      if (r.value().equals("init")) {
        assertThat(r.rev()).as("initial value of %s", r.key()).isEqualTo(initRev.get(r.key()));
      } else {
        Op w = writes.get(r.value());
        assertThat(w).as("the write of %s read by %s", r.value(), r).isNotNull();
        assertThat(w.key()).isEqualTo(r.key());
        if (w.ok()) {
          assertThat(r.rev()).as("revision of %s", r).isEqualTo(w.rev());
        }
      }
      readValues.add(r.value());
      String readerKey = r.thread() + "|" + r.key();
      long last = lastByReader.getOrDefault(readerKey, 0L);
      assertThat(r.rev()).as("reader %d went back in time: %s", r.thread(), r).isGreaterThanOrEqualTo(last);
      lastByReader.put(readerKey, r.rev());
      long missedRev = 0;
      Op missed = null;
      for (Op w : completedWrites.getOrDefault(r.key(), List.of())) {
        if (w.complete() >= r.invoke()) {
          break;
        }
        if (w.rev() > missedRev) {
          missedRev = w.rev();
          missed = w;
        }
      }
      assertThat(r.rev()).as("read %s missed the completed write %s", r, missed).isGreaterThanOrEqualTo(missedRev);
    }
    log.info("leasing history: {} reads of {} distinct values checked against {} writes", reads.size(),
        readValues.size(), writes.size());
  }
}
