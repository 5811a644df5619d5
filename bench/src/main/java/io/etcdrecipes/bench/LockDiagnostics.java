package io.etcdrecipes.bench;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.testkit.EtcdCluster;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Diagnostics behind docs/benchmarks.md's "Locks" section, not a benchmark of the library: why a lock waiter's watch
 * from the read's revision + 1 still waits ~100 ms when the revision moved in between, what a waiter that starts its
 * watch differently gets, and what idle sessions cost.
 *
 * <ol>
 *   <li>Watch start: put a key (revision R), watch it, delete it 0–20 ms later; the delete-to-event delay for a watch
 *       from R + 1 with nothing written in between ({@code quiet}), from R + 1 after one write of another key
 *       ({@code moved}: etcd puts a watch whose start is at or below its current revision in the "unsynced" group,
 *       caught up by a loop every 100 ms), and from "now" (revision 0, always synced).</li>
 *   <li>A bare Go-layout mutex ({@code prefix/<hex lease>}, the oldest create revision owns, each waiter waits for
 *       the delete of the youngest older key), 4 contenders cycling lock/unlock, waiting two ways: watch the
 *       predecessor from the read's revision + 1 (what {@code Contention} does), or watch it from "now" and, once
 *       the watch is created, read the predecessor again and wait only if it still exists (its delete then comes
 *       after the watch's start, and the watch is synced). Not a lock to use: no sessions, no failure handling.</li>
 *   <li>Idle sessions: 1,000 {@code Session}s that hold nothing, for 10 s, with the default loss check (an extra
 *       renewal whenever none succeeded for 500 ms) and with it off: this JVM's CPU, etcd's CPU (when the testkit
 *       started it) and the keep-alive requests etcd counted.</li>
 * </ol>
 *
 * <pre>
 * java -cp "bench/target/classes:$(cat bench/target/classpath.txt)" io.etcdrecipes.bench.LockDiagnostics [endpoints]
 * </pre>
 * Without endpoints it starts a 1-member etcd (fsync on) with the testkit.
 */
public final class LockDiagnostics {

  private static final ByteSequence PREFIX = ByteSequence.of("bench/probe/");

  private LockDiagnostics() {}

  public static void main(String[] args) throws Exception {
    EtcdCluster cluster = null;
    String endpoints;
    if (args.length > 0) {
      endpoints = args[0];
    } else {
      cluster = EtcdCluster.builder().members(1).proxies(false).start();
      endpoints = cluster.endpoints();
    }
    try (EtcdClient c = EtcdClient.builder().endpoints(endpoints).build()) {
      for (int pass = 0; pass < 2; pass++) { // the first pass warms up
        for (String mode : List.of("quiet", "moved", "now")) {
          List<Double> ms = watchStart(c, mode, 40);
          if (pass == 1) {
            System.out.printf(Locale.ROOT, "watch from %-17s delete->event p50 %5.1f ms  p90 %5.1f ms  max %5.1f ms%n",
                mode.equals("now") ? "now (0)" : "R+1, " + mode, ms.get(ms.size() / 2), ms.get(ms.size() * 9 / 10),
                ms.get(ms.size() - 1));
          }
        }
      }
      for (int pass = 0; pass < 2; pass++) {
        for (boolean nowAndCheck : new boolean[] {false, true}) {
          String line = contended(c, nowAndCheck, 4, pass == 0 ? 1 : 3);
          if (pass == 1) {
            System.out.println(line);
          }
        }
      }
      c.kv().delete(PREFIX, io.etcdrecipes.client.DeleteOption.prefix()).get(10, TimeUnit.SECONDS);
      if (cluster != null) {
        Load.serverPid = cluster.member(0).pid();
      }
      for (java.time.Duration lossCheck : new java.time.Duration[] {null, java.time.Duration.ZERO}) {
        System.out.println(idleSessions(c, endpoints, 1000, lossCheck, 10));
      }
    } finally {
      if (cluster != null) {
        cluster.close();
      }
    }
  }

  private static List<Double> watchStart(EtcdClient c, String mode, int n) throws Exception {
    ByteSequence k = PREFIX.concat(ByteSequence.of("k"));
    ByteSequence other = PREFIX.concat(ByteSequence.of("other"));
    Random rnd = new Random(1);
    List<Double> ms = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long r = c.kv().put(k, ByteSequence.of("v")).get(10, TimeUnit.SECONDS).header().revision();
      if (mode.equals("moved")) {
        c.kv().put(other, ByteSequence.of("x")).get(10, TimeUnit.SECONDS);
      }
      CompletableFuture<Long> event = new CompletableFuture<>();
      Watcher w = c.watch().watch(k, WatchOption.builder().revision(mode.equals("now") ? 0 : r + 1).noPut().build(),
          resp -> {
            for (WatchEvent e : resp.events()) {
              if (e.type() == WatchEvent.Type.DELETE) {
                event.complete(System.nanoTime());
              }
            }
          });
      w.created().get(10, TimeUnit.SECONDS);
      TimeUnit.MILLISECONDS.sleep(rnd.nextInt(20)); // the key goes away within 20 ms, as a busy lock's holder does
      long t0 = System.nanoTime();
      c.kv().delete(k).get(10, TimeUnit.SECONDS);
      ms.add((event.get(10, TimeUnit.SECONDS) - t0) / 1e6);
      w.close();
    }
    Collections.sort(ms);
    return ms;
  }

  private static String idleSessions(EtcdClient c, String endpoints, int n, java.time.Duration lossCheck, int seconds)
      throws Exception {
    List<io.etcdrecipes.recipes.Session> sessions = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      io.etcdrecipes.recipes.Session.Builder b = io.etcdrecipes.recipes.Session.builder(c);
      if (lossCheck != null) {
        b.lossCheckInterval(lossCheck);
      }
      sessions.add(b.build(java.time.Duration.ofSeconds(10)));
    }
    TimeUnit.SECONDS.sleep(2); // past the first renewals
    double kas0 = keepAlivesReceived(endpoints);
    long cpu0 = Load.processCpuNanos();
    long server0 = Load.serverCpuNanos();
    TimeUnit.SECONDS.sleep(seconds);
    double cpu = (Load.processCpuNanos() - cpu0) / 1e9 / seconds;
    double server = (Load.serverCpuNanos() - server0) / 1e9 / seconds;
    double kas = (keepAlivesReceived(endpoints) - kas0) / seconds;
    CompletableFuture.allOf(sessions.stream().map(io.etcdrecipes.recipes.Session::closeAsync)
        .toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    return String.format(Locale.ROOT, "%d idle sessions, loss check %-13s client CPU %.2f cores, etcd CPU %s,"
            + " keep-alive requests to etcd %.0f/s", n, lossCheck == null ? "default:" : lossCheck + ":", cpu,
        Load.serverPid == 0 ? "n/a" : String.format(Locale.ROOT, "%.2f cores", server), kas);
  }

  /** etcd's count of LeaseKeepAlive stream messages received, from its /metrics (NaN when unreadable). */
  private static double keepAlivesReceived(String endpoints) {
    try {
      java.net.URL url = new java.net.URL(endpoints.split(",")[0] + "/metrics");
      try (java.io.InputStream in = url.openStream()) {
        String text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        double sum = 0;
        for (String line : text.split("\n")) {
          if (line.startsWith("grpc_server_msg_received_total") && line.contains("grpc_method=\"LeaseKeepAlive\"")) {
            sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
          }
        }
        return sum;
      }
    } catch (java.io.IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  /** One contender of the bare mutex. */
  private static final class Bare {
    final EtcdClient c;
    final long lease;
    final ByteSequence key;
    final boolean nowAndCheck;
    volatile long myRev;

    Bare(EtcdClient c, long lease, boolean nowAndCheck) {
      this.c = c;
      this.lease = lease;
      this.key = PREFIX.concat(ByteSequence.of("m/" + Long.toHexString(lease)));
      this.nowAndCheck = nowAndCheck;
    }

    CompletableFuture<Void> lock() {
      CompletableFuture<Void> held = new CompletableFuture<>();
      c.kv().txn().when(Compare.createRevision(key).equal(0))
          .then(Op.put(key, ByteSequence.EMPTY, PutOption.lease(lease))).orElse(Op.get(key)).commit()
          .whenComplete((r, t) -> {
            if (t != null) {
              held.completeExceptionally(t);
              return;
            }
            myRev = r.succeeded() ? r.header().revision() : r.getResponse(0).first().createRevision();
            round(held);
          });
      return held;
    }

    private void round(CompletableFuture<Void> held) {
      GetOption older = GetOption.lastCreate().toBuilder().keysOnly().maxCreateRevision(myRev - 1).build();
      c.kv().get(PREFIX.concat(ByteSequence.of("m/")), older).whenComplete((r, t) -> {
        if (t != null) {
          held.completeExceptionally(t);
          return;
        }
        KeyValue ahead = r.first();
        if (ahead == null) {
          held.complete(null);
          return;
        }
        AtomicBoolean fired = new AtomicBoolean();
        Watcher[] w = new Watcher[1];
        Runnable again = () -> {
          if (fired.compareAndSet(false, true)) {
            synchronized (w) {
              if (w[0] != null) {
                w[0].close();
              }
            }
            round(held);
          }
        };
        long from = nowAndCheck ? 0 : r.header().revision() + 1;
        Watcher watcher = c.watch().watch(ahead.key(), WatchOption.builder().revision(from).noPut().build(), resp -> {
          for (WatchEvent e : resp.events()) {
            if (e.type() == WatchEvent.Type.DELETE) {
              again.run();
              return;
            }
          }
        });
        synchronized (w) {
          w[0] = watcher;
        }
        if (fired.get()) {
          watcher.close();
        }
        if (nowAndCheck) {
          watcher.created().thenCompose(v -> c.kv().get(ahead.key(), GetOption.builder().keysOnly().build()))
              .whenComplete((g, e) -> {
                if (e != null) {
                  held.completeExceptionally(e);
                } else if (g.isEmpty() || g.first().createRevision() != ahead.createRevision()) {
                  again.run(); // gone before the watch started: read again
                }
              });
        }
      });
    }

    CompletableFuture<?> unlock() {
      return c.kv().txn().when(Compare.createRevision(key).equal(myRev)).then(Op.delete(key)).commit();
    }
  }

  private static String contended(EtcdClient c, boolean nowAndCheck, int n, double seconds) throws Exception {
    List<Bare> ms = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ms.add(new Bare(c, c.lease().grant(60).get(10, TimeUnit.SECONDS).id(), nowAndCheck));
    }
    Histogram handoffs = new Histogram();
    AtomicLong cycles = new AtomicLong();
    AtomicLong releasedAt = new AtomicLong();
    AtomicInteger last = new AtomicInteger(-1);
    AtomicInteger holding = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    long end = System.nanoTime() + (long) (seconds * 1e9);
    CountDownLatch done = new CountDownLatch(n);
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      int id = i;
      Bare m = ms.get(i);
      Runnable[] loop = new Runnable[1];
      loop[0] = () -> {
        if (System.nanoTime() - end > 0) {
          done.countDown();
          return;
        }
        m.lock().thenCompose(v -> {
          long now = System.nanoTime();
          if (holding.incrementAndGet() > 1) {
            overlaps.incrementAndGet();
          }
          int previous = last.getAndSet(id);
          if (previous >= 0 && previous != id) {
            handoffs.record(now - releasedAt.get());
          }
          holding.decrementAndGet();
          releasedAt.set(System.nanoTime());
          cycles.incrementAndGet();
          return m.unlock();
        }).whenComplete((v, t) -> {
          if (t != null) {
            System.out.println("  " + t);
          }
          loop[0].run();
        });
      };
      loop[0].run();
    }
    done.await((long) seconds + 60, TimeUnit.SECONDS);
    double elapsed = (System.nanoTime() - t0) / 1e9;
    for (Bare m : ms) {
      c.lease().revoke(m.lease).get(10, TimeUnit.SECONDS);
    }
    return String.format(Locale.ROOT, "bare mutex, %d contenders, watch %-22s %4.0f cycles/s, handoff p50 %4.1f ms,"
            + " p99 %5.1f ms, %.3f of handoffs >= 50 ms, overlaps %d", n,
        nowAndCheck ? "from now + re-check:" : "from R+1:", cycles.get() / elapsed, handoffs.quantile(0.5) / 1e6,
        handoffs.quantile(0.99) / 1e6, handoffs.fractionAtLeast(LockWorkload.SLOW), overlaps.get());
  }
}
