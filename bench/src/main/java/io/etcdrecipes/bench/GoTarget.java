package io.etcdrecipes.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * etcd's own Go client (clientv3 and clientv3/concurrency 3.4.23, Debian's sources) as a third client: the program in
 * {@code bench/go/src/etcdbench} (built by {@code scripts/ensure-go.sh}), started once as a child process that takes
 * one cell at a time on its stdin. It runs each cell itself — goroutines in a closed loop on one shared
 * {@code clientv3.Client}, latencies in the buckets of {@link Histogram}, its own CPU time (getrusage) over the timed
 * run, as {@link Load#closedLoop} measures the JVM's — so the figures are Go's; this class asks and parses the
 * answers (the protocol is described in the program's main.go). etcd's CPU is sampled here from the program's
 * {@code started} line to its answer.
 */
final class GoTarget implements BenchClient {

  static final String NAME = "go";
  /** The protocol version the program announces in its {@code ready} line. */
  static final int PROTOCOL = 1;
  /** Where bench/run.sh has scripts/ensure-go.sh build the program, from the repository's root. */
  static final Path DEFAULT_BINARY = Path.of("bench/target/go/etcdbench");
  private static final String EXITED = "\u0000exited";
  /** How long a cell may take beyond its timed run (sessions made and closed, calls in flight at the end). */
  private static final long SLACK_NANOS = TimeUnit.SECONDS.toNanos(120);

  private final Process process;
  private final Writer stdin;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private String version = "";

  private GoTarget(Process process) {
    this.process = process;
    this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String l; (l = r.readLine()) != null; ) {
          lines.add(l);
        }
      } catch (IOException e) {
        // the program is gone: EXITED says so
      } finally {
        lines.add(EXITED);
      }
    }, "go-bench-stdout");
    reader.setDaemon(true);
    reader.start();
  }

  /** Why {@code binary} cannot be run, or null when it can. */
  static String unusable(Path binary) {
    if (binary == null) {
      return "no Go program given (--go PATH; bench/run.sh builds one with scripts/ensure-go.sh)";
    }
    if (!Files.exists(binary)) {
      return binary + " does not exist (scripts/ensure-go.sh builds it)";
    }
    if (!Files.isExecutable(binary)) {
      return binary + " is not executable";
    }
    return null;
  }

  /** Starts the program on {@code endpoints} and waits for its {@code ready}; throws with the reason otherwise. */
  static GoTarget start(Path binary, String endpoints) throws IOException {
    Process p = new ProcessBuilder(binary.toString(), "-endpoints", endpoints)
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    GoTarget g = new GoTarget(p);
    try {
      g.version = ready(g.next(TimeUnit.SECONDS.toNanos(30)));
      return g;
    } catch (IOException | RuntimeException e) {
      g.close();
      throw e;
    }
  }

  /** {@code ready<TAB>go1.19.8<TAB>clientv3 3.4.23<TAB>protocol 1} → {@code clientv3 3.4.23 (go1.19.8)}. */
  static String ready(String line) throws IOException {
    String[] f = line.split("\t");
    if (f[0].equals("failed")) {
      throw new IOException(line.substring(line.indexOf('\t') + 1));
    }
    if (!f[0].equals("ready") || f.length < 4) {
      throw new IOException("unexpected first line: " + line);
    }
    if (!f[3].equals("protocol " + PROTOCOL)) {
      throw new IOException("the program speaks " + f[3] + ", this bench protocol " + PROTOCOL
          + " (a stale build? scripts/ensure-go.sh rebuilds it)");
    }
    return f[2] + " (" + f[1] + ")";
  }

  @Override
  public String name() {
    return NAME;
  }

  /** The client and Go version the program reported, e.g. {@code clientv3 3.4.23 (go1.19.8)}. */
  String version() {
    return version;
  }

  /** A KV cell: {@code workload} (put, get-linearizable, get-serializable, txn) with {@code inFlight} calls. */
  Load.Run kv(String workload, int inFlight, long nanos) throws IOException {
    Map<String, String> f = call("kv " + workload + " " + inFlight + " " + nanos, nanos);
    long failed = Long.parseLong(f.getOrDefault("compares_failed", "0"));
    if (failed > 0) {
      Bench.say("  " + failed + " txn compares failed (unexpected)");
    }
    return run(f);
  }

  /**
   * {@code contenders} cycling on {@code name}, each with a {@code concurrency.Session} of {@code ttlSeconds} of its
   * own: a {@code concurrency.Mutex} (Lock, Unlock), or with {@code election} a {@code concurrency.Election}
   * (Campaign, Resign). The same sums as {@link LockWorkload#cycles}.
   */
  LockWorkload.Cycles cycles(boolean election, String name, int contenders, long ttlSeconds, long nanos)
      throws IOException {
    String command = (election ? "election " : "lock ") + name + " " + contenders + " " + ttlSeconds + " " + nanos;
    return cycles(call(command, nanos));
  }

  /** A Go cell's call: its result, or an IOException. */
  interface Cell<T> {
    T run() throws IOException;
  }

  /** Runs a Go cell; null when it failed, with a line saying so: the run goes on without that row. */
  static <T> T orSkip(String cell, Cell<T> call) {
    try {
      return call.run();
    } catch (IOException | RuntimeException e) {
      Bench.say("  go " + cell + " failed, no row for it: " + e.getMessage());
      return null;
    }
  }

  /** Sends a command, waits for its answer; etcd's CPU is taken over the timed run (started to done). */
  private synchronized Map<String, String> call(String command, long nanos) throws IOException {
    stdin.write(command + "\n");
    stdin.flush();
    String line = next(SLACK_NANOS);
    long server0 = 0;
    boolean started = line.equals("started");
    if (started) {
      server0 = Load.serverCpuNanos();
      line = next(nanos + SLACK_NANOS);
    }
    long server1 = Load.serverCpuNanos();
    Map<String, String> f = done(line);
    if (started && server0 > 0) {
      f.put("server_cpu_ns", Long.toString(server1 - server0));
    }
    return f;
  }

  private String next(long timeoutNanos) throws IOException {
    String line;
    try {
      line = lines.poll(timeoutNanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for the Go program", e);
    }
    if (line == null) {
      process.destroyForcibly();
      throw new IOException("the Go program did not answer in " + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos)
          + " s; ended it");
    }
    if (line.equals(EXITED)) {
      lines.add(EXITED); // for the next caller
      throw new IOException("the Go program exited" + (process.isAlive() ? "" : " with status " + process.exitValue()));
    }
    return line;
  }

  /** The fields of a {@code done<TAB>key=value<TAB>...} answer; a {@code failed<TAB>why} one throws. */
  static Map<String, String> done(String line) throws IOException {
    String[] f = line.split("\t");
    if (f[0].equals("failed")) {
      throw new IOException("go: " + (f.length > 1 ? line.substring(line.indexOf('\t') + 1) : "failed"));
    }
    if (!f[0].equals("done")) {
      throw new IOException("unexpected answer from the Go program: " + line);
    }
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 1; i < f.length; i++) {
      int eq = f[i].indexOf('=');
      if (eq <= 0) {
        throw new IOException("malformed field '" + f[i] + "' in: " + line);
      }
      m.put(f[i].substring(0, eq), f[i].substring(eq + 1));
    }
    for (String required : new String[] {"ops", "errors", "elapsed_ns", "cpu_ns", "latency"}) {
      if (!m.containsKey(required)) {
        throw new IOException("no " + required + " in: " + line);
      }
    }
    return m;
  }

  /** A run from an answer's fields. */
  static Load.Run run(Map<String, String> f) {
    Load.Run r = new Load.Run();
    r.ops.add(Long.parseLong(f.get("ops")));
    r.errors.add(Long.parseLong(f.get("errors")));
    r.elapsedNanos = Long.parseLong(f.get("elapsed_ns"));
    r.cpuNanos = Long.parseLong(f.get("cpu_ns"));
    r.serverCpuNanos = Long.parseLong(f.getOrDefault("server_cpu_ns", "0"));
    histogram(f.get("latency"), r.latency);
    if (f.containsKey("last_error")) {
      r.lastError = new GoError(f.get("last_error"));
    }
    return r;
  }

  /** The sums of a lock or election answer. */
  static LockWorkload.Cycles cycles(Map<String, String> f) {
    LockWorkload.Cycles c = new LockWorkload.Cycles();
    c.run.add(run(f));
    histogram(f.getOrDefault("acquire", ""), c.acquire);
    histogram(f.getOrDefault("release", ""), c.unlock);
    histogram(f.getOrDefault("handoff", ""), c.handoff);
    c.overlaps.add(Long.parseLong(f.getOrDefault("overlaps", "0")));
    c.maxHolders.set(Integer.parseInt(f.getOrDefault("max_holders", "0")));
    return c;
  }

  /** Adds {@code index:count,index:count...} (the program's non-empty buckets) to {@code h}. */
  static void histogram(String encoded, Histogram h) {
    if (encoded.isEmpty()) {
      return;
    }
    for (String bucket : encoded.split(",")) {
      int colon = bucket.indexOf(':');
      h.add(Integer.parseInt(bucket.substring(0, colon)), Long.parseLong(bucket.substring(colon + 1)));
    }
  }

  /** Asks the program to quit; ends it if it does not within 10 s. */
  @Override
  public void close() {
    try {
      stdin.write("quit\n");
      stdin.close();
    } catch (IOException e) {
      // already gone
    }
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /** A call's error as the Go program reported it. */
  static final class GoError extends Exception {
    GoError(String message) {
      super(message, null, false, false);
    }

    @Override
    public String toString() {
      return "go: " + getMessage();
    }
  }
}
