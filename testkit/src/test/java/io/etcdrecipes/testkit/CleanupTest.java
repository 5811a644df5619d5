package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.testkit.internal.Iptables;
import io.etcdrecipes.testkit.internal.Procs;
import io.etcdrecipes.testkit.internal.Registry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CleanupTest {

    @Test
    @NeedsIsolation
    void closeLeavesNoProcessNoDataDirAndNoIptablesChain() {
        EtcdCluster cluster = EtcdCluster.builder().members(3).fastElections().unsafeNoFsync(true).start();
        List<Long> pids = cluster.members().stream().map(EtcdMember::pid).toList();
        List<Long> starts = pids.stream().map(p -> Procs.startTicks(p).orElseThrow()).toList();
        List<Path> dirs = cluster.members().stream().map(EtcdMember::dataDir).toList();
        cluster.member(1).isolate(); // creates the cluster's iptables chain
        String chain = "ETCDRT-" + cluster.id();
        assertThat(Iptables.chainExists(chain)).isTrue();

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
    void watchdogKillsTheEtcdOfASigkilledJvm() {
        try (ChildJvm child = ChildJvm.start(OrphanChild.class)) {
            String[] parts = child.awaitLine("READY ", Timing.seconds(40)).split(" ");
            long etcdPid = Long.parseLong(parts[1]);
            Path clusterDir = Path.of(parts[2]);
            long etcdStart = Procs.startTicks(etcdPid).orElseThrow();
            assertThat(Procs.isSameProcessAlive(etcdPid, etcdStart)).isTrue();

            child.kill(); // SIGKILL to the JVM alone: no shutdown hook runs, its etcd is orphaned
            long t0 = System.nanoTime();
            await().atMost(Duration.ofSeconds(10)).until(() -> !Procs.isSameProcessAlive(etcdPid, etcdStart));
            System.out.println("watchdog killed the orphaned etcd " + (System.nanoTime() - t0) / 1_000_000 + " ms after the JVM died");
            await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(clusterDir));
        }
    }
}
