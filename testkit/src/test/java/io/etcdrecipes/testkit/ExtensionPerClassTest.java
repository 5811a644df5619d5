package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ExtensionPerClassTest {

    @RegisterExtension
    static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().unsafeNoFsync(true).build();

    static final List<EtcdCluster> seen = new ArrayList<>();

    @Test
    @Order(1)
    void first() throws Exception {
        seen.add(etcd.cluster());
        EtcdHttp.put(etcd.endpoints(), "shared", "across-tests");
    }

    @Test
    @Order(2)
    void secondSeesTheSameCluster() throws Exception {
        seen.add(etcd.cluster());
        assertThat(seen).hasSize(2);
        assertThat(seen.get(1)).isSameAs(seen.get(0));
        assertThat(EtcdHttp.get(etcd.endpoints(), "shared", false)).contains("across-tests");
    }
}
