package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@NeedsIsolation
class IsolationTest {

    @RegisterExtension
    final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections().unsafeNoFsync(true).build();

    @Test
    void anIsolatedLeaderStepsDownTheRestElectANewOneAndItCatchesUpAfterHeal() throws Exception {
        EtcdCluster cluster = etcd.cluster();
        EtcdMember old = cluster.leader();
        List<EtcdMember> rest = cluster.members().stream().filter(m -> m != old).toList();
        EtcdHttp.put(old.clientEndpoint(), "before", "1");

        old.isolate();
        assertThat(old.isIsolated()).isTrue();
        long t0 = System.nanoTime();
        await().atMost(Duration.ofSeconds(5)).until(() -> EtcdHttp.reportsFollower(old.clientEndpoint()));
        assertThat(old.isLeader()).isFalse();
        System.out.println("isolated leader stepped down after " + (System.nanoTime() - t0) / 1_000_000 + " ms");

        await().atMost(Duration.ofSeconds(10)).until(() -> rest.stream().filter(EtcdMember::isLeader).count() == 1);
        EtcdMember next = cluster.leader();
        assertThat(next).isIn(rest);

        // Writes through the majority succeed...
        await().atMost(Duration.ofSeconds(10)).until(() -> EtcdHttp.tryPut(rest.get(0).clientEndpoint(), "during", "2"));
        assertThat(EtcdHttp.get(rest.get(1).clientEndpoint(), "during", false)).contains("2");
        // ... and do not reach the isolated member (a real partition), which clients still reach.
        assertThat(EtcdHttp.get(old.clientEndpoint(), "before", true)).contains("1");
        assertThat(EtcdHttp.tryGet(old.clientEndpoint(), "during", true)).isEmpty();
        assertThat(EtcdHttp.tryPut(old.clientEndpoint(), "minority", "x")).isFalse();

        old.heal();
        assertThat(old.isIsolated()).isFalse();
        await().atMost(Duration.ofSeconds(15)).until(() -> EtcdHttp.tryGet(old.clientEndpoint(), "during", true).isPresent());
        cluster.awaitHealthy(Duration.ofSeconds(15));
        assertThat(cluster.leader()).isNotNull();
    }

    @Test
    void anIsolatedFollowerMissesWritesWhileTheMajorityCarriesOn() throws Exception {
        EtcdCluster cluster = etcd.cluster();
        EtcdMember leader = cluster.leader();
        EtcdMember follower = cluster.members().stream().filter(m -> m != leader).findFirst().orElseThrow();

        follower.isolate();
        // a peer connection the follower opened before the cut is dropped once it sends on it again: when it
        // has lost its leader (an election timeout later), nothing from the others reaches it any more
        await().atMost(Duration.ofSeconds(5)).until(() -> !follower.isHealthy());
        for (int i = 0; i < 5; i++) EtcdHttp.put(leader.clientEndpoint(), "f" + i, "v" + i);
        assertThat(EtcdHttp.tryGet(follower.clientEndpoint(), "f4", true)).isEmpty();

        follower.heal();
        await().atMost(Duration.ofSeconds(15)).until(() -> EtcdHttp.tryGet(follower.clientEndpoint(), "f4", true).isPresent());
    }
}
