package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RestartTest {

    @Test
    void restartKeepsTheData() throws Exception {
        try (EtcdCluster cluster = EtcdCluster.builder().members(1).fastElections().start()) {
            EtcdMember m = cluster.member(0);
            int clientPort = m.clientPort();
            long pid = m.pid();
            EtcdHttp.put(m.clientEndpoint(), "survives", "stop-start");

            m.stop();
            assertThat(m.isRunning()).isFalse();
            m.start();
            assertThat(m.pid()).isNotEqualTo(pid);
            assertThat(m.clientPort()).isEqualTo(clientPort);
            assertThat(EtcdHttp.get(m.clientEndpoint(), "survives", false)).contains("stop-start");

            EtcdHttp.put(m.clientEndpoint(), "survives-kill", "yes");
            m.kill();
            m.start();
            assertThat(EtcdHttp.get(m.clientEndpoint(), "survives-kill", false)).contains("yes");

            m.restart();
            assertThat(EtcdHttp.get(m.proxiedEndpoint(), "survives", false)).contains("stop-start");
        }
    }
}
