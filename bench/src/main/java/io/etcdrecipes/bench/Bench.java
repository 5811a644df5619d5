package io.etcdrecipes.bench;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.testkit.EtcdCluster;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;

/**
 * Our client side by side with jetcd in one JVM, and with etcd's Go client in a child process ({@link GoTarget}):
 * all talk to the same single-member etcd (fsync on), and every cell (workload x concurrency) runs each client in
 * turn, rotating which goes first from cell to cell, after a warm-up of each. The Go client runs the KV cells
 * (get-serializable in full runs only), lock, lock-contended and election-resign; without its program the run goes
 * on without Go rows and says why.
 * Results: a table on stdout, JSON lines, and a PNG chart.
 *
 * <p>Process CPU time is the client's: etcd is another process. It includes the harness (the same few
 * lines for both Java clients) and the JVM's GC and JIT threads; the Go client's is its own process's.
 */
public final class Bench {

  static final String[] ALL_WORKLOADS =
      {"put", "get-linearizable", "get-serializable", "txn", "watch", "lease-keepalive", "stm",
          LeasingWorkload.NAME, LockWorkload.LOCK, LockWorkload.CONTENDED, LockWorkload.HANDOFF,
          LockWorkload.SEMAPHORE, ElectionWorkload.RESIGN, ElectionWorkload.CRASH, QueueWorkload.DEQUEUE,
          QueueWorkload.EMPTY};
  static final int KEY_BYTES = 32;
  static final int VALUE_BYTES = 256;
  static final int KEYS = 1000;

  /** Settings of one run; {@link #quick()} and {@link #full()} are what {@code bench/run.sh} uses. */
  static final class Options {
    boolean quick;
    double roundSeconds = 4;
    int roundsPerClient = 2;
    double warmSeconds = 8;
    int[] concurrencies = {1, 16, 128};
    Set<String> workloads = new LinkedHashSet<>(List.of(ALL_WORKLOADS));
    Set<String> clients = new LinkedHashSet<>(List.of(OursTarget.NAME, JetcdTarget.NAME, GoTarget.NAME));
    /** The Go client's program (scripts/ensure-go.sh builds it); null: none. */
    Path goBinary;
    /** Why there is no Go program (set by bench/run.sh when scripts/ensure-go.sh could not build one). */
    String goSkipped;
    /**
     * The KV workloads the Go client runs (the others have Java rows only). A quick run leaves out get-serializable,
     * which issue 21 does not ask of Go, to stay under 4 minutes.
     */
    Set<String> goKvWorkloads = new LinkedHashSet<>(List.of("put", "get-linearizable", "get-serializable", "txn"));
    int watchWriters = 16;
    int leases = 10_000;
    long leaseTtlSeconds = 5;
    int stmAccounts = 10;
    int stmWorkers = 8;
    long lockTtlSeconds = 60;
    int lockContenders = 4;
    int[] handoffWaiters = {10, 100, 1000};
    int handoffs = 300;
    double handoffMaxSeconds = 60;
    int semaphorePermits = 4;
    int semaphoreClaimants = 16;
    /** election-resign: contenders on one name (a session or lease each), and their TTL. */
    int electionContenders = 4;
    long electionTtlSeconds = 60;
    /** election-crash: leaders crashed per client, and the TTL of the leader's and the waiter's leases. */
    int electionCrashes = 5;
    long electionCrashTtlSeconds = 2;
    /** Queue workloads: consumers per cell, producers keeping queue-dequeue fed, and the backlog they keep. */
    int[] queueConsumers = {1, 4, 16};
    int queueProducers = 2;
    int queueBacklog = 200;
    /** Our lock sessions' loss-check interval in ms (-1: Session's default); an analysis knob, not a default. */
    long sessionLossCheckMillis = -1;
    Path out = Path.of("bench/results");
    boolean chart = true;
    String endpoints;
    String gitCommit = "";

    static Options quick() {
      Options o = new Options();
      o.quick = true;
      o.roundSeconds = 2;
      o.roundsPerClient = 1;
      o.warmSeconds = 3;
      o.handoffs = 100;
      o.handoffMaxSeconds = 15;
      o.electionCrashes = 2;
      o.goKvWorkloads.remove("get-serializable");
      return o;
    }

