package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ClusterStartTest {

    @Test
    void threeMemberClusterStartsInUnderTenSecondsAndEveryMemberIsHealthy() throws Exception {
        EtcdCluster cluster = EtcdCluster.builder().members(3).build();
        try (cluster) {
            long t0 = System.nanoTime();
            cluster.start();
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            System.out.println("3-member cluster start() took " + took.toMillis() + " ms (default election timeout)");
            assertThat(took).isLessThan(Duration.ofSeconds(10));

            assertThat(cluster.members()).hasSize(3);
            for (EtcdMember m : cluster.members()) {
                assertThat(m.isRunning()).isTrue();
                assertThat(m.isHealthy()).as("%s healthy", m.name()).isTrue();
                assertThat(EtcdHttp.health(m.clientEndpoint(), Duration.ofSeconds(2))).contains("\"health\":\"true\"");
                assertThat(EtcdHttp.health(m.proxiedEndpoint(), Duration.ofSeconds(2))).contains("\"health\":\"true\"");
                assertThat(m.pid()).isPositive();
                assertThat(m.dataDir()).isDirectory();
            }
            assertThat(cluster.clientEndpoints()).allMatch(e -> e.matches("http://127\\.0\\.0\\.1:\\d+"));
            assertThat(cluster.endpoints()).isEqualTo(String.join(",", cluster.clientEndpoints()));
            assertThat(cluster.proxiedEndpoints()).doesNotContainAnyElementsOf(cluster.clientEndpoints());
            assertThat(cluster.members().stream().filter(EtcdMember::isLeader)).hasSize(1);
            assertThat(cluster.leader().isLeader()).isTrue();

            EtcdHttp.put(cluster.member(0).clientEndpoint(), "greeting", "hello");
            assertThat(EtcdHttp.get(cluster.member(2).proxiedEndpoint(), "greeting", false)).contains("hello");
        }
    }

    @Test
    void builderRejectsBadMemberCounts() {
        assertThatThrownBy(() -> EtcdCluster.builder().members(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EtcdCluster.builder().members(6)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EtcdCluster.builder().flag("no-dashes")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void missingBinaryIsAClearError() {
        assertThatThrownBy(() -> EtcdCluster.builder().etcdBinary(Path.of("/nonexistent/etcd")).start())
                .isInstanceOf(EtcdClusterException.class)
                .hasMessageContaining("/nonexistent/etcd");
    }

    @Test
    void failureToStartShowsTheMembersLog() {
        EtcdCluster cluster = EtcdCluster.builder().flag("--no-such-etcd-flag").build();
        assertThatThrownBy(cluster::start)
                .isInstanceOf(EtcdClusterException.class)
                .hasMessageContaining("member-0")
                .hasMessageContaining("no-such-etcd-flag");
        assertThat(cluster.isClosed()).isTrue();
        assertThat(cluster.directory()).doesNotExist();
    }

    @Test
    void extraFlagsReachEveryMember() throws Exception {
        try (EtcdCluster cluster = EtcdCluster.builder().members(1).unsafeNoFsync(true)
                .flag("--max-request-bytes", "2048").proxies(false).start()) {
            String big = "x".repeat(4096);
            assertThat(EtcdHttp.tryPut(cluster.endpoints(), "big", big)).isFalse();
            assertThat(EtcdHttp.tryPut(cluster.endpoints(), "small", "ok")).isTrue();
            assertThatThrownBy(() -> cluster.member(0).proxy()).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("proxies(false)");
        }
    }
}
