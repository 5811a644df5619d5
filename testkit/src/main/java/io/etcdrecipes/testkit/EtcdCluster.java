package io.etcdrecipes.testkit;

import io.etcdrecipes.testkit.internal.Http;
import io.etcdrecipes.testkit.internal.Iptables;
import io.etcdrecipes.testkit.internal.Procs;
import io.etcdrecipes.testkit.internal.Registry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real etcd cluster of 1 to 5 members on loopback, for tests (and demos: it needs nothing from JUnit).
 *
 * <pre>{@code
 * try (EtcdCluster cluster = EtcdCluster.builder().members(3).fastElections().start()) {
 *     String endpoints = cluster.endpoints();      // "http://127.0.0.1:P1,http://127.0.0.1:P2,..."
 *     cluster.leader().kill();                     // and the rest elect a new one
 * }
 * }</pre>
 *
 * <h2>Processes and ports</h2>
 * Each member is an {@code etcd} process (from {@code ETCD_BINARY}, else {@code etcd} on {@code PATH}) with a
 * client and a peer port on 127.0.0.1 chosen from 20000-31999 (below the kernel's ephemeral range) under a file
 * lock shared by every JVM on the machine, so concurrent test JVMs never pick the same ports; the start is
 * retried on new ports if etcd still reports "address already in use". Each member has its own data dir and a
 * log file (stdout and stderr go to the file, never to a pipe) under {@code /tmp/etcd-recipes-testkit/clusters/ID}.
 * {@link #start()} returns once every member answers {@code GET /health} with {@code "health":"true"}, which in
 * etcd 3.4 means it sees a leader.
 *
 * <h2>etcd versions</h2>
 * {@link #version()} (and, before any cluster exists, {@link #binaryVersion()}) tell which etcd the members run, from
 * {@code etcd --version}, so tests can expect what that version does. With the system property
 * {@value #EXPECTED_VERSION_PROPERTY} set to a version line ({@code 3.5}), {@link #start()} refuses a binary of any
 * other line: a test pass meant for one etcd version cannot silently run on another.
 *
 * <h2>No etcd outlives the run</h2>
 * {@link #close()}; a shutdown hook that closes every cluster the JVM still has open; a per-JVM {@code sh}
 * watchdog (its own session) that SIGKILLs this JVM's etcd processes within about a second when the JVM dies
 * without running its hooks (SIGKILL); and a reaper that, when a JVM first starts a cluster, kills etcd processes
 * recorded by JVMs that are dead — identified by pid <em>and</em> process start time, so a reused pid is never
 * mistaken and another live JVM's etcd is never touched. See {@code io.etcdrecipes.testkit.internal.Registry}.
 *
 * <h2>Isolation</h2>
 * etcd's raft transport opens streams in both directions between every pair of members and also sends
 * pipeline POSTs, so blocking a member's inbound peer port is not a partition. When the JVM runs as root, every
 * member runs as its own numeric uid ({@code setpriv --reuid=UID --regid=UID --clear-groups etcd ...}; uids
 * from 61000 up, in blocks reserved per cluster like the ports), which lets iptables tell its traffic apart.
 * {@link EtcdMember#isolate()} adds to a chain of the cluster's own ({@code ETCDRT-xxxxxxxx}, jumped to from
 * {@code OUTPUT} for {@code -o lo}):
 * <ol>
 *   <li>{@code -p tcp -m owner --uid-owner UID -j CONNMARK --set-mark UID}: marks every connection the member sends on;</li>
 *   <li>{@code -p tcp --dport PEER -j DROP} and {@code --sport PEER -j DROP}: nothing reaches or leaves its peer port;</li>
 *   <li>{@code -p tcp -m owner --uid-owner UID -m multiport --dports OTHERPEERS -j DROP}: it cannot reach the others' peer ports;</li>
 *   <li>{@code -p tcp -m connmark --mark UID -m multiport --sports OTHERPEERS -j DROP}: the others' answers on connections
 *       the member opened to them (their sockets, their uid) are dropped too.</li>
 * </ol>
 * Client ports are untouched, so clients still reach an isolated member. {@link EtcdMember#heal()} deletes those
 * rules; {@link #close()} removes the chain, and the watchdog and the reaper remove those of dead JVMs. Without
 * root (or without {@code setpriv} / {@code iptables}) members run as the JVM's user and {@code isolate()} throws
 * {@link UnsupportedOperationException} with the reason ({@link #isolationUnavailableReason()}).
 */
public final class EtcdCluster implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EtcdCluster.class);
    private static final int START_ATTEMPTS = 3;
    /**
     * System property: the etcd version line ({@code "3.5"}) the tests of this JVM are meant to run on; set by the
     * build's etcd 3.5 test pass. When set, {@link #start()} fails for a binary of another line.
     */
    public static final String EXPECTED_VERSION_PROPERTY = "etcd.expected.version";
    private static final Map<Path, EtcdVersion> VERSIONS = new ConcurrentHashMap<>();

    private final Config config;
    private final String id;
    private final String chain;
    private final Path clusterDir;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Runnable shutdownAction = this::closeFromShutdownHook;
    private final Set<Integer> isolated = new HashSet<>();
    private volatile List<EtcdMember> members = List.of();
    private volatile boolean started;
    private volatile Path etcdBinary;
    private volatile EtcdVersion version;
    private volatile String setpriv;
    private boolean chainCreated;
    private volatile java.net.http.HttpClient http;

    private EtcdCluster(Config config) {
        this.config = config;
        this.id = String.format("%08x", ThreadLocalRandom.current().nextInt());
        this.chain = "ETCDRT-" + id;
        this.clusterDir = Registry.clustersDir().resolve(id);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Starts a cluster from the command line: {@code EtcdCluster [members]}; prints its endpoints, runs until Ctrl-C. */
    public static void main(String[] args) throws InterruptedException {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        EtcdCluster cluster = builder().members(n).start();
        System.out.println("etcd cluster " + cluster.id() + " with " + n + " member(s) is up.");
        System.out.println("endpoints:         " + cluster.endpoints());
        System.out.println("proxied endpoints: " + String.join(",", cluster.proxiedEndpoints()));
        System.out.println("Ctrl-C stops it.");
        Thread.currentThread().join(); // the shutdown hook closes the cluster
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Starts every member and waits until each is healthy (so a leader exists), bounded by the start timeout.
     * On failure everything started is killed and removed, and the exception shows the failing member's log.
     *
     * @return this
     */
    public synchronized EtcdCluster start() {
        checkNotClosed();
        if (started) return this;
        long t0 = System.nanoTime();
        Registry.initOnce();
        etcdBinary = resolveEtcdBinary(config.etcdBinary);
        version = binaryVersion(etcdBinary);
        checkExpectedVersion(etcdBinary, version);
        setpriv = Procs.currentUid() == 0 ? Procs.which("setpriv").map(Path::toString).orElse(null) : null;
        Registry.addShutdownAction(shutdownAction);
        try {
            createClusterDir();
            for (int attempt = 1; ; attempt++) {
                Registry.Allocation a = Registry.allocate(id, clusterDir, chain, config.members, config.startTimeout);
                List<EtcdMember> ms = new ArrayList<>();
                for (int i = 0; i < config.members; i++) {
                    ms.add(new EtcdMember(this, i, a.clientPorts()[i], a.peerPorts()[i],
                            setpriv != null ? a.uidBase() + i : -1, clusterDir.resolve("member-" + i)));
                }
                members = List.copyOf(ms);
                try {
                    for (EtcdMember m : ms) m.startNoWait();
                    awaitHealthy(config.startTimeout, t0);
                    break;
                } catch (EtcdClusterException e) {
                    boolean portClash = ms.stream().anyMatch(EtcdMember::logMentionsAddressInUse);
                    if (!portClash || attempt >= START_ATTEMPTS || closed.get()) throw e;
                    log.info("etcd cluster {}: a port was taken meanwhile (address already in use); retrying on new ports", id);
                    for (EtcdMember m : ms) m.forceKill();
                    for (EtcdMember m : ms) m.awaitKilled();
                    Registry.deleteTree(clusterDir);
                    createClusterDir();
                }
            }
            if (config.proxies) {
                for (EtcdMember m : members) m.proxy(new TcpProxy("127.0.0.1", m.clientPort()));
            }
            started = true;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        log.info("etcd cluster {} started: {} member(s) of etcd {} in {} ms, endpoints {}", id, config.members, version,
                (System.nanoTime() - t0) / 1_000_000, endpoints());
        return this;
    }

    /**
     * Kills every member (SIGKILL), closes the proxies, removes the iptables chain and deletes the data dirs.
     * Idempotent; safe to call from any thread.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        List<EtcdMember> ms = members;
        for (EtcdMember m : ms) m.forceKill();
        for (EtcdMember m : ms) {
            m.awaitKilled();
            if (m.isRunning()) log.warn("etcd {} of cluster {} (pid {}) survived SIGKILL for 10 s", m.name(), id, m.pid());
        }
        for (EtcdMember m : ms) {
            try {
                m.proxy().close();
            } catch (IllegalStateException e) {
                // no proxy
            }
        }
        synchronized (isolated) {
            if (chainCreated) {
                Iptables.removeChain(chain);
                chainCreated = false;
            }
            isolated.clear();
        }
        boolean deleted = Registry.deleteTree(clusterDir);
        if (ms.stream().noneMatch(EtcdMember::isRunning)) Registry.forgetCluster(id);
        Registry.removeShutdownAction(shutdownAction);
        if (started || !ms.isEmpty()) {
            log.info("etcd cluster {} closed{}", id, deleted ? "" : " (could not delete all of " + clusterDir + ")");
        }
    }

    private void closeFromShutdownHook() {
        if (!closed.get()) {
            log.info("JVM shutting down: closing etcd cluster {}", id);
            close();
        }
    }

    /** True once {@link #start()} has returned and until {@link #close()}. */
    public boolean isStarted() {
        return started && !closed.get();
    }

    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Waits until every <em>running</em> member answers {@code /health} with true (stopped or killed members are
     * not waited for). On timeout the exception names the member and shows its last log lines.
     */
    public EtcdCluster awaitHealthy(Duration timeout) {
        awaitHealthy(timeout, System.nanoTime());
        return this;
    }

    private void awaitHealthy(Duration timeout, long fromNanos) {
        long deadline = fromNanos + timeout.toNanos();
        List<EtcdMember> pending = new ArrayList<>(members);
        while (true) {
            for (var it = pending.iterator(); it.hasNext(); ) {
                EtcdMember m = it.next();
                if (!m.isRunning()) {
                    if (!started) throw new EtcdClusterException(m.failureMessage("exited before becoming healthy"));
                    it.remove();
                } else if (Http.healthy(m.clientEndpoint(), http(), Duration.ofMillis(500))) {
                    it.remove();
                }
            }
            if (pending.isEmpty()) return;
            if (System.nanoTime() > deadline) {
                EtcdMember m = pending.get(0);
                throw new EtcdClusterException(m.failureMessage("did not become healthy within " + timeout.toMillis()
                        + " ms" + (pending.size() > 1 ? " (nor did " + pending.subList(1, pending.size()).stream()
                        .map(EtcdMember::name).collect(Collectors.joining(", ")) + ")" : "")));
            }
            EtcdMember.pollPause();
        }
    }

    /**
     * The member that is leader, waiting (bounded by the start timeout) until exactly one running member
     * reports {@code etcd_server_is_leader 1}.
     */
    public EtcdMember leader() {
        return leader(config.startTimeout);
    }

    /** As {@link #leader()}, with an explicit bound. */
    public EtcdMember leader(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<EtcdMember> leaders;
        do {
            checkNotClosed();
            leaders = new ArrayList<>();
            for (EtcdMember m : members) {
                if (m.isRunning() && !m.isPaused() && m.isLeader()) leaders.add(m);
            }
            if (leaders.size() == 1) return leaders.get(0);
            EtcdMember.pollPause();
        } while (System.nanoTime() < deadline);
        throw new EtcdClusterException("etcd cluster " + id + " has no single leader after " + timeout.toMillis() + " ms: "
                + (leaders.isEmpty() ? "no member" : leaders.stream().map(EtcdMember::name).collect(Collectors.joining(", ")))
                + " reports leadership; running: " + members.stream().filter(EtcdMember::isRunning).map(EtcdMember::name)
                .collect(Collectors.joining(", ")));
    }

    // ------------------------------------------------------------------ accessors

    /**
     * The version of etcd this cluster runs (its binary's {@code etcd --version}); before {@link #start()}, that of
     * the binary it will run.
     */
    public EtcdVersion version() {
        EtcdVersion v = version;
        return v != null ? v : binaryVersion(resolveEtcdBinary(config.etcdBinary));
    }

    /** The version of the etcd binary clusters run by default: {@code $ETCD_BINARY}, else {@code etcd} on {@code PATH}. */
    public static EtcdVersion binaryVersion() {
        return binaryVersion(resolveEtcdBinary(null));
    }

    /**
     * The version {@code binary --version} reports ({@code etcd Version: 3.5.30}); run once per binary and JVM.
     *
     * @throws EtcdClusterException if the binary cannot be run or says no version
     */
    public static EtcdVersion binaryVersion(Path binary) {
        return VERSIONS.computeIfAbsent(binary.toAbsolutePath(), b -> {
            Procs.Result r = Procs.run(Duration.ofSeconds(20), b.toString(), "--version");
            return EtcdVersion.fromVersionOutput(r.output()).orElseThrow(() -> new EtcdClusterException(
                    "cannot tell the version of " + b + ": `" + b + " --version` exited with " + r.exitCode()
                            + " and printed: " + r.output()));
        });
    }

    private static void checkExpectedVersion(Path binary, EtcdVersion v) {
        String expected = System.getProperty(EXPECTED_VERSION_PROPERTY, "").trim();
        if (expected.isEmpty()) return;
        if (!(v.toString() + ".").startsWith(expected + ".")) {
            throw new EtcdClusterException("this test run expects etcd " + expected + " (system property "
                    + EXPECTED_VERSION_PROPERTY + "), but " + binary + " is etcd " + v
                    + " (set ETCD_BINARY to an etcd " + expected + " binary)");
        }
    }

    /** A random 8-hex-digit id, used in the data dir, the iptables chain name and the log. */
    public String id() {
        return id;
    }

    public List<EtcdMember> members() {
        return members;
    }

    /** The member at a 0-based index. */
    public EtcdMember member(int index) {
        List<EtcdMember> ms = members;
        if (ms.isEmpty()) throw new IllegalStateException("etcd cluster " + id + " is not started");
        if (index < 0 || index >= ms.size()) throw new IndexOutOfBoundsException("member " + index + " of " + ms.size());
        return ms.get(index);
    }

    public int size() {
        return config.members;
    }

    /** {@code http://127.0.0.1:PORT} of every member, direct ({@code https} with {@link Builder#clientTls}). */
    public List<String> clientEndpoints() {
        return requireMembers().stream().map(EtcdMember::clientEndpoint).toList();
    }

    /** Every member's endpoint through its TCP proxy. */
    public List<String> proxiedEndpoints() {
        return requireMembers().stream().map(EtcdMember::proxiedEndpoint).toList();
    }

    /** The direct endpoints joined with commas, as etcdctl and Go take them: {@code http://a,http://b}. */
    public String endpoints() {
        return String.join(",", clientEndpoints());
    }

    /** The data dirs and logs of this cluster live under here. */
    public Path directory() {
        return clusterDir;
    }

    public Duration startTimeout() {
        return config.startTimeout;
    }

    boolean proxiesEnabled() {
        return config.proxies;
    }

    /** Heals every isolated member and every proxy. */
    public EtcdCluster healAll() {
        for (EtcdMember m : requireMembers()) {
            m.heal();
            if (config.proxies && isStarted()) m.proxy().heal();
        }
        return this;
    }

    @Override
    public String toString() {
        return "EtcdCluster[" + id + ", " + config.members + " member(s), " + (isClosed() ? "closed" : started ? "started" : "new") + "]";
    }

    /**
     * Kills etcd processes left by JVMs that are dead (and removes their iptables chains and data dirs), never
     * those of a live JVM. Runs by itself when a JVM first starts a cluster.
     *
     * @return how many processes were killed
     */
    public static int reapOrphans() {
        Registry.initOnce();
        return Registry.reapOrphans();
    }

    // ------------------------------------------------------------------ isolation

    /** Why {@link EtcdMember#isolate()} cannot work in this JVM, or empty if it can. */
    public static Optional<String> isolationUnavailableReason() {
        int uid = Procs.currentUid();
        if (uid != 0) {
            return Optional.of("isolating a member needs root (each member runs as its own uid and iptables drops its"
                    + " peer traffic), but this JVM runs as uid " + uid);
        }
        if (Procs.which("setpriv").isEmpty()) {
            return Optional.of("isolating a member needs setpriv (util-linux) to run each member as its own uid; not found");
        }
        if (Iptables.binary().isEmpty()) {
            return Optional.of("isolating a member needs iptables (apt-get install iptables); not found");
        }
        return iptablesUnusable();
    }

    private static volatile Optional<String> iptablesUnusable;

    /** Whether {@code iptables -n -L OUTPUT} works (a container without NET_ADMIN has the binary but no use of it); asked once per JVM. */
    private static Optional<String> iptablesUnusable() {
        Optional<String> known = iptablesUnusable;
        if (known == null) {
            Procs.Result r = Iptables.tryExec("-n", "-L", "OUTPUT");
            known = r.ok() ? Optional.empty()
                    : Optional.of("isolating a member needs a working iptables, but 'iptables -n -L OUTPUT' failed (exit "
                            + r.exitCode() + "): " + r.output().strip());
            iptablesUnusable = known;
        }
        return known;
    }

    boolean isIsolated(EtcdMember m) {
        synchronized (isolated) {
            return isolated.contains(m.index());
        }
    }

    void isolate(EtcdMember m) {
        Optional<String> why = isolationUnavailableReason();
        if (why.isPresent()) throw new UnsupportedOperationException(why.get());
        if (m.uid() < 0) throw new UnsupportedOperationException("member " + m.name() + " does not run as its own uid; cannot isolate it");
        checkNotClosed();
        synchronized (isolated) {
            if (isolated.contains(m.index())) return;
            if (!chainCreated) {
                Iptables.createChain(chain);
                chainCreated = true;
            }
            List<String[]> added = new ArrayList<>();
            try {
                for (String[] rule : isolationRules(m)) {
                    Iptables.exec(concat(new String[] {"-A", chain}, rule));
                    added.add(rule);
                }
            } catch (RuntimeException e) {
                for (String[] rule : added) Iptables.tryExec(concat(new String[] {"-D", chain}, rule));
                throw new EtcdClusterException("cannot isolate " + m.name() + " of cluster " + id + ": " + e.getMessage(), e);
            }
            isolated.add(m.index());
        }
        log.info("Isolated etcd {} of cluster {} from its peers (uid {}, peer port {})", m.name(), id, m.uid(), m.peerPort());
    }

    void heal(EtcdMember m) {
        synchronized (isolated) {
            if (!isolated.remove(m.index())) return;
            for (String[] rule : isolationRules(m)) {
                Procs.Result r = Iptables.tryExec(concat(new String[] {"-D", chain}, rule));
                if (!r.ok()) log.warn("Cannot remove iptables rule {} from {}: {}", String.join(" ", rule), chain, r.output());
            }
        }
        log.info("Healed etcd {} of cluster {}: peer traffic flows again", m.name(), id);
    }

    private List<String[]> isolationRules(EtcdMember m) {
        String uid = Integer.toString(m.uid());
        String peer = Integer.toString(m.peerPort());
        String others = members.stream().filter(o -> o != m).map(o -> Integer.toString(o.peerPort()))
                .collect(Collectors.joining(","));
        List<String[]> rules = new ArrayList<>();
        rules.add(new String[] {"-o", "lo", "-p", "tcp", "-m", "owner", "--uid-owner", uid, "-j", "CONNMARK", "--set-mark", uid});
        rules.add(new String[] {"-o", "lo", "-p", "tcp", "--dport", peer, "-j", "DROP"});
        rules.add(new String[] {"-o", "lo", "-p", "tcp", "--sport", peer, "-j", "DROP"});
        if (!others.isEmpty()) {
            rules.add(new String[] {"-o", "lo", "-p", "tcp", "-m", "owner", "--uid-owner", uid,
                    "-m", "multiport", "--dports", others, "-j", "DROP"});
            rules.add(new String[] {"-o", "lo", "-p", "tcp", "-m", "connmark", "--mark", uid,
                    "-m", "multiport", "--sports", others, "-j", "DROP"});
        }
        return rules;
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    // ------------------------------------------------------------------ internals for EtcdMember

    void checkNotClosed() {
        if (closed.get()) throw new IllegalStateException("etcd cluster " + id + " is closed");
    }

    Path etcdBinary() {
        return etcdBinary;
    }

    String setprivBinary() {
        return setpriv;
    }

    String initialCluster() {
        return members.stream().map(m -> m.name() + "=" + m.peerEndpoint()).collect(Collectors.joining(","));
    }

    List<String> memberFlags() {
        List<String> flags = new ArrayList<>();
        if (config.fastElections) flags.addAll(List.of("--heartbeat-interval", "20", "--election-timeout", "200"));
        if (config.unsafeNoFsync) flags.add("--unsafe-no-fsync");
        flags.addAll(config.extraFlags);
        return flags;
    }

    /** The client TLS settings, or {@code null}. */
    ClientTls clientTls() {
        return config.tls;
    }

    /** {@code https} with {@link Builder#clientTls}, else {@code http}. */
    String clientScheme() {
        return config.tls == null ? "http" : "https";
    }

    /** The HTTP client of the testkit's probes ({@code /health}, {@code /metrics}): TLS ones when the cluster uses TLS. */
    java.net.http.HttpClient http() {
        java.net.http.HttpClient c = http;
        if (c == null) {
            c = config.tls == null ? Http.plain()
                    : Http.tls(config.tls.trustedCa(), config.tls.clientCertFile(), config.tls.clientKeyFile());
            http = c;
        }
        return c;
    }

    private List<EtcdMember> requireMembers() {
        List<EtcdMember> ms = members;
        if (ms.isEmpty()) throw new IllegalStateException("etcd cluster " + id + " is not started");
        return ms;
    }

    private void createClusterDir() {
        try {
            Files.createDirectories(clusterDir);
            // Members may run as other uids: they need to traverse down to their own data dir.
            Files.setPosixFilePermissions(clusterDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + clusterDir, e);
        }
    }

    static Path resolveEtcdBinary(Path explicit) {
        if (explicit != null) {
            if (!Files.isExecutable(explicit)) {
                throw new EtcdClusterException("etcd binary " + explicit + " does not exist or is not executable");
            }
            return explicit;
        }
        String env = System.getenv("ETCD_BINARY");
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env);
            if (!Files.isExecutable(p)) {
                throw new EtcdClusterException("ETCD_BINARY=" + env + " does not exist or is not executable");
            }
            return p;
        }
        return Procs.which("etcd").orElseThrow(() -> new EtcdClusterException(
                "no etcd binary: set ETCD_BINARY or put etcd on PATH (Debian/Ubuntu: apt-get install etcd-server)"));
    }

    // ------------------------------------------------------------------ builder

    record Config(int members, boolean fastElections, boolean unsafeNoFsync, List<String> extraFlags, Path etcdBinary,
                  Duration startTimeout, boolean proxies, ClientTls tls) {}

    /** TLS on the client port: the server's certificate, the CA, and the client certificate of our own probes. */
    record ClientTls(Path trustedCa, Path certFile, Path keyFile, Path clientCertFile, Path clientKeyFile) {}

    /** Builds an {@link EtcdCluster}; reusable (each {@link #build()} makes a new, unstarted cluster). */
    public static final class Builder {
        private int members = 1;
        private boolean fastElections;
        private boolean unsafeNoFsync;
        private final List<String> flags = new ArrayList<>();
        private Path etcdBinary;
        private Duration startTimeout = Duration.ofSeconds(30);
        private boolean proxies = true;
        private ClientTls tls;

        Builder() {}

        /** Number of members, 1 to 5 (default 1). */
        public Builder members(int n) {
            if (n < 1 || n > 5) throw new IllegalArgumentException("members must be 1..5, got " + n);
            this.members = n;
            return this;
        }

        /**
         * {@code --heartbeat-interval 20 --election-timeout 200}: a new leader in well under a second, and 1 s lease
         * TTLs granted as 1 s (the default 1000 ms election timeout makes the minimum TTL 2 s).
         */
        public Builder fastElections() {
            this.fastElections = true;
            return this;
        }

        /** {@code --unsafe-no-fsync}: faster, never for claims about durability. Default false. */
        public Builder unsafeNoFsync(boolean on) {
            this.unsafeNoFsync = on;
            return this;
        }

        /** An extra etcd flag with a value, passed to every member, e.g. {@code flag("--auth-token", "simple")}. */
        public Builder flag(String name, String value) {
            checkFlag(name);
            flags.add(name);
            flags.add(Objects.requireNonNull(value, "value"));
            return this;
        }

        /** An extra etcd flag without a value, e.g. {@code flag("--enable-pprof")}. */
        public Builder flag(String name) {
            checkFlag(name);
            flags.add(name);
            return this;
        }

        private static void checkFlag(String name) {
            if (name == null || !name.startsWith("-") || name.isBlank()) {
                throw new IllegalArgumentException("an etcd flag starts with '--': " + name);
            }
        }

        /** The etcd binary; default {@code $ETCD_BINARY}, else {@code etcd} on {@code PATH}. */
        public Builder etcdBinary(Path binary) {
            this.etcdBinary = Objects.requireNonNull(binary, "binary");
            return this;
        }

        /** Bound for {@link EtcdCluster#start()}, member starts and {@link EtcdCluster#leader()}; default 30 s. */
        public Builder startTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("startTimeout must be positive");
            this.startTimeout = timeout;
            return this;
        }

        /** A {@link TcpProxy} in front of every client port (default true). */
        public Builder proxies(boolean on) {
            this.proxies = on;
            return this;
        }

        /**
         * Serves clients over TLS: {@code https://} client URLs with this server certificate and PKCS#8 key
         * ({@code --cert-file}, {@code --key-file}); {@code trustedCa} signs it and is what the testkit's own
         * {@code /health} and {@code /metrics} probes trust. Peers still talk plain HTTP.
         */
        public Builder clientTls(Path trustedCa, Path certFile, Path keyFile) {
            this.tls = new ClientTls(Objects.requireNonNull(trustedCa, "trustedCa"), Objects.requireNonNull(certFile, "certFile"),
                    Objects.requireNonNull(keyFile, "keyFile"), null, null);
            return this;
        }

        /**
         * With {@link #clientTls}: require a client certificate signed by the trusted CA ({@code --client-cert-auth},
         * {@code --trusted-ca-file}). The testkit's probes present this certificate and PKCS#8 key.
         */
        public Builder clientCertAuth(Path clientCertFile, Path clientKeyFile) {
            if (tls == null) throw new IllegalStateException("clientCertAuth needs clientTls first");
            this.tls = new ClientTls(tls.trustedCa(), tls.certFile(), tls.keyFile(),
                    Objects.requireNonNull(clientCertFile, "clientCertFile"), Objects.requireNonNull(clientKeyFile, "clientKeyFile"));
            return this;
        }

        /** A new cluster, not started. */
        public EtcdCluster build() {
            return new EtcdCluster(new Config(members, fastElections, unsafeNoFsync, List.copyOf(flags), etcdBinary,
                    startTimeout, proxies, tls));
        }

        /** {@code build().start()}. */
        public EtcdCluster start() {
            return build().start();
        }
    }
}
