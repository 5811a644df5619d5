package io.etcdrecipes.bench;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.testkit.TcpProxy;

import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Leader elections, ours ({@code Election} on a {@code Session} per contender) side by side with jetcd's server-side
 * Election RPC (a lease per contender, kept alive; {@code campaign(name, lease, proposal)} returning a leader key, then
 * {@code resign(leaderKey)}). Every contender has a lease of its own, so contenders queue in etcd; all of a client's
 * contenders share that client's one connection, except the crashing leader below. etcd's Go client ({@link GoTarget})
 * runs {@code election-resign} in its own process the same way: a {@code concurrency.Session} and a
 * {@code concurrency.Election} per contender on one shared client, {@code Campaign} then {@code Resign}.
 *
 * <ul>
 *   <li>{@code election-resign}: {@link Bench.Options#electionContenders} contenders campaign on one name; the leader
 *       resigns as soon as it leads and campaigns again (at the back of the queue). ops: campaign+resign cycles, all
 *       contenders together; latency: the failover, from just before the leader's resign call to the next
 *       contender's campaign call returning. Also counted: overlaps (a contender that becomes leader while another
 *       still believes it leads, in this JVM: must be 0) and failovers of {@link LockWorkload#SLOW} or more.</li>
 *   <li>{@code election-crash}: a leader on a client of its own crashes while one other contender waits; latency: from
 *       the crash instant to the waiter's campaign returning, {@link Bench.Options#electionCrashes} times per client,
 *       with a lease TTL of {@link Bench.Options#electionCrashTtlSeconds}. The target is TTL + 0.5 s.</li>
 * </ul>
 *
 * <p><b>What "crash" means here.</b> The leader's client (ours: an {@code EtcdClient} with the leader's
 * {@code Session}; jetcd: a {@code Client} with the leader's lease and its keep-alive) is a client of its own whose
 * only endpoint is a {@link TcpProxy} in this JVM in front of etcd. At the crash instant the proxy is closed: it stops
 * accepting and closes both sockets of the leader's connection, so etcd sees that connection end as it would when the
 * kernel closes the sockets of a SIGKILLed process, and nothing the leader's client sends afterwards reaches etcd (a
 * reconnect finds no listener). Then the leader's client is closed (which stops its keep-alives; neither client
 * revokes a lease on close). No resign, no revoke, no delete reaches etcd: the leader's key goes only when etcd
 * expires its lease, one TTL after the last renewal that reached etcd (the renewals go out every TTL/3, ours also
 * whenever none succeeded for 500 ms, so that is 2/3 TTL to TTL after the crash), plus up to 500 ms for etcd's
 * expiry loop. The connection is cut before the client is closed because closing our client first would end its
 * keep-alive stream before its channels: the session would see itself lost and its term would let go of its key (a
 * guarded delete, that is a resign) while the channels may still carry it. The crash instant falls at a random point
 * of the leader's renewal cycle (a random wait of up to 1 s before it). Each row also has the time from the crash to
 * the leader key's delete event at a watch of a separate client ({@code lease_gone}), and the rest, from that event to
 * the waiter's campaign returning ({@code after_delete}; negative when the waiter's answer came before that event).
 */
final class ElectionWorkload {

  static final String RESIGN = "election-resign";
  static final String CRASH = "election-crash";
  static final List<String> NAMES = List.of(RESIGN, CRASH);
  static final String PREFIX = "bench/election/";

  private final Bench.Options o;
  private final String endpoints;
  private final List<BenchClient> clients;
  /** The Java clients: election-crash runs on these only. */
  private final List<Target<?>> targets;
  private final OursTarget admin;
  /** The clients in the order of the next cell (rotating from cell to cell). */
  private final Supplier<List<BenchClient>> nextCell;
  private final List<Row> rows = new ArrayList<>();
  private final Random random = new Random(7);

  ElectionWorkload(Bench.Options o, String endpoints, List<BenchClient> clients, OursTarget admin,
                   Supplier<List<BenchClient>> nextCell) {
    this.o = o;
    this.endpoints = endpoints;
    this.clients = clients;
    this.targets = Bench.javaOnly(clients);
    this.admin = admin;
    this.nextCell = nextCell;
  }

  static boolean any(Set<String> workloads) {
    return NAMES.stream().anyMatch(workloads::contains);
  }

