package io.etcdrecipes.testkit;

import io.etcdrecipes.testkit.internal.Http;
import io.etcdrecipes.testkit.internal.Procs;
import io.etcdrecipes.testkit.internal.Registry;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One etcd server process of an {@link EtcdCluster}: fixed loopback client and peer ports, its own data dir
 * and log file, kept across {@link #stop()} / {@link #start()} so a restart is a real restart.
 *
 * <p>Faults: {@link #kill()} (SIGKILL), {@link #stop()} (SIGTERM), {@link #pause()} / {@link #resume()}
 * (SIGSTOP / SIGCONT), {@link #isolate()} / {@link #heal()} (cut from its peers, see {@link EtcdCluster}),
 * and the {@link #proxy()} in front of its client port.
 */
public final class EtcdMember {
    private static final Logger log = LoggerFactory.getLogger(EtcdMember.class);
    static final Duration EXIT_TIMEOUT = Duration.ofSeconds(10);
    static final int FAILURE_LOG_LINES = 30;

    private final EtcdCluster cluster;
    private final int index;
    private final String name;
    private final int clientPort;
    private final int peerPort;
    private final int uid; // -1: runs as this JVM's user
    private final Path memberDir;
    private final Path dataDir;
    private final Path logFile;
    private volatile Process process;
    private volatile long lastPid = -1;
    private volatile boolean paused;
    private volatile TcpProxy proxy;

    EtcdMember(EtcdCluster cluster, int index, int clientPort, int peerPort, int uid, Path memberDir) {
        this.cluster = cluster;
        this.index = index;
        this.name = "member-" + index;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.uid = uid;
        this.memberDir = memberDir;
        this.dataDir = memberDir.resolve("data");
        this.logFile = memberDir.resolve("etcd.log");
    }

    /** The etcd member name ({@code member-0}, {@code member-1}, ...). */
    public String name() {
        return name;
    }

    /** 0-based position in the cluster. */
    public int index() {
        return index;
    }

    public EtcdCluster cluster() {
        return cluster;
    }

    /** {@code http://127.0.0.1:CLIENTPORT} ({@code https} when the cluster uses client TLS): direct, not through the proxy. */
    public String clientEndpoint() {
        return cluster.clientScheme() + "://127.0.0.1:" + clientPort;
    }

    /** The proxy's endpoint; throws {@link IllegalStateException} when the cluster was built with {@code proxies(false)}. */
    public String proxiedEndpoint() {
        String e = proxy().endpoint();
        return "https".equals(cluster.clientScheme()) ? "https" + e.substring(e.indexOf(':')) : e;
    }

    /** {@code http://127.0.0.1:PEERPORT}. */
    public String peerEndpoint() {
        return "http://127.0.0.1:" + peerPort;
    }

    public int clientPort() {
        return clientPort;
    }

    public int peerPort() {
        return peerPort;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The file that receives the member's stdout and stderr (kept across restarts). */
    public Path logFile() {
        return logFile;
    }

    /** The uid the etcd process runs as (a dedicated one when this JVM is root), or -1 for this JVM's user. */
    public int uid() {
        return uid;
    }

    /** The pid of the current (or last) etcd process, -1 if never started. */
    public long pid() {
        return lastPid;
    }

    /** True while the etcd process exists (a paused member is running). */
    public boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    public boolean isPaused() {
        return paused && isRunning();
    }

    public boolean isIsolated() {
        return cluster.isIsolated(this);
    }

    /** True if the member's {@code /metrics} say {@code etcd_server_is_leader 1}; false if it does not answer within 1 s. */
    public boolean isLeader() {
        return isRunning() && Http.isLeader(clientEndpoint(), cluster.http(), Duration.ofSeconds(1));
    }

    /** True if the member's {@code /health} says {@code "health":"true"} (it is up and sees a leader). */
    public boolean isHealthy() {
        return isRunning() && Http.healthy(clientEndpoint(), cluster.http(), Duration.ofSeconds(1));
    }

    /** The TCP proxy in front of the client port; {@link IllegalStateException} when proxies are off. */
    public TcpProxy proxy() {
        TcpProxy p = proxy;
        if (p == null) {
            throw new IllegalStateException(cluster.proxiesEnabled()
                    ? "the cluster is not started, so " + name + " has no proxy yet"
                    : "this cluster was built with proxies(false): " + name + " has no proxy");
        }
        return p;
    }

    void proxy(TcpProxy p) {
        this.proxy = p;
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Starts the member (same data dir and ports) and waits until it is healthy, bounded by the cluster's start
     * timeout. Does nothing if it is running. A member that cannot see a leader (its quorum is down) will not
     * become healthy: use {@link #startNoWait()} and {@link EtcdCluster#awaitHealthy(Duration)} then.
     */
    public EtcdMember start() {
        startNoWait();
        awaitHealthy(cluster.startTimeout());
        return this;
    }

    /** Starts the etcd process without waiting for it to become healthy. Does nothing if it is running. */
    public synchronized EtcdMember startNoWait() {
        cluster.checkNotClosed();
        if (isRunning()) return this;
        launch();
        log.info("Started etcd {} of cluster {} (pid {}, client {}, peer {})", name, cluster.id(), lastPid, clientPort, peerPort);
        return this;
    }

    /** SIGKILL, then waits (bounded) for the process to exit. Does nothing if it is not running. */
    public synchronized EtcdMember kill() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            forgetProcess();
            return this;
        }
        p.destroyForcibly();
        awaitExit(p, "SIGKILL");
        forgetProcess();
        log.info("Killed etcd {} of cluster {} (pid {})", name, cluster.id(), p.pid());
        return this;
    }

    /** SIGTERM, waits up to 10 s for a clean exit, then SIGKILL. Does nothing if it is not running. */
    public synchronized EtcdMember stop() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            forgetProcess();
            return this;
        }
        p.destroy();
        if (paused) Procs.signal(p.pid(), "CONT"); // a stopped process handles SIGTERM only once continued
        boolean clean = waitFor(p, EXIT_TIMEOUT);
        if (!clean) {
            log.warn("etcd {} of cluster {} ignored SIGTERM for {} s; sending SIGKILL", name, cluster.id(), EXIT_TIMEOUT.toSeconds());
            p.destroyForcibly();
            awaitExit(p, "SIGKILL");
        }
        forgetProcess();
        log.info("Stopped etcd {} of cluster {} (pid {}, exit {})", name, cluster.id(), p.pid(), p.exitValue());
        return this;
    }

    /** {@link #stop()} then {@link #start()}: same data dir and ports. */
    public EtcdMember restart() {
        stop();
        return start();
    }

    /** SIGSTOP: the process freezes (its sockets stay open, nothing answers). */
    public synchronized EtcdMember pause() {
        Process p = requireRunning("pause");
        if (!Procs.signal(p.pid(), "STOP")) throw new EtcdClusterException("cannot SIGSTOP " + name + " (pid " + p.pid() + ")");
        paused = true;
        log.info("Paused etcd {} of cluster {} (SIGSTOP pid {})", name, cluster.id(), p.pid());
        return this;
    }

    /** SIGCONT. */
    public synchronized EtcdMember resume() {
        Process p = requireRunning("resume");
        if (!Procs.signal(p.pid(), "CONT")) throw new EtcdClusterException("cannot SIGCONT " + name + " (pid " + p.pid() + ")");
        paused = false;
        log.info("Resumed etcd {} of cluster {} (SIGCONT pid {})", name, cluster.id(), p.pid());
        return this;
    }

    /**
     * Cuts this member off from every peer, in both directions; clients still reach it. Needs root and iptables
     * ({@link UnsupportedOperationException} saying why otherwise). See {@link EtcdCluster} for the design.
     */
    public EtcdMember isolate() {
        cluster.isolate(this);
        return this;
    }

    /** Undoes {@link #isolate()}. Does nothing if it is not isolated. */
    public EtcdMember heal() {
        cluster.heal(this);
        return this;
    }

    /** Waits until the member answers {@code /health} with true; on timeout the exception carries its last log lines. */
    public EtcdMember awaitHealthy(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Process p = process;
            if (p == null || !p.isAlive()) {
                throw new EtcdClusterException(failureMessage(p == null
                        ? "is not running"
                        : "exited with code " + exitCodeOf(p) + " before becoming healthy"));
            }
            if (Http.healthy(clientEndpoint(), cluster.http(), Duration.ofMillis(500))) return this;
            if (System.nanoTime() > deadline) {
                throw new EtcdClusterException(failureMessage("did not become healthy within " + timeout.toMillis() + " ms"
                        + (paused ? " (it is paused)" : "") + (isIsolated() ? " (it is isolated)" : "")));
            }
            pollPause();
        }
    }

    /** The last {@code n} lines of the member's log (stdout and stderr of every run). */
    public List<String> lastLogLines(int n) {
        if (n <= 0 || !Files.exists(logFile)) return List.of();
        try (RandomAccessFile f = new RandomAccessFile(logFile.toFile(), "r")) {
            long len = f.length();
            long window = Math.min(len, Math.max(64 * 1024L, n * 1024L));
            byte[] buf = new byte[(int) window];
            f.seek(len - window);
            f.readFully(buf);
            List<String> lines = new String(buf, StandardCharsets.UTF_8).lines().toList();
            if (window < len && !lines.isEmpty()) lines = lines.subList(1, lines.size()); // first line may be cut
            return new ArrayList<>(lines.subList(Math.max(0, lines.size() - n), lines.size()));
        } catch (IOException e) {
            return List.of("(cannot read " + logFile + ": " + e + ")");
        }
    }

    @Override
    public String toString() {
        return "EtcdMember[" + name + " of " + cluster.id() + ", client " + clientPort + ", peer " + peerPort
                + (isRunning() ? ", pid " + lastPid : ", not running") + (paused ? ", paused" : "") + "]";
    }

    // ------------------------------------------------------------------ internals

    String failureMessage(String what) {
        List<String> lines = lastLogLines(FAILURE_LOG_LINES);
        StringBuilder sb = new StringBuilder("etcd ").append(name).append(" of cluster ").append(cluster.id())
                .append(" (client port ").append(clientPort).append(", peer port ").append(peerPort).append(") ")
                .append(what).append(". Last ").append(lines.size()).append(" lines of ").append(logFile).append(':');
        for (String line : lines) sb.append("\n  ").append(line);
        return sb.toString();
    }

    boolean logMentionsAddressInUse() {
        return lastLogLines(200).stream().anyMatch(l -> l.contains("address already in use"));
    }

    /** Creates the member dir, the data dir (owned by the member's uid) and the log file. */
    void prepareDirs() {
        try {
            Files.createDirectories(memberDir);
            Files.setPosixFilePermissions(memberDir, PosixFilePermissions.fromString("rwxr-xr-x"));
            if (!Files.exists(dataDir)) {
                Files.createDirectory(dataDir);
            }
            Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
            if (uid >= 0) {
                Files.setAttribute(dataDir, "unix:uid", uid);
                Files.setAttribute(dataDir, "unix:gid", uid);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + memberDir, e);
        }
    }

    private void launch() {
        prepareDirs();
        List<String> cmd = new ArrayList<>();
        if (uid >= 0) {
            cmd.addAll(List.of(cluster.setprivBinary(), "--reuid=" + uid, "--regid=" + uid, "--clear-groups"));
        }
        cmd.add(cluster.etcdBinary().toString());
        cmd.addAll(List.of(
                "--name", name,
                "--data-dir", dataDir.toString(),
                "--listen-client-urls", clientEndpoint(),
                "--advertise-client-urls", clientEndpoint(),
                "--listen-peer-urls", peerEndpoint(),
                "--initial-advertise-peer-urls", peerEndpoint(),
                "--initial-cluster", cluster.initialCluster(),
                "--initial-cluster-token", "etcd-testkit-" + cluster.id(),
                "--initial-cluster-state", "new",
                "--logger", "zap",
                "--log-outputs", "stderr"));
        cmd.addAll(tlsFlags());
        cmd.addAll(cluster.memberFlags());
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(memberDir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                // To a file, never a pipe: a full pipe would block etcd.
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        Map<String, String> env = pb.environment();
        // etcd reads ETCD_* variables as flags and refuses ones that clash with our flags.
        env.keySet().removeIf(k -> k.startsWith("ETCD_") && !k.equals("ETCD_UNSUPPORTED_ARCH"));
        try {
            Files.writeString(logFile, "---- testkit: starting " + name + ": " + String.join(" ", cmd) + "\n",
                    StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            Process p = pb.start();
            process = p;
            lastPid = p.pid();
            paused = false;
            Registry.recordMember(cluster.id(), index, p.pid());
        } catch (IOException e) {
            throw new EtcdClusterException("cannot start etcd " + name + " of cluster " + cluster.id() + ": " + e.getMessage(), e);
        }
    }

    /**
     * With client TLS: copies the server certificate, key and CA into the member's dir, readable only by the
     * member's uid (it may not read the caller's files), and returns the flags that point etcd at the copies.
     */
    private List<String> tlsFlags() {
        EtcdCluster.ClientTls tls = cluster.clientTls();
        if (tls == null) return List.of();
        Path dir = memberDir.resolve("tls");
        try {
            Files.createDirectories(dir);
            List<String> flags = new ArrayList<>(List.of(
                    "--cert-file", copyForMember(tls.certFile(), dir.resolve("server.crt")).toString(),
                    "--key-file", copyForMember(tls.keyFile(), dir.resolve("server.key")).toString()));
            Path ca = copyForMember(tls.trustedCa(), dir.resolve("ca.crt"));
            if (tls.clientCertFile() != null) flags.addAll(List.of("--client-cert-auth", "--trusted-ca-file", ca.toString()));
            if (uid >= 0) {
                Files.setAttribute(dir, "unix:uid", uid);
                Files.setAttribute(dir, "unix:gid", uid);
            }
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            return flags;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the TLS files for " + name, e);
        }
    }

    private Path copyForMember(Path from, Path to) throws IOException {
        if (Files.exists(to)) Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rw-------"));
        Files.copy(from, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        if (uid >= 0) {
            Files.setAttribute(to, "unix:uid", uid);
            Files.setAttribute(to, "unix:gid", uid);
        }
        Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("r--------"));
        return to;
    }

    /** Kills without taking the member's lock (for close() and the shutdown hook). */
    void forceKill() {
        Process p = process;
        if (p != null && p.isAlive()) {
            p.destroyForcibly();
        }
    }

    void awaitKilled() {
        Process p = process;
        if (p != null) {
            waitFor(p, EXIT_TIMEOUT);
            if (!p.isAlive()) forgetProcess();
        }
    }

    private void forgetProcess() {
        paused = false;
        Registry.forgetMember(cluster.id(), index);
    }

    private Process requireRunning(String action) {
        Process p = process;
        if (p == null || !p.isAlive()) throw new IllegalStateException("cannot " + action + " " + name + ": it is not running");
        return p;
    }

    private void awaitExit(Process p, String signal) {
        if (!waitFor(p, EXIT_TIMEOUT)) {
            throw new EtcdClusterException("etcd " + name + " (pid " + p.pid() + ") did not exit within "
                    + EXIT_TIMEOUT.toSeconds() + " s of " + signal);
        }
    }

    private static boolean waitFor(Process p, Duration timeout) {
        try {
            return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !p.isAlive();
        }
    }

    private static String exitCodeOf(Process p) {
        try {
            return Integer.toString(p.exitValue());
        } catch (IllegalThreadStateException e) {
            return "?";
        }
    }

    static void pollPause() {
        try {
            TimeUnit.MILLISECONDS.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EtcdClusterException("interrupted while waiting for etcd", e);
        }
    }
}
