package io.etcdrecipes.election;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Listener callbacks that block on the same client's RPCs cannot stall the client (issue 17). On the old code the
 * callbacks ran on the fixed pool (max(2, CPUs) threads) that also completes every unary RPC: with more blocking
 * callbacks than threads none of the commits ever completed, while keep-alives (on the transport thread) kept the
 * sessions connected. Fails on the old code (no commit completes).
 */
class BlockingCallbackTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).fastElections()
      .unsafeNoFsync(true).build();

  private final ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void moreLatchesThanCpusWhoseIsLeaderBlocksOnACommitAllCommit() {
    EtcdClient c = t.client();
    int latches = Math.max(8, 4 * Runtime.getRuntime().availableProcessors());
    AtomicInteger committed = new AtomicInteger();
    for (int i = 0; i < latches; i++) {
      String name = "blocking-callback/" + i;
      LeaderLatch l = t.closeLater(LeaderLatch.builder(c, name, "n" + i).ttl(Duration.ofSeconds(5)).build());
      l.addListener(new LeaderLatchListener() {
        @Override
        public void isLeader(Leadership term) {
          // blocks a callback thread on an RPC of the same client, as a user's leader code does
          term.commit(c.kv(), Op.put(ByteSequence.of(name + "-work"), ByteSequence.of("done"))).join();
          committed.incrementAndGet();
        }

        @Override
        public void notLeader() {
        }
      });
      l.start();
    }
    await().atMost(Timing.seconds(20)).until(() -> committed.get() == latches);
    assertThat(committed.get()).isEqualTo(latches);
  }
}
