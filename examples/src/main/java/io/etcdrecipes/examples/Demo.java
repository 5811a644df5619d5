package io.etcdrecipes.examples;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Member;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.Stm;
import io.etcdrecipes.recipes.StmResult;
import io.etcdrecipes.testkit.EtcdCluster;
import io.etcdrecipes.testkit.EtcdMember;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The README's main job: money moves between bank accounts in STM transactions while the etcd member the
 * workers talk to is killed and later restarted.
 *
 * <p>A local 3-member etcd cluster (or the one at {@code ETCD_ENDPOINTS}, where nothing is killed), one
 * client shared by {@value #WORKERS} workers that each move a random amount between two random accounts of
 * {@value #ACCOUNTS} with {@link Stm} (serializable snapshot isolation), and a watcher that prints every
 * transfer as etcd reports it. At the end: a timeline, the number of transfers and conflicts, and three
 * checks — the total is unchanged, the watcher saw every acknowledged transfer exactly once, and transfers
 * went on after the kill. Exits non-zero when a check fails.
 */
public final class Demo {

  static final int ACCOUNTS = 5;
  static final int WORKERS = 4;
  static final long START_BALANCE = 1_000;
  private static final long T0 = System.nanoTime();

  private final String prefix = "demo/bank/" + Long.toHexString(System.currentTimeMillis()) + "/";
  private final List<String> timeline = new ArrayList<>();
  private final Set<Long> committed = ConcurrentHashMap.newKeySet();
  private final Map<Long, Integer> seen = new ConcurrentHashMap<>();
  private final AtomicInteger transfers = new AtomicInteger();
  private final AtomicInteger conflicts = new AtomicInteger();
  private final AtomicInteger failures = new AtomicInteger();
  private final AtomicLong lastCommitNanos = new AtomicLong();
  private volatile boolean stop;

  private Demo() {}

  public static void main(String[] args) throws Exception {
    String external = System.getenv("ETCD_ENDPOINTS");
    EtcdCluster cluster = null;
    int status = 1;
    Demo demo = new Demo();
    try {
      String endpoints;
      if (external != null && !external.isBlank()) {
        endpoints = external;
        demo.mark("using the cluster at ETCD_ENDPOINTS=" + endpoints + " (no member will be killed)");
      } else {
        say("starting a local 3-member etcd cluster from the etcd binary...");
        cluster = EtcdCluster.builder().members(3).fastElections().proxies(false).start();
        endpoints = cluster.endpoints();
        demo.mark("cluster up: " + endpoints);
        for (EtcdMember m : cluster.members()) {
          say("  " + m.name() + "  " + m.clientEndpoint() + (m.isLeader() ? "  (leader)" : ""));
        }
      }
      status = demo.run(endpoints, cluster);
    } catch (Exception e) {
      say("demo failed: " + e);
      e.printStackTrace(System.out);
    } finally {
      if (cluster != null) {
        say("stopping the cluster");
        cluster.close();
      }
    }
    say(status == 0 ? "demo OK" : "demo FAILED");
    System.exit(status);
  }

  private int run(String endpoints, EtcdCluster cluster) throws Exception {
    try (EtcdClient client = EtcdClient.builder().endpoints(endpoints).callTimeout(Duration.ofSeconds(3)).build()) {
      List<ByteSequence> accounts = new ArrayList<>();
      for (int i = 0; i < ACCOUNTS; i++) {
        ByteSequence k = ByteSequence.of(prefix + "acct-" + i);
        accounts.add(k);
        client.kv().put(k, ByteSequence.of(Long.toString(START_BALANCE))).get(10, TimeUnit.SECONDS);
      }
      say(ACCOUNTS + " accounts of " + START_BALANCE + " under " + prefix + "; total " + ACCOUNTS * START_BALANCE);

      Watcher watcher = client.watch().watch(ByteSequence.of(prefix), WatchOption.builder().prefix().prevKv().build(),
          r -> printTransfers(r.events()));
      watcher.created().get(10, TimeUnit.SECONDS);

      Stm stm = Stm.builder(client.kv()).build();
      List<Thread> workers = new ArrayList<>();
      for (int w = 0; w < WORKERS; w++) {
        int id = w;
        Thread t = new Thread(() -> work(id, stm, accounts), "demo-worker-" + w);
        workers.add(t);
        t.start();
      }
      mark(WORKERS + " workers moving money with STM (serializable snapshot), a watcher printing each transfer");

      boolean chaos = cluster != null;
      int afterKill = 0;
      if (chaos) {
        Thread.sleep(3000);
        String name = servingMember(client);
        EtcdMember victim = cluster.members().stream().filter(m -> m.name().equals(name)).findFirst()
            .orElse(cluster.member(0));
        boolean leader = victim.isLeader();
        mark("the workers talk to " + victim.name() + (leader ? " (the leader)" : " (a follower)")
            + "; killing it (SIGKILL)");
        int before = transfers.get();
        long killedAt = System.nanoTime();
        victim.kill();
        mark("killed " + victim.name());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (lastCommitNanos.get() < killedAt && System.nanoTime() < deadline) {
          Thread.sleep(5); // a demo, not a test: poll for the printout
        }
        if (lastCommitNanos.get() >= killedAt) {
          mark(String.format(Locale.ROOT, "first transfer committed after the kill, %d ms after it",
              TimeUnit.NANOSECONDS.toMillis(lastCommitNanos.get() - killedAt)));
        }
        Thread.sleep(5000);
        afterKill = transfers.get() - before;
        mark("the workers now talk to " + servingMember(client) + "; " + afterKill
            + " transfers since the kill; restarting " + victim.name());
        victim.start();
        mark(victim.name() + " is back and healthy");
        Thread.sleep(3000);
      } else {
        Thread.sleep(8000);
      }
      stop = true;
      for (Thread t : workers) {
        t.join(20_000);
      }
      mark("workers stopped");

      // wait (bounded) until the watcher has printed every acknowledged transfer
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!seen.keySet().containsAll(committed) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      watcher.close();

      long total = 0;
      StringBuilder balances = new StringBuilder();
      for (KeyValue kv : client.kv().get(ByteSequence.of(prefix), GetOption.prefix()).get(10, TimeUnit.SECONDS).kvs()) {
        long b = Long.parseLong(kv.value().toStringUtf8());
        total += b;
        balances.append(' ').append(kv.key().toStringUtf8().substring(prefix.length())).append('=').append(b);
      }
      client.kv().delete(ByteSequence.of(prefix), DeleteOption.prefix()).get(10, TimeUnit.SECONDS);

      System.out.println();
      say("timeline:");
      timeline.forEach(l -> System.out.println("  " + l));
      System.out.println();
      long duplicates = seen.values().stream().filter(n -> n > 1).count();
      long missed = committed.stream().filter(rev -> !seen.containsKey(rev)).count();
      long unacknowledged = seen.keySet().stream().filter(rev -> !committed.contains(rev)).count();
      say(String.format(Locale.ROOT, "transfers committed: %d, conflicts (retried attempts): %d, failed calls: %d",
          transfers.get(), conflicts.get(), failures.get()));
      say("watcher saw " + seen.size() + " transfers: " + missed + " acknowledged ones missing, " + duplicates
          + " seen twice" + (unacknowledged > 0 ? ", " + unacknowledged + " applied whose reply was lost" : ""));
      say("balances:" + balances);
      long expected = ACCOUNTS * START_BALANCE;
      boolean totalOk = total == expected;
      boolean watchOk = missed == 0 && duplicates == 0;
      boolean wentOn = !chaos || afterKill > 0;
      say("check: total " + total + (totalOk ? " == " : " != ") + expected + (totalOk ? "  OK" : "  FAILED"));
      say("check: every acknowledged transfer seen once by the watcher" + (watchOk ? "  OK" : "  FAILED"));
      if (chaos) {
        say("check: transfers went on after the kill (" + afterKill + ")" + (wentOn ? "  OK" : "  FAILED"));
      }
      return totalOk && watchOk && wentOn && transfers.get() > 0 ? 0 : 1;
    }
  }

  /** One worker: transfers until stopped, a pause of 150-350 ms between them. */
  private void work(int id, Stm stm, List<ByteSequence> accounts) {
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    while (!stop) {
      int a = rnd.nextInt(ACCOUNTS);
      int b = (a + 1 + rnd.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
      long amount = 1 + rnd.nextInt(50);
      try {
        StmResult<Boolean> r = stm.run(tx -> {
          long from = Long.parseLong(tx.get(accounts.get(a)).toStringUtf8());
          long to = Long.parseLong(tx.get(accounts.get(b)).toStringUtf8());
          Thread.sleep(20); // "think time" between reading and writing: room for conflicts
          if (from < amount) {
            return false;
          }
          tx.put(accounts.get(a), ByteSequence.of(Long.toString(from - amount)));
          tx.put(accounts.get(b), ByteSequence.of(Long.toString(to + amount)));
          return true;
        }, Duration.ofSeconds(15));
        conflicts.addAndGet(r.attempts() - 1);
        if (r.value()) {
          committed.add(r.revision());
          transfers.incrementAndGet();
          lastCommitNanos.set(System.nanoTime());
        }
      } catch (EtcdException e) {
        failures.incrementAndGet();
        say(String.format(Locale.ROOT, "    worker %d: transfer failed (%s: %s); next one", id, e.code(),
            e.getMessage()));
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        failures.incrementAndGet();
        say("    worker " + id + ": " + e);
      }
      try {
        Thread.sleep(150 + rnd.nextInt(200));
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** One transfer = the two puts of one revision; prints "from -> to amount". */
  private void printTransfers(List<WatchEvent> events) {
    Map<Long, List<WatchEvent>> byRev = new TreeMap<>();
    for (WatchEvent e : events) {
      if (e.type() == WatchEvent.Type.PUT && e.prevKv() != null) {
        byRev.computeIfAbsent(e.kv().modRevision(), k -> new ArrayList<>()).add(e);
      }
    }
    for (Map.Entry<Long, List<WatchEvent>> t : byRev.entrySet()) {
      seen.merge(t.getKey(), 1, Integer::sum);
      String from = "?";
      String to = "?";
      long amount = 0;
      for (WatchEvent e : t.getValue()) {
        long delta = Long.parseLong(e.kv().value().toStringUtf8()) - Long.parseLong(e.prevKv().value().toStringUtf8());
        String acct = e.kv().key().toStringUtf8().substring(prefix.length());
        if (delta < 0) {
          from = acct;
          amount = -delta;
        } else {
          to = acct;
        }
      }
      say(String.format(Locale.ROOT, "    watch: rev %-6d %s -> %s %3d", t.getKey(), from, to, amount));
    }
  }

  /** The member that answers this client's calls now, by the member id in a response header. */
  private String servingMember(EtcdClient client) throws Exception {
    long id = client.kv().get(ByteSequence.of(prefix + "acct-0")).get(10, TimeUnit.SECONDS).header().memberId();
    Map<Long, String> names = new HashMap<>();
    for (Member m : client.cluster().memberList().get(10, TimeUnit.SECONDS).members()) {
      names.put(m.id(), m.name());
    }
    return names.getOrDefault(id, Long.toHexString(id));
  }

  private void mark(String what) {
    String line = String.format(Locale.ROOT, "+%6.2f s  %s", (System.nanoTime() - T0) / 1e9, what);
    synchronized (timeline) {
      timeline.add(line);
    }
    say(what);
  }

  private static synchronized void say(String line) {
    System.out.println(String.format(Locale.ROOT, "%8.3f  ", (System.nanoTime() - T0) / 1e9) + line);
  }
}