    static Options full() {
      return new Options();
    }

    long roundNanos() {
      return (long) (roundSeconds * 1e9);
    }
  }

  private final Options o;
  private final String endpoints;
  /** Every client in the comparison, in the order of the options. */
  private final List<BenchClient> clients = new ArrayList<>();
  /** The Java clients among them: the workloads the Go program does not run use these. */
  private final List<Target<?>> targets = new ArrayList<>();
  /** The Go client's version, or why it is skipped; null when it was not asked for. */
  private String goStatus;
  private final OursTarget admin;
  private final List<Row> rows = new ArrayList<>();
  private final byte[] value = new byte[VALUE_BYTES];

  Bench(Options o, String endpoints) {
    this.o = o;
    this.endpoints = endpoints;
    new Random(42).nextBytes(value);
    this.admin = new OursTarget(endpoints);
    for (String c : o.clients) {
      switch (c) {
        case OursTarget.NAME -> clients.add(new OursTarget(endpoints));
        case JetcdTarget.NAME -> clients.add(new JetcdTarget(endpoints));
        case GoTarget.NAME -> startGo();
        default -> throw new IllegalArgumentException("unknown client " + c + " (etcd-recipes, jetcd, go)");
      }
    }
    targets.addAll(javaOnly(clients));
    for (Target<?> t : targets) {
      if (t instanceof OursTarget ours && o.sessionLossCheckMillis >= 0) {
        ours.sessionLossCheck(java.time.Duration.ofMillis(o.sessionLossCheckMillis));
      }
    }
  }

  /** Starts the Go client's program, or says why its rows are skipped (the run goes on without them). */
  private void startGo() {
    String why = goSkipReason(o);
    if (why == null) {
      try {
        GoTarget go = GoTarget.start(o.goBinary, endpoints);
        clients.add(go);
        goStatus = "go " + go.version();
        say("go: etcd's Go client, " + go.version() + ", in a child process (" + o.goBinary + ")");
        return;
      } catch (java.io.IOException e) {
        why = "the Go program did not start: " + e.getMessage();
      }
    }
    goStatus = "go SKIPPED (" + why + ")";
    say("Go rows SKIPPED: " + why);
  }

  /** Why the Go client cannot run with these options (bench/run.sh's reason, else the program's), or null. */
  static String goSkipReason(Options o) {
    return o.goSkipped != null ? o.goSkipped : GoTarget.unusable(o.goBinary);
  }

  /** The clients of {@code l} that this JVM drives, in order. */
  static List<Target<?>> javaOnly(List<BenchClient> l) {
    List<Target<?>> t = new ArrayList<>();
    for (BenchClient c : l) {
      if (c instanceof Target<?> x) {
        t.add(x);
      }
    }
    return t;
  }

  /**
   * The clients' turns in a cell of {@code rounds} rounds: {@code ab} once for one round; for more, every other round
   * reversed (ABBA for two clients and two rounds), so each client goes first about as often as the others.
   */
  static List<BenchClient> rounds(List<BenchClient> ab, int rounds) {
    List<BenchClient> sequence = new ArrayList<>();
    for (int r = 0; r < rounds; r++) {
      List<BenchClient> pass = new ArrayList<>(ab);
      if (r % 2 == 1) {
        java.util.Collections.reverse(pass);
      }
      sequence.addAll(pass);
    }
    return sequence;
  }

