package io.etcdrecipes.bench;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.recipes.Stm;
import io.etcdrecipes.recipes.StmResult;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * STM money transfers (ours only: jetcd has no STM): {@code stmWorkers} threads each move a random amount
 * between two random accounts of {@code stmAccounts}, at the default isolation (serializable snapshot),
 * as fast as they can. Reports commits/s, latency per transfer (all attempts), CPU per commit, conflicts
 * per commit, and checks that the total is unchanged.
 */
final class StmWorkload {

  private static final long START_BALANCE = 1_000;

  private StmWorkload() {}

  static List<Row> run(String endpoints, Bench.Options o) throws Exception {
    String prefix = "bench/stm/";
    try (EtcdClient client = EtcdClient.builder().endpoints(endpoints).build()) {
      List<ByteSequence> accounts = new ArrayList<>();
      for (int i = 0; i < o.stmAccounts; i++) {
        ByteSequence k = ByteSequence.of(prefix + "acct-" + i);
        accounts.add(k);
        client.kv().put(k, ByteSequence.of(Long.toString(START_BALANCE))).get(10, TimeUnit.SECONDS);
      }
      Stm stm = Stm.builder(client.kv()).build();
      transfers(stm, accounts, o.stmWorkers, (long) (o.roundSeconds * 0.5e9), new Load.Run(), new LongAdder());
      Load.Run run = new Load.Run();
      LongAdder conflicts = new LongAdder();
      System.gc();
      long cpu0 = Load.processCpuNanos();
      long t0 = System.nanoTime();
      transfers(stm, accounts, o.stmWorkers, o.roundNanos() * o.roundsPerClient * 2, run, conflicts);
      run.elapsedNanos = System.nanoTime() - t0;
      run.cpuNanos = Load.processCpuNanos() - cpu0;
      long total = 0;
      for (KeyValue kv : client.kv().get(ByteSequence.of(prefix), GetOption.prefix()).get(10, TimeUnit.SECONDS).kvs()) {
        total += Long.parseLong(kv.value().toStringUtf8());
      }
      long expected = START_BALANCE * o.stmAccounts;
      client.kv().delete(ByteSequence.of(prefix), DeleteOption.prefix()).get(10, TimeUnit.SECONDS);
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("accounts", o.stmAccounts);
      x.put("conflicts", conflicts.sum());
      x.put("conflicts_per_commit", Row.round(conflicts.sum() / (double) Math.max(1, run.ops.sum()), 3));
      x.put("total_unchanged", total == expected);
      x.put("isolation", stm.isolation().name());
      Row row = Row.of("stm", OursTarget.NAME, o.stmWorkers, run, x);
      Bench.say(Report.line(row) + "  conflicts/commit " + x.get("conflicts_per_commit") + ", total "
          + total + (total == expected ? " (unchanged)" : " (EXPECTED " + expected + ")"));
      return List.of(row);
    }
  }

  private static void transfers(Stm stm, List<ByteSequence> accounts, int workers, long nanos, Load.Run run,
                                LongAdder conflicts) throws InterruptedException {
    long end = System.nanoTime() + nanos;
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      Thread t = new Thread(() -> {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        while (System.nanoTime() - end < 0) {
          int a = rnd.nextInt(accounts.size());
          int b = (a + 1 + rnd.nextInt(accounts.size() - 1)) % accounts.size();
          long amount = 1 + rnd.nextInt(10);
          long t0 = System.nanoTime();
          try {
            StmResult<Void> r = stm.run(tx -> {
              long from = Long.parseLong(tx.get(accounts.get(a)).toStringUtf8());
              long to = Long.parseLong(tx.get(accounts.get(b)).toStringUtf8());
              if (from >= amount) {
                tx.put(accounts.get(a), ByteSequence.of(Long.toString(from - amount)));
                tx.put(accounts.get(b), ByteSequence.of(Long.toString(to + amount)));
              }
              return null;
            }, Duration.ofSeconds(10));
            run.latency.record(System.nanoTime() - t0);
            run.ops.increment();
            conflicts.add(r.attempts() - 1);
          } catch (Exception e) {
            run.errors.increment();
            run.lastError = e;
          }
        }
      }, "stm-worker-" + w);
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join(TimeUnit.NANOSECONDS.toMillis(nanos) + 60_000);
    }
  }
}
