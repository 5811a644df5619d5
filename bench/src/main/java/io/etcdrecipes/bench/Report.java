package io.etcdrecipes.bench;

import java.util.List;
import java.util.Locale;

/** The text table. */
final class Report {

  private Report() {}

  static String line(Row r) {
    Object server = r.extra().get("server_cpu_ns_per_op");
    return String.format(Locale.ROOT, "%-17s %6d  %-13s %11.0f %10.1f %10.1f %9.1f %9s", r.workload(), r.concurrency(),
        r.client(), r.opsPerS(), r.p50Us(), r.p99Us(), r.cpuNsPerOp() / 1e3,
        server == null ? "" : String.format(Locale.ROOT, "%.1f", ((Number) server).longValue() / 1e3));
  }

  /** The row of {@code client} for the same workload and concurrency as {@code r}, or null. */
  static Row peer(List<Row> rows, Row r, String client) {
    return rows.stream().filter(x -> x.client().equals(client) && x.workload().equals(r.workload())
        && x.concurrency() == r.concurrency()).findFirst().orElse(null);
  }

  /** {@code r} against {@code other}: ops/s, p50 and CPU ratios; empty without a comparable row. */
  static String ratios(Row r, Row other) {
    if (other == null || other.opsPerS() <= 0 || other.cpuNsPerOp() <= 0) {
      return "";
    }
    return String.format(Locale.ROOT, "x%.2f ops/s, x%.2f p50, x%.2f cpu", r.opsPerS() / other.opsPerS(),
        r.p50Us() / Math.max(0.001, other.p50Us()), r.cpuNsPerOp() / other.cpuNsPerOp());
  }

  static String table(List<Row> rows, Env env) {
    StringBuilder b = new StringBuilder();
    for (String l : env.lines()) {
      b.append(l).append('\n');
    }
    b.append('\n');
    b.append(String.format(Locale.ROOT, "%-17s %6s  %-13s %11s %10s %10s %9s %9s   %s%n", "workload", "conc", "client",
        "ops/s", "p50 us", "p99 us", "cpu us/op", "etcd us/op", "ours / jetcd | ours / go"));
    for (Row r : rows) {
      b.append(line(r));
      if (r.client().equals(OursTarget.NAME)) {
        String j = ratios(r, peer(rows, r, JetcdTarget.NAME));
        String g = ratios(r, peer(rows, r, GoTarget.NAME));
        if (!j.isEmpty() || !g.isEmpty()) {
          b.append("   ").append(j.isEmpty() ? "-" : j).append(g.isEmpty() ? "" : " | " + g);
        }
      }
      if (r.workload().equals("lease-keepalive")) {
        b.append("   alive ").append(r.extra().get("alive_after_3x_ttl")).append('/').append(r.concurrency());
      }
      if (r.workload().equals("stm")) {
        b.append("   conflicts/commit ").append(r.extra().get("conflicts_per_commit"));
      }
      if (r.workload().equals(ElectionWorkload.RESIGN)) {
        b.append("   overlaps ").append(r.extra().get("overlaps")).append(", failovers >= 50 ms ")
            .append(r.extra().get("failovers_50ms_or_more"));
      }
      if (r.workload().equals(ElectionWorkload.CRASH)) {
        b.append("   overlaps ").append(r.extra().get("overlaps")).append(", max ")
            .append(r.extra().get("failover_max_ms")).append(" ms (target ").append(r.extra().get("target_ms"))
            .append(" ms), each ").append(r.extra().get("failovers_ms")).append(" ms");
      }
      if (LockWorkload.NAMES.contains(r.workload())) {
        b.append("   overlaps ").append(r.extra().get("overlaps"));
        if (r.workload().equals(LockWorkload.SEMAPHORE)) {
          b.append(", permits ").append(r.extra().get("permits")).append(", max holders ")
              .append(r.extra().get("max_holders")).append(" (jetcd: no semaphore)");
        }
      }
      b.append('\n');
    }
    b.append("\nconc: requests in flight (watch: writer's in flight; lease-keepalive: leases). "
        + "Latency: call to completion;\nwatch: put-to-event delay; lease-keepalive: gap between two renewals of "
        + "one lease. cpu: JVM process CPU / ops;\netcd us/op: the etcd server process's CPU / ops (from /proc) in the same run.\n"
        + "go: etcd's Go client (clientv3) in a process of its own; its cpu is that process's (getrusage) / ops.\n"
        + "lock, lock-contended: conc = contenders (a lease each), ops = lock+unlock cycles, latency = lock call to held;\n"
        + "lock-handoff: conc = contenders queued on one name, ops = handoffs, latency = holder's release (before its\n"
        + "unlock call) to the next holder's lock returning; semaphore: conc = claimants, latency = acquire.\n"
        + "election-resign: conc = contenders, ops = campaign+resign cycles, latency = failover (the leader's resign\n"
        + "call to the next contender's campaign returning); election-crash: a leader's client cut off with one contender\n"
        + "waiting, latency = crash to the waiter's campaign returning (ops/s and cpu mean nothing there: 0).\n");
    return b.toString();
  }
}
