package io.etcdrecipes.testkit.internal;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared, cross-JVM bookkeeping that guarantees no etcd process outlives its test run.
 *
 * <p>Everything lives under one directory shared by every JVM on the machine
 * ({@code /tmp/etcd-recipes-testkit}, or {@code $ETCD_TESTKIT_DIR}):
 * <pre>
 *   records/&lt;jvmPid&gt;-&lt;clusterId&gt;.cluster     "jvmPid jvmStart" / cluster dir / iptables chain / ports / uid base
 *   records/&lt;jvmPid&gt;-&lt;clusterId&gt;-&lt;i&gt;.member  "etcdPid etcdStart jvmPid jvmStart"
 *   clusters/&lt;clusterId&gt;/member-&lt;i&gt;/{data,etcd.log}
 *   alloc.lock                                   file lock held while ports and uids are chosen
 * </pre>
 * A process is identified by its pid <em>and</em> its start time (field 22 of {@code /proc/PID/stat}),
 * so a reused pid is never mistaken for the recorded process.
 *
 * <p>Three layers of cleanup:
 * <ol>
 *   <li>{@code EtcdCluster.close()}, and a JVM shutdown hook that closes every cluster this JVM still has open
 *       (covers normal exit, SIGTERM, SIGINT);</li>
 *   <li>a watchdog, one small {@code sh} process per JVM started with {@code setsid} (its own session,
 *       so a signal to the JVM's process group does not take it down). It polls once a second whether the
 *       JVM (pid + start time) still exists; when it is gone (SIGKILL, OOM killer, crash) it SIGKILLs the etcd
 *       processes recorded for that JVM (again pid + start time), removes its iptables chains and data dirs,
 *       and exits. {@code PR_SET_PDEATHSIG} is deliberately not used: it fires when the spawning
 *       <em>thread</em> exits, not the JVM;</li>
 *   <li>an orphan reaper that runs when a JVM first starts a cluster (and on demand): it kills only the
 *       etcd processes whose owning JVM is dead, never those of another live JVM.</li>
 * </ol>
 * The only unguarded window is between forking etcd and writing its record (microseconds).
 *
 * <p>Not public API.
 */
public final class Registry {
    private static final Logger log = LoggerFactory.getLogger(Registry.class);

    /** Ports for etcd come from here: below Linux's ephemeral range (32768+), away from well-known services. */
    static final int PORT_MIN = 20000;
    static final int PORT_MAX = 32000;
    /** Member uids (when running as root) come in blocks of 8 from here. */
    static final int UID_MIN = 61000;
    static final int UID_BLOCKS = 500;

    public static final long OWNER_PID = ProcessHandle.current().pid();
    public static final long OWNER_START = Procs.startTicks(OWNER_PID).orElse(-1);

    private static final Object JVM_LOCK = new Object();
    private static boolean initialized;
    private static Process watchdog;
    private static final Set<Runnable> SHUTDOWN_ACTIONS = new LinkedHashSet<>();

    private Registry() {}

    public static Path baseDir() {
        String env = System.getenv("ETCD_TESTKIT_DIR");
        return Path.of(env != null && !env.isBlank() ? env : "/tmp/etcd-recipes-testkit");
    }

    public static Path recordsDir() {
        return baseDir().resolve("records");
    }

    public static Path clustersDir() {
        return baseDir().resolve("clusters");
    }

    /** Once per JVM: create the shared dirs, reap orphans of dead JVMs, start the watchdog, install the shutdown hook. */
    public static void initOnce() {
        synchronized (JVM_LOCK) {
            if (initialized) return;
            try {
                createShared(baseDir());
                createShared(recordsDir());
                createShared(clustersDir());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create " + baseDir(), e);
            }
            int reaped = reapOrphans();
            if (reaped > 0) log.info("Reaped {} orphaned etcd process(es) left by dead JVMs", reaped);
            startWatchdog();
            Runtime.getRuntime().addShutdownHook(new Thread(Registry::runShutdownActions, "etcd-testkit-shutdown"));
            initialized = true;
        }
    }

    private static void createShared(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                if (!Files.isDirectory(dir)) throw e;
            }
        }
        try {
            // World-writable and sticky like /tmp: JVMs of different users share it.
            if (Files.getOwner(dir).getName().equals(System.getProperty("user.name"))) {
                Procs.run(Duration.ofSeconds(5), "chmod", "1777", dir.toString());
            }
        } catch (IOException e) {
            // best effort
        }
    }

    public static void addShutdownAction(Runnable action) {
        synchronized (SHUTDOWN_ACTIONS) {
            SHUTDOWN_ACTIONS.add(action);
        }
    }

    public static void removeShutdownAction(Runnable action) {
        synchronized (SHUTDOWN_ACTIONS) {
            SHUTDOWN_ACTIONS.remove(action);
        }
    }

    private static void runShutdownActions() {
        List<Runnable> actions;
        synchronized (SHUTDOWN_ACTIONS) {
            actions = new ArrayList<>(SHUTDOWN_ACTIONS);
        }
        for (Runnable action : actions) {
            try {
                action.run();
            } catch (RuntimeException e) {
                log.warn("etcd testkit shutdown action failed", e);
            }
        }
    }

    // ---------------------------------------------------------------- watchdog

    /** The shell watchdog; $1 = JVM pid, $2 = its start ticks, $3 = records dir, $4 = clusters dir. */
    static final String WATCHDOG_SCRIPT = String.join("\n",
            "J=$1; S=$2; R=$3; C=$4",
            "st() { sed 's/^.*) //' /proc/$1/stat 2>/dev/null | cut -d' ' -f20; }",
            "while [ \"$(st $J)\" = \"$S\" ]; do sleep 1; done",
            "for f in \"$R\"/$J-*.member; do",
            "  [ -f \"$f\" ] || continue",
            "  read p ps o os < \"$f\"",
            "  if [ \"$o\" = \"$J\" ] && [ \"$os\" = \"$S\" ] && [ -n \"$p\" ] && [ \"$(st $p)\" = \"$ps\" ]; then kill -9 $p; fi",
            "  rm -f \"$f\"",
            "done",
            "for f in \"$R\"/$J-*.cluster; do",
            "  [ -f \"$f\" ] || continue",
            "  { read o os; read d; read ch; } < \"$f\"",
            "  if [ \"$o\" = \"$J\" ] && [ \"$os\" = \"$S\" ]; then",
            "    case \"$ch\" in ETCDRT-*) if command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ]; then",
            "      PATH=$PATH:/usr/sbin:/sbin; iptables -w 10 -D OUTPUT -o lo -j \"$ch\"; iptables -w 10 -F \"$ch\"; iptables -w 10 -X \"$ch\"; fi ;; esac",
            "    case \"$d\" in \"$C\"/*) sleep 0.2; rm -rf \"$d\" ;; esac",
            "    rm -f \"$f\"",
            "  fi",
            "done",
            "exit 0",
            "");

    private static void startWatchdog() {
        if (OWNER_START < 0) {
            log.warn("Cannot read this JVM's start time from /proc; no watchdog, orphans are reaped by the next run");
            return;
        }
        List<String> cmd = new ArrayList<>();
        Procs.which("setsid").ifPresent(p -> cmd.add(p.toString()));
        cmd.addAll(List.of("sh", "-c", WATCHDOG_SCRIPT, "etcd-testkit-watchdog",
                Long.toString(OWNER_PID), Long.toString(OWNER_START), recordsDir().toString(), clustersDir().toString()));
        try {
            watchdog = new ProcessBuilder(cmd)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            log.debug("etcd testkit watchdog pid {} watches JVM {}", watchdog.pid(), OWNER_PID);
        } catch (IOException e) {
            log.warn("Cannot start the etcd testkit watchdog; orphans are reaped by the next run", e);
        }
    }

    /** The watchdog's pid, or -1 (for tests and diagnostics). */
    public static long watchdogPid() {
        synchronized (JVM_LOCK) {
            return watchdog != null ? watchdog.pid() : -1;
        }
    }

    // ---------------------------------------------------------------- records

    /** Ports and uids chosen for one cluster. */
    public record Allocation(int[] clientPorts, int[] peerPorts, int uidBase) {}

    static boolean ownerAlive(long pid, long start) {
        return Procs.isSameProcessAlive(pid, start);
    }

    /**
     * Chooses free client and peer ports (and a uid block) for a cluster and writes its record, under a
     * file lock shared with every other JVM, so two JVMs never pick the same ports or uids.
     */
    public static Allocation allocate(String clusterId, Path clusterDir, String chain, int members, Duration timeout) {
        try (FileChannel ch = FileChannel.open(baseDir().resolve("alloc.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock = lock(ch, timeout);
            try {
                return allocateLocked(clusterId, clusterDir, chain, members);
            } finally {
                lock.release();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot allocate ports under " + baseDir(), e);
        }
    }

    private static Allocation allocateLocked(String clusterId, Path clusterDir, String chain, int members) throws IOException {
        Set<Integer> usedPorts = new HashSet<>();
        Set<Integer> usedUidBases = new HashSet<>();
        for (Path f : list(recordsDir(), "*.cluster")) {
            List<String> lines = readLines(f);
            if (lines.size() < 5) continue;
            long[] owner = parseLongs(lines.get(0));
            if (owner.length < 2 || !ownerAlive(owner[0], owner[1])) continue;
            for (long p : parseLongs(lines.get(3))) usedPorts.add((int) p);
            long[] uid = parseLongs(lines.get(4));
            if (uid.length > 0) usedUidBases.add((int) uid[0]);
        }
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        int[] client = new int[members];
        int[] peer = new int[members];
        for (int i = 0; i < members; i++) {
            client[i] = pickPort(rnd, usedPorts);
            peer[i] = pickPort(rnd, usedPorts);
        }
        int uidBase = -1;
        for (int attempt = 0; attempt < 1000 && uidBase < 0; attempt++) {
            int candidate = UID_MIN + 8 * rnd.nextInt(UID_BLOCKS);
            if (!usedUidBases.contains(candidate)) uidBase = candidate;
        }
        if (uidBase < 0) throw new IllegalStateException("no free uid block for etcd members");
        StringBuilder ports = new StringBuilder();
        for (int i = 0; i < members; i++) ports.append(client[i]).append(' ').append(peer[i]).append(' ');
        writeAtomically(clusterRecord(clusterId), OWNER_PID + " " + OWNER_START + "\n" + clusterDir + "\n" + chain + "\n"
                + ports.toString().trim() + "\n" + uidBase + "\n");
        return new Allocation(client, peer, uidBase);
    }

    private static FileLock lock(FileChannel ch, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            FileLock lock;
            // FileLock is held per JVM: another thread of this JVM holding it shows up as OverlappingFileLockException.
            synchronized (Registry.class) {
                try {
                    lock = ch.tryLock();
                } catch (java.nio.channels.OverlappingFileLockException e) {
                    lock = null;
                }
            }
            if (lock != null) return lock;
            if (System.nanoTime() > deadline) {
                throw new IOException("timed out after " + timeout + " waiting for " + baseDir().resolve("alloc.lock"));
            }
            try {
                TimeUnit.MILLISECONDS.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the allocation lock", e);
            }
        }
    }

    private static int pickPort(ThreadLocalRandom rnd, Set<Integer> used) {
        for (int attempt = 0; attempt < 2000; attempt++) {
            int port = rnd.nextInt(PORT_MIN, PORT_MAX);
            if (used.contains(port) || !bindable(port)) continue;
            used.add(port);
            return port;
        }
        throw new IllegalStateException("no free loopback port in " + PORT_MIN + ".." + PORT_MAX);
    }

    static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            // Go sets SO_REUSEADDR on listeners, so a port in TIME_WAIT is fine for etcd: check the same way.
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public static Path clusterRecord(String clusterId) {
        return recordsDir().resolve(OWNER_PID + "-" + clusterId + ".cluster");
    }

    static Path memberRecord(String clusterId, int index) {
        return recordsDir().resolve(OWNER_PID + "-" + clusterId + "-" + index + ".member");
    }

    /** Records a started etcd process as owned by this JVM. */
    public static void recordMember(String clusterId, int index, long pid) {
        long start = Procs.startTicks(pid).orElse(-1);
        try {
            writeAtomically(memberRecord(clusterId, index), pid + " " + start + " " + OWNER_PID + " " + OWNER_START + "\n");
        } catch (IOException e) {
            log.warn("Cannot record etcd pid {}: it would not be reaped if this JVM died", pid, e);
        }
    }

    public static void forgetMember(String clusterId, int index) {
        deleteQuietly(memberRecord(clusterId, index));
    }

    public static void forgetCluster(String clusterId) {
        deleteQuietly(clusterRecord(clusterId));
    }

    // ---------------------------------------------------------------- reaping

    /**
     * Kills etcd processes recorded by JVMs that are dead (pid gone, or reused by a process with another
     * start time), removes their iptables chains, data dirs and records. Records of live JVMs are left alone.
     *
     * @return how many processes were killed
     */
    public static int reapOrphans() {
        int killed = 0;
        for (Path f : list(recordsDir(), "*.member")) {
            long[] v = parseLongs(firstLine(f));
            if (v.length < 4) {
                if (olderThan(f, Duration.ofMinutes(1))) deleteQuietly(f);
                continue;
            }
            if (ownerAlive(v[2], v[3])) continue;
            long pid = v[0];
            if (Procs.isSameProcessAlive(pid, v[1])) {
                log.info("Killing orphaned etcd pid {} (its JVM {} is gone), record {}", pid, v[2], f.getFileName());
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                awaitGone(pid, v[1], Duration.ofSeconds(5));
                killed++;
            }
            deleteQuietly(f);
        }
        for (Path f : list(recordsDir(), "*.cluster")) {
            List<String> lines = readLines(f);
            long[] owner = lines.isEmpty() ? new long[0] : parseLongs(lines.get(0));
            if (owner.length < 2) {
                if (olderThan(f, Duration.ofMinutes(1))) deleteQuietly(f);
                continue;
            }
            if (ownerAlive(owner[0], owner[1])) continue;
            if (lines.size() > 2 && Iptables.isOurChainName(lines.get(2).trim()) && Procs.currentUid() == 0) {
                Iptables.removeChain(lines.get(2).trim());
            }
            if (lines.size() > 1) {
                Path dir = Path.of(lines.get(1).trim());
                if (dir.startsWith(clustersDir()) && !dir.equals(clustersDir())) deleteTree(dir);
            }
            deleteQuietly(f);
        }
        return killed;
    }

    static boolean awaitGone(long pid, long start, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (Procs.isSameProcessAlive(pid, start)) {
            if (System.nanoTime() > deadline) return false;
            try {
                TimeUnit.MILLISECONDS.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- file helpers

    static List<Path> list(Path dir, String glob) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, glob)) {
            ds.forEach(out::add);
        } catch (IOException e) {
            log.debug("cannot list {}", dir, e);
        }
        return out;
    }

    static List<String> readLines(Path f) {
        try {
            return Files.readAllLines(f, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return List.of();
        }
    }

    static String firstLine(Path f) {
        List<String> lines = readLines(f);
        return lines.isEmpty() ? "" : lines.get(0);
    }

    static long[] parseLongs(String line) {
        String t = line.trim();
        if (t.isEmpty()) return new long[0];
        String[] parts = t.split("\\s+");
        long[] out = new long[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) out[i] = Long.parseLong(parts[i]);
        } catch (NumberFormatException e) {
            return new long[0];
        }
        return out;
    }

    private static boolean olderThan(Path f, Duration age) {
        try {
            return Files.getLastModifiedTime(f).toMillis() < System.currentTimeMillis() - age.toMillis();
        } catch (IOException e) {
            return false;
        }
    }

    static void writeAtomically(Path target, String content) throws IOException {
        Path tmp = target.resolveSibling(".tmp-" + target.getFileName() + "-" + System.nanoTime());
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static void deleteQuietly(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException e) {
            log.debug("cannot delete {}", f, e);
        }
    }

    /** Deletes a directory tree; returns false if something was left. */
    public static boolean deleteTree(Path dir) {
        if (!Files.exists(dir)) return true;
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    try {
                        Files.delete(file);
                    } catch (NoSuchFileException e) {
                        // gone already
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    try {
                        Files.delete(d);
                    } catch (NoSuchFileException e) {
                        // gone already
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            log.warn("Cannot delete {} fully: {}", dir, e.toString());
        }
        return !Files.exists(dir);
    }
}
