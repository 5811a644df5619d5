package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class EtcdctlTest {
    @RegisterExtension
    static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().unsafeNoFsync(true).build();

    private static final Duration WAIT = Timing.seconds(10);
    private static Etcdctl etcdctl;

    @BeforeAll
    static void create() {
        etcdctl = new Etcdctl(etcd.endpoints());
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    @Test
    void runKeysAndCount() {
        assertThat(etcdctl.run("put", "ctl/b", "2")).contains("OK");
        etcdctl.run("put", "ctl/a", "1");
        etcdctl.run("put", "ctl/c", "3");
        assertThat(etcdctl.keys("ctl/", "--prefix")).containsExactly("ctl/a", "ctl/b", "ctl/c");
        assertThat(etcdctl.keys("ctl/", "--prefix", "--limit", "2")).containsExactly("ctl/a", "ctl/b");
        assertThat(etcdctl.count("ctl/", "--prefix", "--keys-only")).isEqualTo(3);
        assertThat(etcdctl.keys("none/", "--prefix")).isEmpty();
        assertThat(etcdctl.count("none/", "--prefix")).isZero();
        assertThat(etcdctl.run("get", "ctl/a", "--print-value-only").trim()).isEqualTo("1");
    }

    @Test
    void aFailingCommandFailsTheTestWithItsOutput() {
        assertThatThrownBy(() -> etcdctl.run("lease", "revoke", "abc123"))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("etcdctl failed (exit ")
                .hasMessageContaining("lease revoke abc123")
                .hasMessageContaining("lease not found");
    }

    @Test
    void globalFlagsGoBeforeEveryCommand() {
        Etcdctl json = etcdctl.withFlags("-w", "json");
        assertThat(json.run("endpoint", "status")).contains("\"Endpoint\"");
        assertThat(json.toString()).endsWith("-w json");
    }

    @Test
    void aLockHolderPeerPrintsItsKeyAndUnlocksOnInterrupt() {
        try (ChildProcess holder = etcdctl.start("lock", "ctl/lock")) {
            String key = holder.awaitLine(WAIT);
            assertThat(key).startsWith("ctl/lock/");
            assertThat(etcdctl.keys("ctl/lock/", "--prefix")).containsExactly(key);
            holder.interrupt();
            assertThat(holder.awaitExit(WAIT)).isZero();
            assertThat(etcdctl.keys("ctl/lock/", "--prefix")).isEmpty();
        }
    }

    @Test
    void closingAPeerKillsItAndTheCommandItRuns() {
        ChildProcess holder = etcdctl.start("lock", "ctl/cmd", "--", "sh", "-c", "echo $$; exec sleep 300");
        long sleeper = Long.parseLong(holder.awaitLine(WAIT)); // the command runs once etcdctl holds the lock
        assertThat(alive(sleeper)).isTrue();
        holder.close();
        assertThat(holder.isAlive()).isFalse();
        await().atMost(WAIT).until(() -> !alive(sleeper));
    }

    @Test
    void aPausedPeerLosesItsLockWhenItsLeaseExpires() {
        try (ChildProcess holder = etcdctl.start("lock", "--ttl", "2", "ctl/paused")) {
            String key = holder.awaitLine(WAIT);
            assertThat(key).startsWith("ctl/paused/");
            holder.pause(); // its keep-alives stop
            await().atMost(WAIT).until(() -> etcdctl.keys("ctl/paused/", "--prefix").isEmpty());
            holder.resume();
            assertThat(holder.awaitExit(WAIT)).as("etcdctl lock exits when it finds its session gone").isNotZero();
        }
    }
}