  List<Row> run() throws Exception {
    try {
      if (o.workloads.contains(RESIGN)) {
        warmUp();
        resignCell();
      }
      if (o.workloads.contains(CRASH)) {
        crashCell();
      }
      return rows;
    } finally {
      admin.client().kv().delete(ByteSequence.of(PREFIX), DeleteOption.prefix()).get(30, TimeUnit.SECONDS);
    }
  }

  // ------------------------------------------------------------------------------------------------- resign

  private void warmUp() throws Exception {
    long nanos = (long) (o.warmSeconds * 1e9 / 4);
    Bench.say(String.format(Locale.ROOT, "election warm-up: %d contenders campaigning and resigning for %.1f s per client",
        o.electionContenders, nanos / 1e9));
    for (BenchClient t : clients) {
      LockWorkload.cycles(t, true, PREFIX + "warm-" + t.name(), o.electionContenders, o.electionTtlSeconds, nanos);
    }
  }

  /** The contenders of each client cycling campaign then resign on one name; ABBA rounds as the KV cells. */
  private void resignCell() throws Exception {
    int n = o.electionContenders;
    Map<String, LockWorkload.Cycles> total = new LinkedHashMap<>();
    for (BenchClient t : Bench.rounds(nextCell.get(), o.roundsPerClient)) {
      // at most one leader at a time; "handoff" = failover (a resign to the next leader's campaign returning)
      LockWorkload.Cycles c = LockWorkload.cycles(t, true, PREFIX + RESIGN + "-" + t.name(), n, o.electionTtlSeconds,
          o.roundNanos());
      if (c != null) {
        total.computeIfAbsent(t.name(), k -> new LockWorkload.Cycles()).add(c);
      }
    }
    for (BenchClient t : clients) {
      LockWorkload.Cycles c = total.get(t.name());
      if (c == null) {
        continue; // a Go cell that failed (said when it did)
      }
      Load.Run r = new Load.Run();
      r.latency.add(c.handoff);
      r.ops.add(c.run.ops.sum());
      r.errors.add(c.run.errors.sum());
      r.elapsedNanos = c.run.elapsedNanos;
      r.cpuNanos = c.run.cpuNanos;
      r.serverCpuNanos = c.run.serverCpuNanos;
      r.lastError = c.run.lastError;
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("contenders", n);
      x.put("overlaps", c.overlaps.sum());
      x.put("failovers", c.handoff.count());
      x.put("failovers_50ms_or_more", Row.round(c.handoff.fractionAtLeast(LockWorkload.SLOW), 3));
      x.put("failover_p90_us", Row.round(c.handoff.quantile(0.9) / 1e3, 1));
      x.put("campaign_p50_us", Row.round(c.acquire.quantile(0.5) / 1e3, 1));
      x.put("resign_p50_us", Row.round(c.unlock.quantile(0.5) / 1e3, 1));
      x.put("cycle_p50_us", Row.round(c.run.latency.quantile(0.5) / 1e3, 1));
      x.put("ttl_s", o.electionTtlSeconds);
      x.put("latency", "failover: just before the leader's resign call to the next contender's campaign returning");
      x.put("ops_are", "campaign+resign cycles, all contenders together");
      x.put("sessions", sessions(t));
      Row row = Row.of(RESIGN, t.name(), n, r, x);
      rows.add(row);
      Bench.say(Report.line(row) + "   overlaps " + c.overlaps.sum() + ", " + c.handoff.count() + " failovers, "
          + x.get("failovers_50ms_or_more") + " of them >= 50 ms, campaign p50 " + x.get("campaign_p50_us") + " us");
      if (c.run.lastError != null) {
        Bench.say("  last error of " + t.name() + ": " + c.run.lastError);
      }
    }
  }

  // -------------------------------------------------------------------------------------------------- crash

  /** The sums of one client's crashes. */
  private static final class Crashes {
    final Histogram failover = new Histogram();
    final List<Long> leaseGoneNanos = new ArrayList<>();
    final List<Long> failoverNanos = new ArrayList<>();
    final List<Long> afterDeleteNanos = new ArrayList<>();
    final List<Long> grantedTtls = new ArrayList<>();
    long overlaps;
    long errors;
    long elapsedNanos;
    Throwable lastError;
  }

