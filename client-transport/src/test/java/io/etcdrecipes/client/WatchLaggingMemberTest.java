package io.etcdrecipes.client;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.NeedsIsolation;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A watch whose stream fails over to a member that is behind what the watch already delivered (here: a member cut
 * off from its peers, with Go's behaviour of watches that do not require a leader): the lagging member's progress
 * answers would take the watch back in time, and are not passed on.
 */
class WatchLaggingMemberTest {

  @RegisterExtension
  final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).perTest().build();

  @Test
  @NeedsIsolation
  void aProgressFromALaggingMemberNeverGoesBelowWhatTheWatchDelivered() throws Exception {
    EtcdMember leader = etcd.leader();
    EtcdMember lagging = etcd.members().stream().filter(x -> x != leader).findFirst().orElseThrow();
    lagging.isolate();
    await().atMost(Timing.seconds(10)).until(() -> MemberMetrics.value(lagging, "etcd_server_has_leader") == 0);
    try (EtcdClient writer = EtcdClient.builder().endpoints(leader.clientEndpoint()).build();
         EtcdClient c = EtcdClient.builder().endpoints(leader.proxiedEndpoint()).watchRequireLeader(false).build()) {
      long rev = 0;
      for (int i = 0; i < 5; i++) { // the lagging member misses these
        rev = get(writer.kv().put("lag/k", "v" + i)).header().revision();
      }
      List<WatchResponse> seen = new CopyOnWriteArrayList<>();
      Watcher w1 = c.watch().watch(ByteSequence.of("lag/k"), WatchOption.builder().revision(rev).build(), seen::add);
      await().atMost(Timing.seconds(10)).until(() -> seen.stream().anyMatch(r -> !r.events().isEmpty()));

      // the stream moves to the lagging member
      c.setEndpoints(lagging.clientEndpoint());
      leader.proxy().reset();
      List<WatchResponse> other = new CopyOnWriteArrayList<>();
      Watcher w2 = c.watch().watch(ByteSequence.of("lag/other"), WatchOption.DEFAULT, other::add);
      get(w2.created());
      get(c.watch().requestProgress());
      await().atMost(Timing.seconds(10)).until(() -> !other.isEmpty()); // the lagging member answered

      long delivered = rev;
      assertThat(other.get(0).header().revision()).as("the lagging member's revision").isLessThan(delivered);
      assertThat(seen).allSatisfy(r -> assertThat(r.header().revision()).isGreaterThanOrEqualTo(delivered));
      w1.close();
      w2.close();
    } finally {
      lagging.heal();
    }
  }
}
