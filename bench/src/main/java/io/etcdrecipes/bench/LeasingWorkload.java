package io.etcdrecipes.bench;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.recipes.leasing.LeasingKV;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the leasing KV saves (ours only: jetcd has no leasing): reads of 64 cached keys through a plain
 * linearizable get, a leasing KV with {@code CONFIRMED} reads (the default: a shared keys-only confirmation per
 * hit) and one with {@code LOCAL} reads (no RPC per hit), for small and large values. Rows are named
 * {@code lkv-<mode>-<value size>}; the modes of one cell run back to back, in turn, after a warm-up.
 */
final class LeasingWorkload {

  static final String NAME = "leasing";
  private static final int KEYS = 64;
  private static final int[] VALUE_BYTES = {256, 16 * 1024};
  private static final String[] MODES = {"plain", "confirmed", "local"};

  private LeasingWorkload() {}

  static List<Row> run(String endpoints, Bench.Options o) throws Exception {
    List<Row> rows = new ArrayList<>();
    String prefix = "bench/lkv/";
    try (EtcdClient client = EtcdClient.builder().endpoints(endpoints).build();
         LeasingKV confirmed = LeasingKV.builder(client, "bench/_lkv-c/").build();
         LeasingKV local = LeasingKV.builder(client, "bench/_lkv-l/").cachedReads(LeasingKV.CachedReads.LOCAL)
             .build()) {
      for (int size : VALUE_BYTES) {
        byte[] value = new byte[size];
        new Random(size).nextBytes(value);
        // separate keys per leasing KV: each caches its own (one holder per key)
        Map<String, List<ByteSequence>> keys = new LinkedHashMap<>();
        Map<String, KV> kvs = new LinkedHashMap<>();
        kvs.put("plain", client.kv());
        kvs.put("confirmed", confirmed);
        kvs.put("local", local);
        for (String mode : MODES) {
          List<ByteSequence> ks = new ArrayList<>();
          for (int i = 0; i < KEYS; i++) {
            ByteSequence k = ByteSequence.of(prefix + mode + "/" + size + "/" + i);
            client.kv().put(k, ByteSequence.of(value)).get(10, TimeUnit.SECONDS);
            kvs.get(mode).get(k).get(10, TimeUnit.SECONDS); // acquires it (leasing modes)
            ks.add(k);
          }
          keys.put(mode, ks);
        }
        for (String mode : MODES) { // warm-up, not measured
          read(kvs.get(mode), keys.get(mode), 16, (long) (o.roundSeconds * 0.25e9));
        }
        for (int c : o.concurrencies) {
          if (c > 16 && o.quick) {
            continue;
          }
          Map<String, Load.Run> total = new LinkedHashMap<>();
          Map<String, long[]> counters = new LinkedHashMap<>();
          for (int r = 0; r < o.roundsPerClient; r++) {
            for (String mode : MODES) {
              long[] before = counters(kvs.get(mode));
              Load.Run run = read(kvs.get(mode), keys.get(mode), c, o.roundNanos() / 2);
              long[] after = counters(kvs.get(mode));
              long[] acc = counters.computeIfAbsent(mode, m -> new long[3]);
              for (int i = 0; i < 3; i++) {
                acc[i] += after[i] - before[i];
              }
              total.computeIfAbsent(mode, m -> new Load.Run()).add(run);
            }
          }
          for (String mode : MODES) {
            long[] n = counters.get(mode);
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("mode", mode);
            x.put("value_bytes", size);
            if (!mode.equals("plain")) {
              x.put("hit_ratio", Row.round(n[0] / (double) Math.max(1, n[0] + n[1]), 4));
              x.put("rpcs_per_hit", Row.round(n[2] / (double) Math.max(1, n[0]), 4));
            }
            Row row = Row.of("lkv-" + mode + "-" + (size >= 1024 ? size / 1024 + "K" : size + "B"),
                OursTarget.NAME, c, total.get(mode), x);
            rows.add(row);
            Bench.say(Report.line(row) + (mode.equals("plain") ? ""
                : "   hit ratio " + x.get("hit_ratio") + ", confirmation rounds/hit " + x.get("rpcs_per_hit")));
          }
        }
      }
    } finally {
      try (EtcdClient c = EtcdClient.builder().endpoints(endpoints).build()) {
        c.kv().delete(ByteSequence.of(prefix), DeleteOption.prefix()).get(10, TimeUnit.SECONDS);
      }
    }
    return rows;
  }

  /** hits, misses, confirmations of a leasing KV; zeros for the plain KV. */
  private static long[] counters(KV kv) {
    if (kv instanceof LeasingKV l) {
      return new long[] {l.hits(), l.misses(), l.confirmations()};
    }
    return new long[3];
  }

  private static Load.Run read(KV kv, List<ByteSequence> keys, int concurrency, long nanos) throws Exception {
    AtomicInteger next = new AtomicInteger();
    System.gc();
    return Load.closedLoop(concurrency, nanos,
        i -> (CompletableFuture<?>) kv.get(keys.get((next.getAndIncrement() & 0x7fffffff) % keys.size())));
  }
}