  private void crashCell() throws Exception {
    long ttl = o.electionCrashTtlSeconds;
    List<Target<?>> ab = Bench.javaOnly(nextCell.get());
    Map<String, Crashes> total = new LinkedHashMap<>();
    for (Target<?> t : targets) {
      total.put(t.name(), new Crashes());
    }
    Bench.say(String.format(Locale.ROOT, "election-crash: %d crash(es) per client, TTL %d s, target TTL + 0.5 s",
        o.electionCrashes, ttl));
    for (int k = 0; k < o.electionCrashes; k++) {
      List<Target<?>> pair = new ArrayList<>(ab);
      if (k % 2 == 1) {
        Collections.reverse(pair);
      }
      for (Target<?> t : pair) {
        Crashes c = total.get(t.name());
        long t0 = System.nanoTime();
        try {
          crashOnce(t, k, ttl, c);
        } catch (Exception e) {
          c.errors++;
          c.lastError = e;
          Bench.say("  election-crash " + t.name() + " #" + k + " failed: " + e);
        }
        c.elapsedNanos += System.nanoTime() - t0;
      }
    }
    for (Target<?> t : targets) {
      Crashes c = total.get(t.name());
      Load.Run r = new Load.Run();
      r.latency.add(c.failover);
      r.ops.add(c.failoverNanos.size());
      r.errors.add(c.errors);
      r.lastError = c.lastError;
      // elapsed and CPU left at 0: crashes per second and CPU per crash mean nothing here (the table shows 0)
      // a handful of crashes: quantiles of the exact values (the histogram's buckets are 1.5 % wide)
      long p50 = quantile(c.failoverNanos, 0.5);
      long max = quantile(c.failoverNanos, 1);
      long target = TimeUnit.SECONDS.toNanos(ttl) + TimeUnit.MILLISECONDS.toNanos(500);
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("crashes", c.failoverNanos.size());
      x.put("overlaps", c.overlaps);
      x.put("ttl_s", ttl);
      x.put("granted_ttl_s", c.grantedTtls.stream().map(String::valueOf).distinct().collect(Collectors.joining(",")));
      x.put("failover_p50_ms", Row.round(p50 / 1e6, 1));
      x.put("failover_max_ms", Row.round(max / 1e6, 1));
      x.put("target_ms", TimeUnit.NANOSECONDS.toMillis(target));
      x.put("within_target", !c.failoverNanos.isEmpty() && max <= target);
      x.put("failovers_ms", millis(c.failoverNanos));
      x.put("lease_gone_p50_ms", Row.round(quantile(c.leaseGoneNanos, 0.5) / 1e6, 1));
      x.put("lease_gone_ms", millis(c.leaseGoneNanos));
      x.put("after_delete_ms", millis(c.afterDeleteNanos));
      x.put("measured_s", Row.round(c.elapsedNanos / 1e9, 1));
      x.put("latency", "crash instant (the leader's connection cut, then its client closed: no resign, no revoke) to"
          + " the waiting contender's campaign returning");
      x.put("lease_gone", "crash instant to the leader key's delete event at a separate client's watch");
      x.put("sessions", t instanceof OursTarget
          ? "leader: a Session on a client of its own behind a TCP proxy; waiter: a Session on the shared client"
          : "leader: a lease kept alive by a Client of its own behind a TCP proxy; waiter: a lease on the shared client");
      Row row = Row.of(CRASH, t.name(), 2, r, x);
      row = new Row(row.workload(), row.client(), row.concurrency(), row.opsPerS(), p50 / 1e3,
          quantile(c.failoverNanos, 0.99) / 1e3, row.cpuNsPerOp(), row.extra());
      rows.add(row);
      Bench.say(String.format(Locale.ROOT, "%-17s %6d  %-13s failover p50 %.0f ms, max %.0f ms (target %d ms: %s),"
              + " each %s ms; lease gone p50 %.0f ms, then %s ms; overlaps %d, errors %d", CRASH, 2, t.name(),
          p50 / 1e6, max / 1e6, TimeUnit.NANOSECONDS.toMillis(target),
          Boolean.TRUE.equals(x.get("within_target")) ? "met" : "MISSED", x.get("failovers_ms"),
          quantile(c.leaseGoneNanos, 0.5) / 1e6, x.get("after_delete_ms"), c.overlaps, c.errors));
    }
  }

