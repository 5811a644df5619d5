package io.etcdrecipes.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The harness end to end on a few hundred calls per workload: every workload yields a row for each client,
 * the JSON lines and the chart are written. Not a benchmark: no figure is asserted (fsync is off here). etcd's Go
 * client takes part when its program has been built (scripts/ensure-go.sh, which bench/run.sh runs); else the run
 * goes on without it.
 */
class BenchSmokeTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd =
      EtcdClusterExtension.builder().members(1).fastElections().unsafeNoFsync(true).proxies(false).build();

  @Test
  void everyWorkloadForBothClients(@TempDir Path out) throws Exception {
    Bench.Options o = Bench.Options.quick();
    o.endpoints = etcd.endpoints();
    o.out = out;
    o.roundSeconds = 0.25;
    o.warmSeconds = 0.3;
    o.concurrencies = new int[] {1, 16};
    o.leases = 200;
    o.leaseTtlSeconds = 1; // granted as 1 s with fast elections: held for 3 s
    o.handoffWaiters = new int[] {3};
    o.handoffs = 10;
    o.semaphoreClaimants = 6;
    o.electionContenders = 3;
    o.electionCrashes = 1;
    o.electionCrashTtlSeconds = 1; // granted as 1 s with fast elections: one crash costs about 1 s per client
    o.queueConsumers = new int[] {1, 2};
    Path go = Path.of("target/go/etcdbench");
    if (GoTarget.unusable(go) == null) {
      o.goBinary = go;
    }
    List<Row> rows = Bench.run(o);

    for (String w : List.of("put", "get-linearizable", "get-serializable", "txn")) {
      for (String c : List.of(OursTarget.NAME, JetcdTarget.NAME)) {
        for (int n : o.concurrencies) {
          assertThat(rows).as("%s %s %d", w, c, n)
              .anySatisfy(r -> {
                assertThat(r.workload()).isEqualTo(w);
                assertThat(r.client()).isEqualTo(c);
                assertThat(r.concurrency()).isEqualTo(n);
                assertThat(r.opsPerS()).isPositive();
                assertThat(r.p99Us()).isGreaterThanOrEqualTo(r.p50Us());
                assertThat(r.extra().get("errors")).isEqualTo(0L);
              });
        }
      }
    }
    for (String c : List.of(OursTarget.NAME, JetcdTarget.NAME)) {
      assertThat(rows).anySatisfy(r -> {
        assertThat(r.workload()).isEqualTo("watch");
        assertThat(r.client()).isEqualTo(c);
        assertThat(r.extra().get("missing_events")).isEqualTo(0L);
      });
      assertThat(rows).anySatisfy(r -> {
        assertThat(r.workload()).isEqualTo("lease-keepalive");
        assertThat(r.client()).isEqualTo(c);
        assertThat(r.extra().get("all_alive")).isEqualTo(true);
      });
    }
    for (String w : List.of(LockWorkload.LOCK, LockWorkload.CONTENDED, LockWorkload.HANDOFF)) {
      for (String c : List.of(OursTarget.NAME, JetcdTarget.NAME)) {
        assertThat(rows).as("%s %s", w, c).anySatisfy(r -> {
          assertThat(r.workload()).isEqualTo(w);
          assertThat(r.client()).isEqualTo(c);
          assertThat(r.opsPerS()).isPositive();
          assertThat(r.extra().get("overlaps")).isEqualTo(0L);
          assertThat(r.extra().get("errors")).isEqualTo(0L);
        });
      }
    }
    assertThat(rows).anySatisfy(r -> {
      assertThat(r.workload()).isEqualTo(LockWorkload.HANDOFF);
      assertThat(r.concurrency()).isEqualTo(3);
      assertThat(r.extra().get("handoffs")).isEqualTo(10L);
    });
    for (String c : List.of(OursTarget.NAME, JetcdTarget.NAME)) {
      assertThat(rows).as("%s %s", ElectionWorkload.RESIGN, c).anySatisfy(r -> {
        assertThat(r.workload()).isEqualTo(ElectionWorkload.RESIGN);
        assertThat(r.client()).isEqualTo(c);
        assertThat(r.concurrency()).isEqualTo(3);
        assertThat(r.opsPerS()).isPositive();
        assertThat((Long) r.extra().get("failovers")).isPositive();
        assertThat(r.extra().get("overlaps")).isEqualTo(0L);
        assertThat(r.extra().get("errors")).isEqualTo(0L);
      });
      assertThat(rows).as("%s %s", ElectionWorkload.CRASH, c).anySatisfy(r -> {
        assertThat(r.workload()).isEqualTo(ElectionWorkload.CRASH);
        assertThat(r.client()).isEqualTo(c);
        assertThat(r.extra().get("crashes")).isEqualTo(1);
        assertThat(r.extra().get("overlaps")).isEqualTo(0L);
        assertThat(r.extra().get("errors")).isEqualTo(0L);
        assertThat(r.p50Us()).isPositive();
      });
    }
    assertThat(rows).anySatisfy(r -> {
      assertThat(r.workload()).isEqualTo(LockWorkload.SEMAPHORE);
      assertThat(r.opsPerS()).isPositive();
      assertThat(r.extra().get("overlaps")).isEqualTo(0L);
      assertThat((Integer) r.extra().get("max_holders")).isBetween(1, 4);
    });
    assertThat(rows).anySatisfy(r -> {
      assertThat(r.workload()).isEqualTo("stm");
      assertThat(r.opsPerS()).isPositive();
      assertThat(r.extra().get("total_unchanged")).isEqualTo(true);
    });
    for (String w : List.of(QueueWorkload.DEQUEUE, QueueWorkload.EMPTY)) {
      assertThat(rows).as(w).anySatisfy(r -> {
        assertThat(r.workload()).isEqualTo(w);
        assertThat(r.opsPerS()).isPositive();
        assertThat(r.extra().get("errors")).isEqualTo(0L);
        assertThat((Double) r.extra().get("rpcs_per_item")).isPositive();
      });
    }
    if (rows.stream().anyMatch(r -> r.client().equals(GoTarget.NAME))) { // the Go program was built and started
      List<String> goCells = new java.util.ArrayList<>(o.goKvWorkloads); // a quick run: no get-serializable
      goCells.addAll(List.of(LockWorkload.LOCK, LockWorkload.CONTENDED, ElectionWorkload.RESIGN));
      for (String w : goCells) {
        assertThat(rows).as("%s go", w).anySatisfy(r -> {
          assertThat(r.workload()).isEqualTo(w);
          assertThat(r.client()).isEqualTo(GoTarget.NAME);
          assertThat(r.opsPerS()).isPositive();
          assertThat(r.cpuNsPerOp()).isPositive();
          assertThat(r.extra().get("errors")).isEqualTo(0L);
          assertThat(r.extra().getOrDefault("overlaps", 0L)).isEqualTo(0L);
        });
      }
    }
    List<String> lines = Files.readAllLines(out.resolve("latest.jsonl"));
    assertThat(lines).hasSize(rows.size());
    assertThat(lines).allSatisfy(l -> assertThat(l).startsWith("{\"workload\":\"").contains("\"client\":\"",
        "\"concurrency\":", "\"ops_per_s\":", "\"p50_us\":", "\"p99_us\":", "\"cpu_ns_per_op\":"));
    assertThat(Files.size(out.resolve("latest.png"))).isPositive();
  }
}
