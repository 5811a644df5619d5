package io.etcdrecipes.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit 5 extension that runs an {@link EtcdCluster} for a test class or for each test method.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections().build(); // one per class
 *
 * @RegisterExtension
 * final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();            // one per test method
 * @RegisterExtension
 * static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().perTest().build(); // also per test method
 * }</pre>
 *
 * On a static field JUnit calls {@code beforeAll}/{@code afterAll}, and the cluster lives for the class
 * (unless {@link Builder#perTest()}); on an instance field only {@code beforeEach}/{@code afterEach} are
 * called, and each test gets a fresh cluster. A cluster that fails to start fails the test with the member's
 * last log lines in the message.
 */
public final class EtcdClusterExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
    private final EtcdCluster.Builder clusterBuilder;
    private final boolean perTest;
    private volatile EtcdCluster cluster;
    private String startedForClass; // unique id of the class context that started the cluster (@Nested classes share it)
    private String startedForTest;

    private EtcdClusterExtension(EtcdCluster.Builder clusterBuilder, boolean perTest) {
        this.clusterBuilder = clusterBuilder;
        this.perTest = perTest;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public synchronized void beforeAll(ExtensionContext context) {
        if (perTest || cluster != null) return;
        cluster = clusterBuilder.start();
        startedForClass = context.getUniqueId();
    }

    @Override
    public synchronized void afterAll(ExtensionContext context) {
        if (context.getUniqueId().equals(startedForClass)) {
            closeCluster();
            startedForClass = null;
        }
    }

    @Override
    public synchronized void beforeEach(ExtensionContext context) {
        if (cluster != null) return; // the class's cluster
        cluster = clusterBuilder.start();
        startedForTest = context.getUniqueId();
    }

    @Override
    public synchronized void afterEach(ExtensionContext context) {
        if (context.getUniqueId().equals(startedForTest)) {
            closeCluster();
            startedForTest = null;
        } else if (cluster != null && !cluster.isClosed()) {
            // A class-wide cluster: undo network faults a test left behind so the next test starts clean.
            cluster.healAll();
        }
    }

    private void closeCluster() {
        EtcdCluster c = cluster;
        cluster = null;
        if (c != null) c.close();
    }

    /** The running cluster; {@link IllegalStateException} outside a test's lifetime. */
    public EtcdCluster cluster() {
        EtcdCluster c = cluster;
        if (c == null) throw new IllegalStateException("no etcd cluster: it is started before each test (or the class) and closed after");
        return c;
    }

    /** {@link EtcdCluster#endpoints()}: the direct endpoints, comma-joined. */
    public String endpoints() {
        return cluster().endpoints();
    }

    public List<String> clientEndpoints() {
        return cluster().clientEndpoints();
    }

    public List<String> proxiedEndpoints() {
        return cluster().proxiedEndpoints();
    }

    public List<EtcdMember> members() {
        return cluster().members();
    }

    public EtcdMember member(int index) {
        return cluster().member(index);
    }

    public EtcdMember leader() {
        return cluster().leader();
    }

    /** Same options as {@link EtcdCluster.Builder}, plus {@link #perTest()}. */
    public static final class Builder {
        private final EtcdCluster.Builder cluster = EtcdCluster.builder();
        private boolean perTest;

        Builder() {}

        public Builder members(int n) {
            cluster.members(n);
            return this;
        }

        public Builder fastElections() {
            cluster.fastElections();
            return this;
        }

        public Builder unsafeNoFsync(boolean on) {
            cluster.unsafeNoFsync(on);
            return this;
        }

        public Builder flag(String name, String value) {
            cluster.flag(name, value);
            return this;
        }

        public Builder flag(String name) {
            cluster.flag(name);
            return this;
        }

        public Builder etcdBinary(Path binary) {
            cluster.etcdBinary(binary);
            return this;
        }

        public Builder startTimeout(Duration timeout) {
            cluster.startTimeout(timeout);
            return this;
        }

        public Builder proxies(boolean on) {
            cluster.proxies(on);
            return this;
        }

        /** A fresh cluster for every test method, even when registered on a static field. */
        /** {@link EtcdCluster.Builder#clientTls}: https client URLs with this server certificate. */
        public Builder clientTls(Path trustedCa, Path certFile, Path keyFile) {
            cluster.clientTls(trustedCa, certFile, keyFile);
            return this;
        }

        /** {@link EtcdCluster.Builder#clientCertAuth}: require client certificates; the probes present this one. */
        public Builder clientCertAuth(Path clientCertFile, Path clientKeyFile) {
            cluster.clientCertAuth(clientCertFile, clientKeyFile);
            return this;
        }

        public Builder perTest() {
            this.perTest = true;
            return this;
        }

        public EtcdClusterExtension build() {
            return new EtcdClusterExtension(cluster, perTest);
        }
    }
}
