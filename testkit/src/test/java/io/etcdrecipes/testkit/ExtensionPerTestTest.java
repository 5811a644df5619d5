package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

class ExtensionPerTestTest {

    @Nested
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    class OnAnInstanceField {
        @RegisterExtension
        final EtcdClusterExtension etcd = EtcdClusterExtension.builder().unsafeNoFsync(true).build();

        static final List<EtcdCluster> seen = new ArrayList<>();

        @Test
        @Order(1)
        void first() throws Exception {
            seen.add(etcd.cluster());
            EtcdHttp.put(etcd.endpoints(), "k", "v");
        }

        @Test
        @Order(2)
        void secondGetsAFreshCluster() throws Exception {
            seen.add(etcd.cluster());
            assertThat(seen.get(0).isClosed()).isTrue();
            assertThat(seen.get(1)).isNotSameAs(seen.get(0));
            assertThat(EtcdHttp.get(etcd.endpoints(), "k", false)).isEmpty();
        }
    }

    @Nested
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    class OnAStaticFieldWithPerTest {
        @RegisterExtension
        static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().unsafeNoFsync(true).perTest().build();

        static final List<EtcdCluster> seen = new ArrayList<>();

        @Test
        @Order(1)
        void first() {
            seen.add(etcd.cluster());
        }

        @Test
        @Order(2)
        void secondGetsAFreshCluster() {
            seen.add(etcd.cluster());
            assertThat(seen.get(0).isClosed()).isTrue();
            assertThat(seen.get(1)).isNotSameAs(seen.get(0));
        }
    }
}