  /** One crash of a leader of client {@code t}'s kind while a contender of {@code t} waits. */
  private void crashOnce(Target<?> t, int k, long ttl, Crashes c) throws Exception {
    String name = PREFIX + "crash-" + t.name() + "-" + k;
    ByteSequence candidates = ByteSequence.of(name + "/");
    URI first = URI.create(endpoints.split(",")[0].trim());
    TcpProxy proxy = new TcpProxy(first.getHost(), first.getPort());
    try {
      Target<?> dedicated = t instanceof OursTarget ? new OursTarget(proxy.endpoint()) : new JetcdTarget(proxy.endpoint());
      Watcher deletes = null;
      Target.LockContender waiter = null;
      boolean closed = false;
      try {
        Target.LockContender leader = dedicated.electionCandidate(name, ttl, "crash-leader").get(30, TimeUnit.SECONDS);
        leader.lock().get(30, TimeUnit.SECONDS);
        waiter = t.electionCandidate(name, ttl, "waiter").get(30, TimeUnit.SECONDS);
        AtomicLong wonAt = new AtomicLong();
        CompletableFuture<Target.Held> won = waiter.lock();
        won.whenComplete((h, e) -> wonAt.set(System.nanoTime()));
        // the waiter's key queued behind the leader's
        GetOption count = GetOption.builder().prefix().countOnly().build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (admin.client().kv().get(candidates, count).get(10, TimeUnit.SECONDS).count() < 2) {
          if (System.nanoTime() - deadline > 0) {
            throw new IllegalStateException("the waiter's key did not appear in 30 s");
          }
          TimeUnit.MILLISECONDS.sleep(5);
        }
        KeyValue leaderKey = admin.client().kv().get(candidates, GetOption.firstCreate())
            .get(10, TimeUnit.SECONDS).first();
        c.grantedTtls.add(admin.client().lease().timeToLive(leaderKey.lease(), false)
            .get(10, TimeUnit.SECONDS).grantedTtl());
        AtomicLong deletedAt = new AtomicLong();
        deletes = admin.client().watch().watch(leaderKey.key(), WatchOption.DEFAULT, resp -> {
          for (WatchEvent e : resp.events()) {
            if (e.type() == WatchEvent.Type.DELETE) {
              deletedAt.compareAndSet(0, System.nanoTime());
            }
          }
        });
        deletes.created().get(10, TimeUnit.SECONDS);
        // the waiter's first reads and its watch done; then a random point of the leader's renewal cycle
        TimeUnit.MILLISECONDS.sleep(300 + random.nextInt(1000));
        if (won.isDone()) {
          c.overlaps++; // the waiter leads while the leader still does (or the campaign failed: join says which)
          won.join();
          throw new IllegalStateException("the waiter led before the crash");
        }
        long crashAt = System.nanoTime();
        proxy.close(); // the leader's connection ends; nothing its client sends reaches etcd any more
        dedicated.close(); // keep-alives stop; no revoke
        closed = true;
        Target.Held h = won.get(ttl + 30, TimeUnit.SECONDS);
        long failover = wonAt.get() - crashAt;
        c.failover.record(failover);
        c.failoverNanos.add(failover);
        // the watch's event may come after the waiter's answer (jetcd's waiter is woken inside etcd): a moment more
        long eventBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (deletedAt.get() == 0 && System.nanoTime() - eventBy < 0) {
          TimeUnit.MILLISECONDS.sleep(1);
        }
        if (deletedAt.get() != 0) {
          c.leaseGoneNanos.add(deletedAt.get() - crashAt);
          c.afterDeleteNanos.add(wonAt.get() - deletedAt.get());
        }
        h.unlock().get(10, TimeUnit.SECONDS);
      } finally {
        if (deletes != null) {
          deletes.close();
        }
        if (!closed) {
          dedicated.close();
        }
        if (waiter != null) {
          waiter.closeAsync().get(10, TimeUnit.SECONDS);
        }
      }
    } finally {
      proxy.close();
    }
  }

  /** The value of rank ceil(q n) of {@code values} (as {@link Histogram#quantile}), 0 when empty. */
  private static long quantile(List<Long> values, double q) {
    if (values.isEmpty()) {
      return 0;
    }
    List<Long> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int rank = (int) Math.max(1, Math.ceil(q * sorted.size()));
    return sorted.get(Math.min(sorted.size(), rank) - 1);
  }

  // ---------------------------------------------------------------------------------------------- helpers

  private static String millis(List<Long> nanos) {
    return nanos.stream().map(v -> String.format(Locale.ROOT, "%.0f", v / 1e6)).collect(Collectors.joining(", "));
  }

  private String sessions(BenchClient t) {
    return LockWorkload.sessions(t, o);
  }
}
