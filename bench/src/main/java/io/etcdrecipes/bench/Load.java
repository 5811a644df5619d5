package io.etcdrecipes.bench;

import java.lang.management.ManagementFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.IntFunction;

/**
 * A closed-loop load: {@code concurrency} chains, each issuing its next call when the previous one
 * completes, until the time is up. Latency is measured from just before the call to its completion.
 */
final class Load {

  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  /** The outcome of one timed run of one client. */
  static final class Run {
    final Histogram latency = new Histogram();
    final LongAdder ops = new LongAdder();
    final LongAdder errors = new LongAdder();
    volatile Throwable lastError;
    long elapsedNanos;
    long cpuNanos;
    long serverCpuNanos;

    double opsPerSecond() {
      return elapsedNanos == 0 ? 0 : ops.sum() * 1e9 / elapsedNanos;
    }

    void add(Run other) {
      latency.add(other.latency);
      ops.add(other.ops.sum());
      errors.add(other.errors.sum());
      elapsedNanos += other.elapsedNanos;
      cpuNanos += other.cpuNanos;
      serverCpuNanos += other.serverCpuNanos;
      if (other.lastError != null) {
        lastError = other.lastError;
      }
    }
  }

  /** What a call completed with, for workloads that keep per-chain state (the txn versions). */
  interface ResultHook {
    void onResult(int chain, Object result);
  }

  private Load() {}

  /** Set by {@code --threads}: print the threads that used the most CPU in each run (a cheap profile). */
  static volatile boolean threadReport;

  /** The etcd server's pid when we started it (its CPU per call is reported beside ours), else 0. */
  static volatile long serverPid;

  /** The server's CPU time (user + system) from /proc, in nanoseconds; 0 when unknown. */
  static long serverCpuNanos() {
    if (serverPid == 0) {
      return 0;
    }
    try {
      String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + serverPid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14 and 15)
      return ticks * 10_000_000L; // USER_HZ = 100 on Linux
    } catch (java.io.IOException | RuntimeException e) {
      return 0;
    }
  }

  static long processCpuNanos() {
    return OS.getProcessCpuTime();
  }

  static java.util.Map<String, Long> threadCpu() {
    java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    java.util.Map<String, Long> m = new java.util.HashMap<>();
    for (long id : mx.getAllThreadIds()) {
      java.lang.management.ThreadInfo info = mx.getThreadInfo(id);
      long cpu = mx.getThreadCpuTime(id);
      if (info != null && cpu > 0) {
        m.put(info.getThreadName() + "#" + id, cpu);
      }
    }
    return m;
  }

  static void printThreadDelta(java.util.Map<String, Long> before, long totalCpu) {
    java.util.Map<String, Long> after = threadCpu();
    java.util.Map<String, Long> grouped = new java.util.TreeMap<>();
    for (java.util.Map.Entry<String, Long> e : after.entrySet()) {
      long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
      String group = e.getKey().replaceAll("#\\d+$", "").replaceAll("-?\\d+", "N");
      grouped.merge(group, d, Long::sum);
    }
    long threads = grouped.values().stream().mapToLong(Long::longValue).sum();
    StringBuilder b = new StringBuilder(String.format(java.util.Locale.ROOT,
        "    process cpu %.0f ms, java threads %.0f ms (rest: GC/JIT/VM):", totalCpu / 1e6, threads / 1e6));
    grouped.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue())).limit(8)
        .forEach(e -> b.append(String.format(java.util.Locale.ROOT, " %s=%.0f", e.getKey(), e.getValue() / 1e6)));
    System.out.println(b);
  }

  static Run closedLoop(int concurrency, long nanos, IntFunction<CompletableFuture<?>> op) throws InterruptedException {
    return closedLoop(concurrency, nanos, op, null);
  }

  static Run closedLoop(int concurrency, long nanos, IntFunction<CompletableFuture<?>> op, ResultHook hook)
      throws InterruptedException {
    Run run = new Run();
    CountDownLatch finished = new CountDownLatch(concurrency);
    long start = System.nanoTime();
    long end = start + nanos;
    java.util.Map<String, Long> threads0 = threadReport ? threadCpu() : null;
    long cpu0 = processCpuNanos();
    long server0 = serverCpuNanos();
    for (int i = 0; i < concurrency; i++) {
      new Chain(i, end, op, hook, run, finished).issue();
    }
    if (!finished.await(nanos + TimeUnit.SECONDS.toNanos(60), TimeUnit.NANOSECONDS)) {
      throw new IllegalStateException("calls still in flight 60 s after the end of the run");
    }
    run.elapsedNanos = System.nanoTime() - start;
    run.cpuNanos = processCpuNanos() - cpu0;
    run.serverCpuNanos = serverCpuNanos() - server0;
    if (threads0 != null) {
      printThreadDelta(threads0, run.cpuNanos);
    }
    return run;
  }

  /** One chain of calls; reused for every call of the chain, so the harness allocates nothing per call. */
  private static final class Chain implements BiConsumer<Object, Throwable> {
    private final int id;
    private final long end;
    private final IntFunction<CompletableFuture<?>> op;
    private final ResultHook hook;
    private final Run run;
    private final CountDownLatch finished;
    private long t0;

    Chain(int id, long end, IntFunction<CompletableFuture<?>> op, ResultHook hook, Run run, CountDownLatch finished) {
      this.id = id;
      this.end = end;
      this.op = op;
      this.hook = hook;
      this.run = run;
      this.finished = finished;
    }

    /** Issues calls until one is pending (or the time is up); calls that complete at once loop, not recurse. */
    void issue() {
      while (true) {
        t0 = System.nanoTime();
        if (t0 - end >= 0) {
          finished.countDown();
          return;
        }
        CompletableFuture<?> f;
        try {
          f = op.apply(id);
        } catch (Throwable t) {
          f = CompletableFuture.failedFuture(t);
        }
        if (!f.isDone()) {
          f.whenComplete(this);
          return;
        }
        Object result = null;
        Throwable error = null;
        try {
          result = f.join();
        } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
          error = e.getCause() != null ? e.getCause() : e;
        }
        if (!record(result, error)) {
          return;
        }
      }
    }

    @Override
    public void accept(Object result, Throwable error) {
      if (record(result, error)) {
        issue();
      }
    }

    /** Accounts for a completed call; false when the next call was scheduled for later (after a failure). */
    private boolean record(Object result, Throwable error) {
      long t1 = System.nanoTime();
      if (error == null) {
        run.latency.record(t1 - t0);
        run.ops.increment();
        if (hook != null) {
          hook.onResult(id, result);
        }
        return true;
      }
      run.errors.increment();
      run.lastError = error;
      // never spin on a failure that completes at once; back off a little
      CompletableFuture.delayedExecutor(10, TimeUnit.MILLISECONDS).execute(this::issue);
      return false;
    }
  }
}
