package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class EtcdVersionTest {

    @Test
    void parsesComparesAndPrints() {
        EtcdVersion v = EtcdVersion.parse("3.5.30");
        assertThat(v).isEqualTo(new EtcdVersion(3, 5, 30));
        assertThat(v.toString()).isEqualTo("3.5.30");
        assertThat(v.line()).isEqualTo("3.5");
        assertThat(v.isAtLeast(3, 5)).isTrue();
        assertThat(v.isAtLeast(3, 5, 30)).isTrue();
        assertThat(v.isAtLeast(3, 5, 31)).isFalse();
        assertThat(v.isAtLeast(3, 6)).isFalse();
        assertThat(v.isLine(3, 5)).isTrue();
        assertThat(v.isLine(3, 4)).isFalse();
        assertThat(EtcdVersion.parse("3.4.23")).isLessThan(v);
        assertThat(EtcdVersion.parse("v3.6.0-rc.1")).isEqualTo(new EtcdVersion(3, 6, 0)).isGreaterThan(v);
        assertThatThrownBy(() -> EtcdVersion.parse("3.5")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void readsTheVersionLineOfEtcdVersionOutput() {
        String out = "etcd Version: 3.5.30\nGit SHA: Not provided\nGo Version: go1.26.4\nGo OS/Arch: linux/amd64\n";
        assertThat(EtcdVersion.fromVersionOutput(out)).contains(new EtcdVersion(3, 5, 30));
        assertThat(EtcdVersion.fromVersionOutput("command not found")).isEmpty();
    }

    @Test
    void aClusterReportsTheVersionItsServerAnswersWith() throws Exception {
        try (EtcdCluster cluster = EtcdCluster.builder().start()) {
            EtcdVersion v = cluster.version();
            assertThat(v).isEqualTo(EtcdCluster.binaryVersion());
            // GET /version: {"etcdserver":"3.5.30","etcdcluster":"3.5.0"}
            String body = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(cluster.member(0).clientEndpoint() + "/version"))
                            .timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(body).contains("\"etcdserver\":\"" + v + "\"");
        }
    }

    @Test
    void aRunThatExpectsAnotherVersionLineRefusesToStart() {
        String before = System.getProperty(EtcdCluster.EXPECTED_VERSION_PROPERTY);
        EtcdVersion actual = EtcdCluster.binaryVersion();
        System.setProperty(EtcdCluster.EXPECTED_VERSION_PROPERTY, actual.major() + "." + (actual.minor() + 1));
        try {
            assertThatThrownBy(() -> EtcdCluster.builder().start())
                    .isInstanceOf(EtcdClusterException.class)
                    .hasMessageContaining("expects etcd " + actual.major() + "." + (actual.minor() + 1))
                    .hasMessageContaining("is etcd " + actual);
        } finally {
            if (before == null) System.clearProperty(EtcdCluster.EXPECTED_VERSION_PROPERTY);
            else System.setProperty(EtcdCluster.EXPECTED_VERSION_PROPERTY, before);
        }
    }
}
