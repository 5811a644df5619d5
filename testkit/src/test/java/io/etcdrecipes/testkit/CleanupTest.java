package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.testkit.internal.Iptables;
import io.etcdrecipes.testkit.internal.Procs;
import io.etcdrecipes.testkit.internal.Registry;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CleanupTest {

    @Test
    void closeLeavesNoProcessNoDataDirAndNoIptablesChain() {
        EtcdCluster cluster = EtcdCluster.builder().members(3).fastElections().unsafeNoFsync(true).start();
        List<Long> pids = cluster.members().stream().map(EtcdMember::pid).toList();
        List<Long> starts = pids.stream().map(p -> Procs.startTicks(p).orElseThrow()).toList();
        List<Path> dirs = cluster.members().stream().map(EtcdMember::dataDir).toList();
        boolean root = EtcdCluster.isolationUnavailableReason().isEmpty();
        if (root) cluster.member(1).isolate(); // creates the cluster's iptables chain
        String chain = "ETCDRT-" + cluster.id();
        assertThat(!root || Iptables.chainExists(chain)).isTrue();

        cluster.close();
        cluster.close(); // idempotent

        for (int i = 0; i < pids.size(); i++) {
            assertThat(Procs.isSameProcessAlive(pids.get(i), starts.get(i))).as("etcd pid %s alive", pids.get(i)).isFalse();
        }
        assertThat(dirs).allMatch(d -> !Files.exists(d));
        assertThat(cluster.directory()).doesNotExist();
        assertThat(Registry.clusterRecord(cluster.id())).doesNotExist();
        assertThat(Iptables.chainExists(chain)).isFalse();
        assertThat(cluster.members()).noneMatch(EtcdMember::isRunning);
    }

    @Test
    void reaperKillsProcessesWhoseOwningJvmIsDeadAndSparesLiveOwners() throws Exception {
        EtcdCluster.reapOrphans(); // makes sure the shared dirs exist
        Process orphan = new ProcessBuilder("sleep", "300").start();
        Process owned = new ProcessBuilder("sleep", "300").start();
        Process deadOwner = new ProcessBuilder("true").start();
        assertThat(deadOwner.waitFor(5, TimeUnit.SECONDS)).isTrue();
        long deadPid = deadOwner.pid();
        Path orphanRecord = Registry.recordsDir().resolve(deadPid + "-0dead000-0.member");
        Path ownedRecord = Registry.recordsDir().resolve(Registry.OWNER_PID + "-0live000-0.member");
        try {
            Files.writeString(orphanRecord, orphan.pid() + " " + Procs.startTicks(orphan.pid()).orElseThrow() + " "
                    + deadPid + " 12345\n");
            Files.writeString(ownedRecord, owned.pid() + " " + Procs.startTicks(owned.pid()).orElseThrow() + " "
                    + Registry.OWNER_PID + " " + Registry.OWNER_START + "\n");

            EtcdCluster.reapOrphans();

            // Another JVM's reaper may have got there first: either way the orphan is dead and its record gone.
            assertThat(orphan.waitFor(5, TimeUnit.SECONDS)).as("orphan killed").isTrue();
            assertThat(orphanRecord).doesNotExist();
            assertThat(owned.isAlive()).as("a live JVM's process is spared").isTrue();
            assertThat(ownedRecord).exists();
        } finally {
            orphan.destroyForcibly();
            owned.destroyForcibly();
            Files.deleteIfExists(orphanRecord);
            Files.deleteIfExists(ownedRecord);
        }
    }

    @Test
    void watchdogKillsTheEtcdOfASigkilledJvm(@TempDir Path tmp) throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        File childLog = tmp.resolve("child.log").toFile();
        Process child = new ProcessBuilder(java.toString(), "-cp", classpath, OrphanChild.class.getName())
                .redirectError(childLog)
                .start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (java.io.IOException e) {
                    return null;
                }
            });
            String line = ready.get(40, TimeUnit.SECONDS);
            assertThat(line).as("child output; its log: %s", Files.exists(childLog.toPath()) ? Files.readString(childLog.toPath()) : "")
                    .startsWith("READY ");
            String[] parts = line.split(" ");
            long etcdPid = Long.parseLong(parts[1]);
            Path clusterDir = Path.of(parts[2]);
            long etcdStart = Procs.startTicks(etcdPid).orElseThrow();
            assertThat(Procs.isSameProcessAlive(etcdPid, etcdStart)).isTrue();

            child.destroyForcibly(); // SIGKILL: no shutdown hook runs
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
            long t0 = System.nanoTime();
            await().atMost(Duration.ofSeconds(10)).until(() -> !Procs.isSameProcessAlive(etcdPid, etcdStart));
            System.out.println("watchdog killed the orphaned etcd " + (System.nanoTime() - t0) / 1_000_000 + " ms after the JVM died");
            await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(clusterDir));
        } finally {
            child.destroyForcibly();
        }
    }
}