  public static void main(String[] args) throws Exception {
    Options o = Options.full();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--quick" -> {
          Options q = Options.quick();
          q.out = o.out;
          q.endpoints = o.endpoints;
          q.workloads = o.workloads;
          q.clients = o.clients;
          q.gitCommit = o.gitCommit;
          q.goBinary = o.goBinary;
          q.goSkipped = o.goSkipped;
          q.handoffWaiters = o.handoffWaiters;
          q.electionContenders = o.electionContenders;
          o = q;
        }
        case "--endpoints" -> o.endpoints = args[++i];
        case "--out" -> o.out = Path.of(args[++i]);
        case "--workloads" -> o.workloads = new LinkedHashSet<>(List.of(args[++i].split(",")));
        case "--clients" -> o.clients = new LinkedHashSet<>(List.of(args[++i].split(",")));
        case "--seconds" -> o.roundSeconds = Double.parseDouble(args[++i]);
        case "--rounds" -> o.roundsPerClient = Integer.parseInt(args[++i]);
        case "--concurrency" -> o.concurrencies =
            java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
        case "--handoff-waiters" -> o.handoffWaiters =
            java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
        case "--handoffs" -> o.handoffs = Integer.parseInt(args[++i]);
        case "--election-contenders" -> o.electionContenders = Integer.parseInt(args[++i]);
        case "--election-crashes" -> o.electionCrashes = Integer.parseInt(args[++i]);
        case "--queue-consumers" -> o.queueConsumers =
            java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
        case "--session-loss-check-ms" -> o.sessionLossCheckMillis = Long.parseLong(args[++i]);
        case "--server-pid" -> Load.serverPid = Long.parseLong(args[++i]); // etcd's CPU with --endpoints
        case "--no-chart" -> o.chart = false;
        case "--threads" -> Load.threadReport = true;
        case "--git" -> o.gitCommit = args[++i];
        case "--go" -> o.goBinary = Path.of(args[++i]);
        case "--go-skipped" -> o.goSkipped = args[++i];
        default -> throw new IllegalArgumentException("unknown argument " + args[i]
            + " (use --quick, --endpoints, --out, --workloads, --clients, --seconds, --rounds, --concurrency,"
            + " --go, --go-skipped, --handoff-waiters, --handoffs, --election-contenders, --election-crashes, --queue-consumers, --session-loss-check-ms, --no-chart)");
      }
    }
    List<Row> rows = run(o);
    System.exit(rows.isEmpty() ? 1 : 0);
  }

  /** Runs the benchmark (starting a 1-member etcd unless endpoints are given) and writes the results. */
  static List<Row> run(Options o) throws Exception {
    EtcdCluster cluster = null;
    String endpoints = o.endpoints;
    String etcdVersion;
    try {
      if (endpoints == null) {
        // fsync stays on: these are the figures we publish.
        cluster = EtcdCluster.builder().members(1).proxies(false).start();
        endpoints = cluster.endpoints();
        etcdVersion = Env.etcdVersion();
        Load.serverPid = cluster.member(0).pid();
      } else {
        etcdVersion = "external cluster " + endpoints;
      }
      say("etcd " + etcdVersion + " at " + endpoints + (o.quick ? " (quick run)" : ""));
      Bench bench = new Bench(o, endpoints);
      List<Row> rows = bench.runAll();
      Env env = Env.capture(etcdVersion, o, bench.goStatus);
      String table = Report.table(rows, env);
      System.out.println();
      System.out.println(table);
      Files.createDirectories(o.out);
      StringBuilder jsonl = new StringBuilder();
      for (Row r : rows) {
        jsonl.append(r.json()).append('\n');
      }
      Files.writeString(o.out.resolve("latest.jsonl"), jsonl, StandardCharsets.UTF_8);
      Files.writeString(o.out.resolve("latest.txt"), table, StandardCharsets.UTF_8);
      if (o.chart) {
        Chart.write(rows, env, o.out.resolve("latest.png"));
      }
      say("wrote " + o.out.resolve("latest.jsonl") + ", latest.txt" + (o.chart ? ", latest.png" : ""));
      return rows;
    } finally {
      if (cluster != null) {
        cluster.close();
      }
    }
  }

  private void close() {
    for (BenchClient c : clients) {
      c.close();
    }
    admin.close();
  }

  private static final class Closer implements AutoCloseable {
    private final Bench b;

    Closer(Bench b) {
      this.b = b;
    }

    @Override
    public void close() {
      b.close();
    }
  }

  List<Row> runAll() throws Exception {
    try (Closer ignored = new Closer(this)) {
      preload();
      warmUp();
      for (String w : List.of("put", "get-linearizable", "get-serializable", "txn")) {
        if (o.workloads.contains(w)) {
          for (int c : o.concurrencies) {
            kvCell(w, c);
          }
          compact();
        }
      }
      if (o.workloads.contains("watch")) {
        watchCells();
        compact();
      }
      if (o.workloads.contains("lease-keepalive")) {
        for (Target<?> t : rotated(targets, cell)) {
          rows.add(leaseKeepAlive(t));
        }
      }
      if (o.workloads.contains("stm") && o.clients.contains(OursTarget.NAME)) {
        rows.addAll(StmWorkload.run(endpoints, o));
      }
      if (o.workloads.contains(LeasingWorkload.NAME) && o.clients.contains(OursTarget.NAME)) {
        rows.addAll(LeasingWorkload.run(endpoints, o));
      }
      if (LockWorkload.any(o.workloads)) {
        compact(); // the history the workloads before left behind
        rows.addAll(new LockWorkload(o, clients, admin, this::nextCell).run());
        compact();
      }
      if (ElectionWorkload.any(o.workloads)) {
        rows.addAll(new ElectionWorkload(o, endpoints, clients, admin, this::nextCell).run());
        compact();
      }
      if (QueueWorkload.any(o.workloads) && o.clients.contains(OursTarget.NAME)) {
        rows.addAll(QueueWorkload.run(endpoints, o)); // ours only: jetcd has no queue
        compact();
      }
      return rows;
    }
  }

  // ---------------------------------------------------------------------------------------------- keys

  /** A key of exactly {@link #KEY_BYTES} bytes: {@code bench/<kind>/} and a zero-padded number. */
  static byte[] key(String kind, int i) {
    String p = "bench/" + kind + "/";
    String n = Integer.toString(i);
    StringBuilder b = new StringBuilder(p);
    for (int k = p.length() + n.length(); k < KEY_BYTES; k++) {
      b.append('0');
    }
    return b.append(n).toString().getBytes(StandardCharsets.UTF_8);
  }

  private void preload() throws Exception {
    // the keys every get reads, written once (not measured)
    List<CompletableFuture<?>> f = new ArrayList<>();
    for (int i = 0; i < KEYS; i++) {
      f.add(admin.put(ByteSequence.of(key("get", i)), ByteSequence.of(value)));
    }
    CompletableFuture.allOf(f.toArray(new CompletableFuture<?>[0])).get(60, TimeUnit.SECONDS);
  }

  private void warmUp() throws Exception {
    long nanos = (long) (o.warmSeconds * 1e9 / 3);
    say(String.format(Locale.ROOT, "warm-up: put, get and txn for %.1f s per client", o.warmSeconds));
    for (int pass = 0; pass < 2; pass++) {
      for (BenchClient c : clients) {
        kvRun(c, "put", 128, nanos / 2);
        kvRun(c, "get-linearizable", 128, nanos / 2);
        kvRun(c, "txn", 16, nanos / 2);
      }
    }
  }

  /** The cells so far: the clients' order rotates from one cell to the next. */
  private int cell;

  /** The clients in the order of the next cell, for the lock and election workloads' cells. */
  private List<BenchClient> nextCell() {
    List<BenchClient> l = order(0);
    cell++;
    return l;
  }

  /** The clients rotated by the cell number (+ shift): each goes first in turn (two clients: alternating). */
  private List<BenchClient> order(int shift) {
    return rotated(clients, cell + shift);
  }

  /** {@code l} rotated left by {@code k}: its k-th element (modulo its size) first. */
  static <T> List<T> rotated(List<T> l, int k) {
    List<T> r = new ArrayList<>(l);
    if (!r.isEmpty()) {
      java.util.Collections.rotate(r, -(k % r.size()));
    }
    return r;
  }

  private void kvCell(String workload, int concurrency) throws Exception {
    Map<String, Load.Run> total = new LinkedHashMap<>();
    List<BenchClient> order = new ArrayList<>(nextCell());
    order.removeIf(c -> c instanceof GoTarget && !o.goKvWorkloads.contains(workload));
    for (BenchClient c : rounds(order, o.roundsPerClient)) {
      Load.Run run = kvRun(c, workload, concurrency, o.roundNanos());
      if (run != null) {
        total.computeIfAbsent(c.name(), k -> new Load.Run()).add(run);
      }
    }
    for (BenchClient t : clients) {
      Load.Run run = total.get(t.name());
      if (run == null) {
        continue; // a Go cell that failed (said when it did)
      }
      Row row = Row.of(workload, t.name(), concurrency, run, Map.of());
      rows.add(row);
      say(Report.line(row));
      if (run.lastError != null) {
        say("  last error of " + t.name() + ": " + run.lastError);
      }
    }
  }

  /** One timed KV run of client {@code c}; null when the Go program failed it. */
  private Load.Run kvRun(BenchClient c, String workload, int concurrency, long nanos) throws Exception {
    if (c instanceof GoTarget go) {
      return GoTarget.orSkip(workload + " @" + concurrency, () -> go.kv(workload, concurrency, nanos));
    }
    return kvRun((Target<?>) c, workload, concurrency, nanos);
  }

  private <B> Load.Run kvRun(Target<B> t, String workload, int concurrency, long nanos) throws Exception {
    B v = t.bytes(value);
    System.gc();
    switch (workload) {
      case "put": {
        List<B> keys = keys(t, "put", KEYS);
        AtomicInteger next = new AtomicInteger();
        return Load.closedLoop(concurrency, nanos, i -> t.put(keys.get((next.getAndIncrement() & 0x7fffffff) % KEYS), v));
      }
      case "get-linearizable":
      case "get-serializable": {
        boolean serializable = workload.equals("get-serializable");
        List<B> keys = keys(t, "get", KEYS);
        AtomicInteger next = new AtomicInteger();
        return Load.closedLoop(concurrency, nanos,
            i -> t.get(keys.get((next.getAndIncrement() & 0x7fffffff) % KEYS), serializable));
      }
      case "txn": {
        // each chain owns one key and compares its exact version: a compare-and-set that always holds
        List<B> keys = keys(t, "txn-" + t.name().charAt(0), concurrency);
        long[] versions = new long[concurrency];
        for (int i = 0; i < concurrency; i++) {
          versions[i] = t.version(keys.get(i)).get(10, TimeUnit.SECONDS);
        }
        LongAdder failed = new LongAdder();
        Load.Run run = Load.closedLoop(concurrency, nanos, i -> t.casPut(keys.get(i), versions[i], v), (i, r) -> {
          if (Boolean.TRUE.equals(r)) {
            versions[i]++;
          } else {
            failed.increment();
            versions[i] = t.version(keys.get(i)).join();
          }
        });
        if (failed.sum() > 0) {
          say("  " + failed.sum() + " txn compares failed (unexpected)");
        }
        return run;
      }
      default:
        throw new IllegalArgumentException(workload);
    }
  }

  private static <B> List<B> keys(Target<B> t, String kind, int n) {
    List<B> keys = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      keys.add(t.bytes(key(kind, i)));
    }
    return keys;
  }

  private void compact() throws Exception {
    long rev = admin.client().kv().put("bench/compact", "x").get(10, TimeUnit.SECONDS).header().revision();
    admin.client().kv().compact(rev, true).get(120, TimeUnit.SECONDS);
  }

  // --------------------------------------------------------------------------------------------- watch

  private void watchCells() throws Exception {
    // The writer runs in a process of its own (our client, the same for both watchers), so this JVM's CPU
    // time during a round is the watcher's alone.
    Process writer = startWriter();
    try {
      Map<String, WatchRun> total = new LinkedHashMap<>();
      cell++;
      for (Target<?> t : targets) {
        watchRound(t, o.roundNanos() / 2); // warm-up of each watcher
      }
      for (int r = 0; r < o.roundsPerClient; r++) {
        for (Target<?> t : rotated(targets, cell + r)) {
          total.computeIfAbsent(t.name(), k -> new WatchRun()).add(watchRound(t, o.roundNanos()));
        }
      }
      for (Target<?> t : targets) {
        WatchRun w = total.get(t.name());
        Load.Run r = new Load.Run();
        r.latency.add(w.delay);
        r.ops.add(w.events);
        r.elapsedNanos = w.elapsedNanos;
        r.cpuNanos = w.cpuNanos;
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("missing_events", w.missing);
        x.put("p50_first_half_us", Row.round(w.firstHalf.quantile(0.5) / 1e3, 1));
        x.put("p50_second_half_us", Row.round(w.secondHalf.quantile(0.5) / 1e3, 1));
        x.put("latency", "put-to-event delay");
        x.put("writer", "separate process, our client, " + o.watchWriters + " puts in flight");
        Row row = Row.of("watch", t.name(), o.watchWriters, r, x);
        rows.add(row);
        say(Report.line(row));
      }
    } finally {
      writer.getOutputStream().close(); // the writer exits when its stdin closes
      if (!writer.waitFor(10, TimeUnit.SECONDS)) {
        writer.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      admin.client().kv().delete(ByteSequence.of("bench/watch/"), io.etcdrecipes.client.DeleteOption.prefix())
          .get(30, TimeUnit.SECONDS);
    }
  }

  private Process startWriter() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-Xmx256m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp", System.getProperty("java.class.path"), WatchWriter.class.getName(), endpoints, "bench/watch/",
        Integer.toString(o.watchWriters))
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    java.io.BufferedReader out = new java.io.BufferedReader(
        new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (!"ready".equals(line)) {
      p.destroyForcibly();
      throw new IllegalStateException("watch writer did not start: " + line);
    }
    return p;
  }

  /** A watch run's sums. */
  static final class WatchRun {
    final Histogram delay = new Histogram();
    final Histogram firstHalf = new Histogram();
    final Histogram secondHalf = new Histogram();
    long events;
    long missing;
    long elapsedNanos;
    long cpuNanos;

    void add(WatchRun o) {
      delay.add(o.delay);
      firstHalf.add(o.firstHalf);
      secondHalf.add(o.secondHalf);
      events += o.events;
      missing += o.missing;
      elapsedNanos += o.elapsedNanos;
      cpuNanos += o.cpuNanos;
    }
  }

  /**
   * One watcher on the writer's prefix for {@code nanos}: put-to-event delay (the first 8 bytes of each value
   * are its send time), events per second, and revisions missing between the first and the last event (the
   * writer is the only one writing, so the revisions it makes are consecutive).
   */
  private <B> WatchRun watchRound(Target<B> watcher, long nanos) throws Exception {
    WatchRun w = new WatchRun();
    LongAdder events = new LongAdder();
    AtomicLong firstRev = new AtomicLong();
    AtomicLong lastRev = new AtomicLong();
    System.gc();
    long start = System.nanoTime();
    long half = start + nanos / 2;
    long end = start + nanos;
    long cpu0 = Load.processCpuNanos();
    Target.Watching watching = watcher.watchPrefix(watcher.bytes("bench/watch/".getBytes(StandardCharsets.UTF_8)),
        (rev, sent) -> {
          long now = System.nanoTime();
          if (now - end > 0) {
            return;
          }
          w.delay.record(now - sent);
          (now - half < 0 ? w.firstHalf : w.secondHalf).record(now - sent);
          events.increment();
          firstRev.compareAndSet(0, rev);
          lastRev.set(rev);
        });
    TimeUnit.NANOSECONDS.sleep(Math.max(0, end - System.nanoTime()));
    w.cpuNanos = Load.processCpuNanos() - cpu0;
    w.elapsedNanos = System.nanoTime() - start;
    watching.close();
    w.events = events.sum();
    w.missing = w.events == 0 ? 0 : Math.max(0, lastRev.get() - firstRev.get() + 1 - w.events);
    return w;
  }

  // ------------------------------------------------------------------------------------------- leases

  private <B> Row leaseKeepAlive(Target<B> t) throws Exception {
    int n = o.leases;
    long ttl = o.leaseTtlSeconds;
    say("lease-keepalive " + t.name() + ": granting " + n + " leases of " + ttl + " s");
    long[] ids = new long[n];
    long g0 = System.nanoTime();
    inParallel(128, n, i -> t.grant(ttl).thenAccept(id -> ids[i] = id));
    double grantsPerS = n * 1e9 / (System.nanoTime() - g0);
    long[] last = new long[n];
    Histogram gaps = new Histogram();
    LongAdder renewals = new LongAdder();
    AtomicInteger lost = new AtomicInteger();
    List<AutoCloseable> keepAlives = new ArrayList<>(n);
    System.gc();
    long cpu0 = Load.processCpuNanos();
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      int idx = i;
      last[i] = System.nanoTime();
      keepAlives.add(t.keepAlive(ids[i], () -> {
        long now = System.nanoTime();
        gaps.record(now - last[idx]);
        last[idx] = now;
        renewals.increment();
      }, lost::incrementAndGet));
    }
    long registeredCpu = Load.processCpuNanos() - cpu0;
    long registeredNanos = System.nanoTime() - t0;
    long renewalsAtRegistration = renewals.sum();
    long hold = TimeUnit.SECONDS.toNanos(3 * ttl);
    TimeUnit.NANOSECONDS.sleep(hold - (System.nanoTime() - t0));
    long elapsed = System.nanoTime() - t0;
    long cpu = Load.processCpuNanos() - cpu0;
    // all still alive? The server's lease list, and the remaining TTL of every lease (not measured): whole
    // seconds, so a 1 s lease renewed at a third of its TTL shows 0; an expired one shows -1.
    Set<Long> listed = new HashSet<>(admin.client().lease().leases().get(30, TimeUnit.SECONDS));
    AtomicInteger alive = new AtomicInteger();
    inParallel(128, n, i -> admin.client().lease().timeToLive(ids[i], false).thenAccept(r -> {
      if (r.ttl() >= 0 && listed.contains(ids[i])) {
        alive.incrementAndGet();
      }
    }));
    for (AutoCloseable k : keepAlives) {
      k.close();
    }
    inParallel(128, n, i -> admin.revoke(ids[i]));
    Load.Run r = new Load.Run();
    r.latency.add(gaps);
    r.ops.add(renewals.sum());
    r.elapsedNanos = elapsed;
    r.cpuNanos = cpu;
    Map<String, Object> x = new LinkedHashMap<>();
    x.put("leases", n);
    x.put("ttl_s", ttl);
    x.put("alive_after_3x_ttl", alive.get());
    x.put("all_alive", alive.get() == n);
    x.put("lost", lost.get());
    x.put("grants_per_s", Row.round(grantsPerS, 1));
    x.put("registration_ms", Row.round(registeredNanos / 1e6, 1));
    x.put("registration_cpu_ms", Row.round(registeredCpu / 1e6, 1));
    x.put("steady_cpu_ns_per_renewal",
        Math.round((cpu - registeredCpu) / (double) Math.max(1, renewals.sum() - renewalsAtRegistration)));
    x.put("latency", "gap between renewals of one lease");
    Row row = Row.of("lease-keepalive", t.name(), n, r, x);
    say(Report.line(row) + "  alive " + alive.get() + "/" + n);
    return row;
  }

  /** Runs {@code n} calls with at most {@code inFlight} at a time and waits for all (not measured). */
  static void inParallel(int inFlight, int n, IntFunction<CompletableFuture<?>> call) throws Exception {
    Semaphore permits = new Semaphore(inFlight);
    ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    for (int i = 0; i < n; i++) {
      permits.acquire();
      call.apply(i).whenComplete((r, e) -> {
        if (e != null) {
          errors.add(e);
        }
        permits.release();
      });
    }
    if (!permits.tryAcquire(inFlight, 120, TimeUnit.SECONDS)) {
      throw new IllegalStateException("calls did not finish within 120 s");
    }
    if (!errors.isEmpty()) {
      throw new IllegalStateException(errors.size() + " of " + n + " calls failed, e.g. " + errors.peek(),
          errors.peek());
    }
  }

  static void say(String line) {
    System.out.println(java.time.LocalTime.now().withNano(0) + "  " + line);
  }
}
