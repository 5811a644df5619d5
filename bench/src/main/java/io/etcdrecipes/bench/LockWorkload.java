package io.etcdrecipes.bench;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.GetOption;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Locks, ours ({@code Mutex} on a {@code Session} per contender) side by side with jetcd's server-side Lock RPC (a
 * lease per contender, kept alive; {@code lock(name, lease)}, then {@code unlock(key)}). Every contender has a lease
 * of its own, so contenders queue in etcd (callers on one session would queue in the JVM); all of a client's
 * contenders share that client's one connection.
 *
 * <ul>
 *   <li>{@code lock}: one contender, lock then unlock as fast as it can (uncontended cycles).</li>
 *   <li>{@code lock-contended}: {@link Bench.Options#lockContenders} contenders on one name, each cycling lock then
 *       unlock; cycles per second in total, latency from the lock call to holding.</li>
 *   <li>{@code lock-handoff}: N contenders on one name, each releasing as soon as it holds and queueing again at the
 *       end (so the queue stays at N keys: the holder and N - 1 waiters); latency from the holder's release (just
 *       before its unlock call) to the next holder's lock call returning, over {@link Bench.Options#handoffs}
 *       handoffs once all N are queued and 8 ms per waiter more have passed (the waiters' first reads done).</li>
 *   <li>{@code semaphore} (ours only: jetcd has no semaphore): {@link Bench.Options#semaphoreClaimants} claimants on a
 *       semaphore of {@link Bench.Options#semaphorePermits} permits, each cycling acquire then release.</li>
 * </ul>
 * Every workload also checks exclusion in this JVM: a holder that finds another holding (more than the permits)
 * is counted as an overlap, which must stay 0. etcd's Go client ({@link GoTarget}) runs {@code lock} and
 * {@code lock-contended} in its own process the same way: a {@code concurrency.Session} and a
 * {@code concurrency.Mutex} per contender, on one shared client.
 */
final class LockWorkload {

  static final String LOCK = "lock";
  static final String CONTENDED = "lock-contended";
  static final String HANDOFF = "lock-handoff";
  static final String SEMAPHORE = "semaphore";
  static final List<String> NAMES = List.of(LOCK, CONTENDED, HANDOFF, SEMAPHORE);
  static final String PREFIX = "bench/lock/";
  /** A handoff this long or longer waited for etcd's 100 ms catch-up of unsynced watchers (or worse). */
  static final long SLOW = TimeUnit.MILLISECONDS.toNanos(50);

  private final Bench.Options o;
  private final List<BenchClient> clients;
  /** The Java clients: lock-handoff and semaphore run on these only. */
  private final List<Target<?>> targets;
  private final OursTarget admin;
  /** The clients in the order of the next cell (rotating from cell to cell). */
  private final Supplier<List<BenchClient>> nextCell;
  private final List<Row> rows = new ArrayList<>();

  LockWorkload(Bench.Options o, List<BenchClient> clients, OursTarget admin, Supplier<List<BenchClient>> nextCell) {
    this.o = o;
    this.clients = clients;
    this.targets = Bench.javaOnly(clients);
    this.admin = admin;
    this.nextCell = nextCell;
  }

  static boolean any(java.util.Set<String> workloads) {
    return NAMES.stream().anyMatch(workloads::contains);
  }

  List<Row> run() throws Exception {
    try {
      if (o.workloads.contains(LOCK) || o.workloads.contains(CONTENDED) || o.workloads.contains(HANDOFF)) {
        warmUp();
      }
      if (o.workloads.contains(LOCK)) {
        cyclesCell(LOCK, 1);
      }
      if (o.workloads.contains(CONTENDED)) {
        cyclesCell(CONTENDED, o.lockContenders);
      }
      if (o.workloads.contains(HANDOFF)) {
        for (int n : o.handoffWaiters) {
          handoffCell(n);
        }
      }
      if (o.workloads.contains(SEMAPHORE)) {
        OursTarget ours = (OursTarget) targets.stream().filter(t -> t instanceof OursTarget).findFirst().orElse(null);
        if (ours != null) {
          semaphore(ours);
        }
      }
      return rows;
    } finally {
      admin.client().kv().delete(ByteSequence.of(PREFIX), DeleteOption.prefix()).get(30, TimeUnit.SECONDS);
    }
  }

  // ----------------------------------------------------------------------------------------- lock cycles

  private void warmUp() throws Exception {
    long nanos = (long) (o.warmSeconds * 1e9 / 4);
    Bench.say(String.format(Locale.ROOT, "lock warm-up: uncontended and contended cycles for %.1f s per client",
        2 * nanos / 1e9));
    for (BenchClient t : clients) {
      cycles(t, false, PREFIX + "warm-" + t.name(), 1, o.lockTtlSeconds, nanos);
      cycles(t, false, PREFIX + "warm-" + t.name(), o.lockContenders, o.lockTtlSeconds, nanos);
    }
  }

  /** {@code n} contenders of each client cycling lock then unlock on one name; ABBA rounds as the KV cells. */
  private void cyclesCell(String workload, int n) throws Exception {
    Map<String, Cycles> total = new LinkedHashMap<>();
    for (BenchClient t : Bench.rounds(nextCell.get(), o.roundsPerClient)) {
      Cycles c = cycles(t, false, PREFIX + workload + "-" + t.name(), n, o.lockTtlSeconds, o.roundNanos());
      if (c != null) {
        total.computeIfAbsent(t.name(), k -> new Cycles()).add(c);
      }
    }
    for (BenchClient t : clients) {
      Cycles c = total.get(t.name());
      if (c == null) {
        continue; // a Go cell that failed (said when it did)
      }
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("contenders", n);
      x.put("overlaps", c.overlaps.sum());
      x.put("cycle_p50_us", Row.round(c.run.latency.quantile(0.5) / 1e3, 1));
      x.put("unlock_p50_us", Row.round(c.unlock.quantile(0.5) / 1e3, 1));
      if (n > 1) {
        x.put("handoffs", c.handoff.count());
        x.put("handoff_p50_us", Row.round(c.handoff.quantile(0.5) / 1e3, 1));
        x.put("handoff_p99_us", Row.round(c.handoff.quantile(0.99) / 1e3, 1));
        x.put("handoffs_50ms_or_more", Row.round(c.handoff.fractionAtLeast(SLOW), 3));
      }
      x.put("latency", "lock call to held (acquire); ops: lock+unlock cycles");
      x.put("sessions", sessions(t));
      Row row = Row.of(workload, t.name(), n, c.acquireRun(), x);
      rows.add(row);
      Bench.say(Report.line(row) + "   overlaps " + c.overlaps.sum() + (n > 1 ? ", handoff p50/p99 "
          + x.get("handoff_p50_us") + "/" + x.get("handoff_p99_us") + " us, " + x.get("handoffs_50ms_or_more")
          + " of handoffs >= 50 ms" : ""));
      if (c.run.lastError != null) {
        Bench.say("  last error of " + t.name() + ": " + c.run.lastError);
      }
    }
  }

  /** The sums of cycle runs: the closed loop's run (cycle latency) and the acquire and unlock latencies. */
  static final class Cycles {
    final Load.Run run = new Load.Run();
    final Histogram acquire = new Histogram();
    final Histogram unlock = new Histogram();
    /** A mutex's handoffs: a holder's release (before its unlock call) to the next holder's lock returning. */
    final Histogram handoff = new Histogram();
    final LongAdder overlaps = new LongAdder();
    final AtomicInteger maxHolders = new AtomicInteger();

    void add(Cycles c) {
      run.add(c.run);
      acquire.add(c.acquire);
      unlock.add(c.unlock);
      handoff.add(c.handoff);
      overlaps.add(c.overlaps.sum());
      maxHolders.accumulateAndGet(c.maxHolders.get(), Math::max);
    }

    /** The run with the acquire latency in place of the cycle's. */
    Load.Run acquireRun() {
      Load.Run r = new Load.Run();
      r.latency.add(acquire);
      r.ops.add(run.ops.sum());
      r.errors.add(run.errors.sum());
      r.elapsedNanos = run.elapsedNanos;
      r.cpuNanos = run.cpuNanos;
      r.serverCpuNanos = run.serverCpuNanos;
      r.lastError = run.lastError;
      return r;
    }
  }

  /**
   * Each contender a chain of lock then unlock cycles for {@code nanos} (closed loop); at most {@code holders} may
   * hold at once (more is an overlap).
   */
  static Cycles cycles(List<Target.LockContender> cs, long nanos, int holders) throws InterruptedException {
    Cycles c = new Cycles();
    AtomicInteger holding = new AtomicInteger();
    AtomicInteger lastHolder = new AtomicInteger(-1);
    AtomicLong releasedAt = new AtomicLong();
    System.gc();
    Load.Run run = Load.closedLoop(cs.size(), nanos, i -> {
      long t0 = System.nanoTime();
      return cs.get(i).lock().thenCompose(h -> {
        long t1 = System.nanoTime();
        c.acquire.record(t1 - t0);
        int now = holding.incrementAndGet();
        c.maxHolders.accumulateAndGet(now, Math::max);
        if (now > holders) {
          c.overlaps.increment();
        }
        int previous = lastHolder.getAndSet(i);
        if (holders == 1 && previous >= 0 && previous != i) {
          c.handoff.record(t1 - releasedAt.get()); // from another contender: a handoff
        }
        holding.decrementAndGet(); // before the unlock is sent: the next holder can only hold after it is applied
        releasedAt.set(System.nanoTime());
        return h.unlock().thenRun(() -> c.unlock.record(System.nanoTime() - t1));
      });
    });
    c.run.add(run);
    return c;
  }

  // ------------------------------------------------------------------------------------------------ handoff

  private void handoffCell(int n) throws Exception {
    for (Target<?> t : Bench.javaOnly(nextCell.get())) {
      String name = PREFIX + "handoff-" + n + "-" + t.name();
      Bench.say(String.format(Locale.ROOT, "lock-handoff %s: %d contenders on %s", t.name(), n, name));
      List<Target.LockContender> cs = contenders(i -> t.lockContender(name, o.lockTtlSeconds), n);
      Handoff h = new Handoff(cs, name);
      Row row;
      try {
        row = h.run(t.name(), n);
      } finally {
        h.stop();
      }
      rows.add(row);
      Bench.say(Report.line(row) + "   overlaps " + row.extra().get("overlaps") + ", queue formed in "
          + row.extra().get("queue_formed_s") + " s, p50 1st/2nd half " + row.extra().get("p50_first_half_us") + "/"
          + row.extra().get("p50_second_half_us") + " us");
      if (h.lastError != null) {
        Bench.say("  last error of " + t.name() + ": " + h.lastError);
      }
    }
  }

  /** N contenders cycling on one name; handoffs measured once the queue is full. */
  private final class Handoff {
    private final List<Target.LockContender> cs;
    private final String name;
    private final Histogram latency = new Histogram();
    private final Histogram firstHalf = new Histogram();
    private final Histogram secondHalf = new Histogram();
    private final AtomicInteger holding = new AtomicInteger();
    private final LongAdder overlaps = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final AtomicLong measured = new AtomicLong();
    private final CountDownLatch enough = new CountDownLatch(1);
    private final CountDownLatch done;
    private volatile long releasedAt; // System.nanoTime() just before the last unlock call; 0 before the first
    private volatile boolean releasedOnce;
    private volatile boolean measuring;
    private volatile long lastMeasuredAt;
    private volatile boolean stopping;
    private volatile Throwable lastError;

    Handoff(List<Target.LockContender> cs, String name) {
      this.cs = cs;
      this.name = name;
      this.done = new CountDownLatch(cs.size());
    }

    Row run(String client, int n) throws Exception {
      System.gc();
      long t0 = System.nanoTime();
      for (Target.LockContender c : cs) {
        next(c);
      }
      // measure once every contender is queued (the holder's re-queue may be in flight: N - 1 keys will do)
      GetOption count = GetOption.builder().prefix().countOnly().build();
      ByteSequence range = ByteSequence.of(name + "/");
      long formedBy = t0 + TimeUnit.SECONDS.toNanos(120);
      while (admin.client().kv().get(range, count).get(10, TimeUnit.SECONDS).count() < Math.max(1, n - 1)) {
        if (System.nanoTime() - formedBy > 0) {
          throw new IllegalStateException("the queue of " + n + " did not form in 120 s");
        }
        TimeUnit.MILLISECONDS.sleep(20);
      }
      double formed = (System.nanoTime() - t0) / 1e9;
      // Then let it settle: every waiter's first reads (O(N) each on etcd 3.4) are still being served when the last
      // key appears; handoffs go on meanwhile, unmeasured. 8 ms per waiter, measured enough at 1,000.
      long settle = Math.max(TimeUnit.MILLISECONDS.toNanos(100), TimeUnit.MILLISECONDS.toNanos(8) * n);
      TimeUnit.NANOSECONDS.sleep(settle);
      long cpu0 = Load.processCpuNanos();
      long server0 = Load.serverCpuNanos();
      long start = System.nanoTime();
      measuring = true;
      boolean complete = enough.await((long) (o.handoffMaxSeconds * 1e9), TimeUnit.NANOSECONDS);
      measuring = false;
      Load.Run r = new Load.Run();
      r.elapsedNanos = (complete ? lastMeasuredAt : System.nanoTime()) - start;
      r.cpuNanos = Load.processCpuNanos() - cpu0;
      r.serverCpuNanos = Load.serverCpuNanos() - server0;
      r.latency.add(latency);
      r.ops.add(latency.count());
      r.errors.add(errors.sum());
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("waiters", n);
      x.put("sessions", sessions(client.equals(OursTarget.NAME) ? admin : null));
      x.put("handoffs", latency.count());
      x.put("all_handoffs_measured", complete);
      x.put("overlaps", overlaps.sum());
      x.put("queue_formed_s", Row.round(formed, 2));
      x.put("settled_s", Row.round(settle / 1e9, 2));
      x.put("p90_us", Row.round(latency.quantile(0.9) / 1e3, 1));
      x.put("handoffs_50ms_or_more", Row.round(latency.fractionAtLeast(SLOW), 3));
      x.put("p50_first_half_us", Row.round(firstHalf.quantile(0.5) / 1e3, 1));
      x.put("p50_second_half_us", Row.round(secondHalf.quantile(0.5) / 1e3, 1));
      x.put("latency", "holder's release (just before its unlock call) to the next holder's lock returning");
      x.put("ops_are", "handoffs (per second: with N queued)");
      return Row.of(HANDOFF, client, n, r, x);
    }

    /**
     * Lets the queue drain (each holder releases and does not queue again, so every waiter holds once more and
     * leaves), then ends every lease. Not by revoking the leases under the waiters: etcd 3.4's server-side Lock
     * deadlocks when many of its waiters end at once (etcd#13336), and later Lock calls then never return.
     */
    void stop() throws Exception {
      stopping = true;
      try {
        if (!done.await(120, TimeUnit.SECONDS)) {
          Bench.say("  " + done.getCount() + " lock chains still queued 120 s after the end; ending their leases");
        }
      } finally {
        close(cs);
      }
      if (!done.await(60, TimeUnit.SECONDS)) {
        Bench.say("  " + done.getCount() + " lock chains still running 60 s after their leases ended");
      }
    }

    private void next(Target.LockContender c) {
      if (stopping) {
        done.countDown();
        return;
      }
      CompletableFuture<Target.Held> f;
      try {
        f = c.lock();
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      f.whenComplete((h, e) -> held(c, h, e));
    }

    private void held(Target.LockContender c, Target.Held h, Throwable e) {
      long now = System.nanoTime();
      if (e != null) {
        if (stopping) {
          done.countDown();
        } else {
          errors.increment();
          lastError = e;
          CompletableFuture.delayedExecutor(10, TimeUnit.MILLISECONDS).execute(() -> next(c));
        }
        return;
      }
      if (holding.incrementAndGet() > 1) {
        overlaps.increment();
      }
      if (measuring && releasedOnce) {
        long k = measured.incrementAndGet();
        if (k <= o.handoffs) {
          latency.record(now - releasedAt);
          (k <= o.handoffs / 2 ? firstHalf : secondHalf).record(now - releasedAt);
          if (k == o.handoffs) {
            lastMeasuredAt = now;
            enough.countDown();
          }
        }
      }
      holding.decrementAndGet();
      releasedAt = System.nanoTime();
      releasedOnce = true;
      CompletableFuture<?> u;
      try {
        u = h.unlock();
      } catch (RuntimeException x) {
        u = CompletableFuture.failedFuture(x);
      }
      u.whenComplete((v, t) -> {
        if (t != null) {
          errors.increment();
          lastError = t;
        }
        next(c);
      });
    }
  }

  // ---------------------------------------------------------------------------------------------- semaphore

  private void semaphore(OursTarget ours) throws Exception {
    nextCell.get();
    String name = PREFIX + "semaphore";
    int permits = o.semaphorePermits;
    List<Target.LockContender> cs = contenders(
        i -> ours.semaphoreContender(name, permits, o.lockTtlSeconds), o.semaphoreClaimants);
    Cycles c;
    try {
      cycles(cs, o.roundNanos() / 2, permits); // warm-up, not measured
      c = cycles(cs, o.roundNanos() * o.roundsPerClient, permits);
    } finally {
      close(cs);
    }
    Map<String, Object> x = new LinkedHashMap<>();
    x.put("permits", permits);
    x.put("claimants", o.semaphoreClaimants);
    x.put("max_holders", c.maxHolders.get());
    x.put("overlaps", c.overlaps.sum());
    x.put("cycle_p50_us", Row.round(c.run.latency.quantile(0.5) / 1e3, 1));
    x.put("latency", "acquire call to permit held; ops: acquire+release cycles");
    x.put("jetcd", "no semaphore in jetcd: ours only");
    x.put("sessions", sessions(ours));
    Row row = Row.of(SEMAPHORE, OursTarget.NAME, o.semaphoreClaimants, c.acquireRun(), x);
    rows.add(row);
    Bench.say(Report.line(row) + "   permits " + permits + ", max holders " + c.maxHolders.get() + ", overlaps "
        + c.overlaps.sum());
    if (c.run.lastError != null) {
      Bench.say("  last error: " + c.run.lastError);
    }
  }

  // ---------------------------------------------------------------------------------------------- helpers

  private String sessions(BenchClient t) {
    return sessions(t, o);
  }

  /** How client {@code t}'s contenders hold their leases, for the rows' {@code sessions} field. */
  static String sessions(BenchClient t, Bench.Options o) {
    if (t instanceof OursTarget) {
      return "a Session per contender, one client, loss check "
          + (o.sessionLossCheckMillis < 0 ? "default (500 ms)" : o.sessionLossCheckMillis + " ms");
    }
    if (t instanceof GoTarget) {
      return "a concurrency.Session per contender, one client";
    }
    return "a lease per contender (kept alive), one client";
  }

  /**
   * {@code n} contenders of client {@code c} (a lease of {@code ttl} seconds each) cycling on {@code name} for
   * {@code nanos}, at most one holding at a time: lock then unlock, or with {@code election} campaign then resign.
   * Null when the Go program failed the cell.
   */
  static Cycles cycles(BenchClient c, boolean election, String name, int n, long ttl, long nanos) throws Exception {
    if (c instanceof GoTarget go) {
      return GoTarget.orSkip(name, () -> go.cycles(election, name, n, ttl, nanos));
    }
    Target<?> t = (Target<?>) c;
    List<Target.LockContender> cs = contenders(
        i -> election ? t.electionCandidate(name, ttl, "candidate-" + i) : t.lockContender(name, ttl), n);
    try {
      return cycles(cs, nanos, 1);
    } finally {
      close(cs);
    }
  }

  static List<Target.LockContender> contenders(
      java.util.function.IntFunction<CompletableFuture<Target.LockContender>> make, int n) throws Exception {
    Target.LockContender[] cs = new Target.LockContender[n];
    Bench.inParallel(64, n, i -> make.apply(i).thenAccept(c -> cs[i] = c));
    return List.of(cs);
  }

  static void close(List<Target.LockContender> cs) {
    try {
      Bench.inParallel(64, cs.size(), i -> cs.get(i).closeAsync());
    } catch (Exception e) {
      Bench.say("  closing " + cs.size() + " contenders: " + e);
    }
  }
}
