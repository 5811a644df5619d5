package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class LeaderFailoverTest {

    @RegisterExtension
    final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections().unsafeNoFsync(true).build();

    @Test
    void killingTheLeaderYieldsANewLeaderAndWritesSucceedAgain() throws Exception {
        EtcdCluster cluster = etcd.cluster();
        EtcdMember old = cluster.leader();
        EtcdHttp.put(old.clientEndpoint(), "before", "1");

        old.kill();
        assertThat(old.isRunning()).isFalse();

        EtcdMember next = cluster.leader(Duration.ofSeconds(10));
        assertThat(next).isNotSameAs(old);
        EtcdMember follower = cluster.members().stream().filter(m -> m != old && m != next).findFirst().orElseThrow();
        await().atMost(Duration.ofSeconds(10)).until(() -> EtcdHttp.tryPut(follower.clientEndpoint(), "after", "2"));
        assertThat(EtcdHttp.get(next.clientEndpoint(), "after", false)).contains("2");
        assertThat(EtcdHttp.get(next.clientEndpoint(), "before", false)).contains("1");

        // The killed member comes back on the same ports and data and sees the write it missed.
        old.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> EtcdHttp.tryGet(old.clientEndpoint(), "after", true).isPresent());
    }

    @Test
    void stopIsGracefulAndTheClusterKeepsQuorum() {
        EtcdCluster cluster = etcd.cluster();
        EtcdMember m = cluster.member(1);
        m.stop();
        assertThat(m.isRunning()).isFalse();
        await().atMost(Duration.ofSeconds(10)).until(() -> EtcdHttp.tryPut(cluster.member(0).clientEndpoint(), "k", "v"));
        assertThat(m.lastLogLines(200)).anyMatch(l -> l.contains("received signal; shutting down") || l.contains("terminated"));
        m.restart();
        assertThat(m.isHealthy()).isTrue();
    }
}
