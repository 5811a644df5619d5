package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class PauseResumeTest {

    @Test
    void aPausedMemberResumesAndCatchesUp() throws Exception {
        try (EtcdCluster cluster = EtcdCluster.builder().members(3).fastElections().unsafeNoFsync(true).start()) {
            EtcdMember leader = cluster.leader();
            EtcdMember paused = cluster.members().stream().filter(m -> m != leader).findFirst().orElseThrow();
            paused.pause();
            assertThat(paused.isPaused()).isTrue();
            assertThat(paused.isRunning()).isTrue();
            assertThat(paused.isHealthy()).as("a stopped process does not answer").isFalse();

            for (int i = 0; i < 20; i++) {
                EtcdHttp.put(leader.clientEndpoint(), "while-paused-" + i, "v" + i);
            }

            paused.resume();
            assertThat(paused.isPaused()).isFalse();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertThat(EtcdHttp.tryGet(paused.clientEndpoint(), "while-paused-0", true)).contains("v0");
                assertThat(EtcdHttp.tryGet(paused.clientEndpoint(), "while-paused-19", true)).contains("v19");
            });
        }
    }
}
