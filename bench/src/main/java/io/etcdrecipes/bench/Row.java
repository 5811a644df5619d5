package io.etcdrecipes.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** One line of the results: a workload at one concurrency for one client. */
record Row(String workload, String client, int concurrency, double opsPerS, double p50Us, double p99Us,
           double cpuNsPerOp, Map<String, Object> extra) {

  static Row of(String workload, String client, int concurrency, Load.Run run, Map<String, Object> extra) {
    Map<String, Object> x = new LinkedHashMap<>();
    x.put("ops", run.ops.sum());
    x.put("errors", run.errors.sum());
    x.put("seconds", round(run.elapsedNanos / 1e9, 2));
    if (run.serverCpuNanos > 0) {
      x.put("server_cpu_ns_per_op", Math.round(run.serverCpuNanos / (double) Math.max(1, run.ops.sum())));
    }
    x.putAll(extra);
    double ops = Math.max(1, run.ops.sum());
    return new Row(workload, client, concurrency, run.opsPerSecond(), run.latency.quantile(0.50) / 1e3,
        run.latency.quantile(0.99) / 1e3, run.cpuNanos / ops, x);
  }

  String json() {
    StringBuilder b = new StringBuilder("{");
    b.append("\"workload\":\"").append(workload).append('"');
    b.append(",\"client\":\"").append(client).append('"');
    b.append(",\"concurrency\":").append(concurrency);
    b.append(",\"ops_per_s\":").append(num(round(opsPerS, 1)));
    b.append(",\"p50_us\":").append(num(round(p50Us, 1)));
    b.append(",\"p99_us\":").append(num(round(p99Us, 1)));
    b.append(",\"cpu_ns_per_op\":").append(num(Math.round(cpuNsPerOp)));
    for (Map.Entry<String, Object> e : extra.entrySet()) {
      b.append(",\"").append(e.getKey()).append("\":");
      Object v = e.getValue();
      if (v instanceof Number n) {
        b.append(num(n));
      } else if (v instanceof Boolean) {
        b.append(v);
      } else {
        b.append('"').append(String.valueOf(v).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
      }
    }
    return b.append('}').toString();
  }

  static double round(double v, int digits) {
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }

  private static String num(Number n) {
    if (n instanceof Double d) {
      if (d == Math.rint(d) && Math.abs(d) < 1e15) {
        return String.format(Locale.ROOT, "%.1f", d);
      }
      return String.format(Locale.ROOT, "%s", d);
    }
    return n.toString();
  }
}
