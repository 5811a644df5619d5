package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A frozen member (SIGSTOP) keeps its connections open and answers nothing. A watch stream on it must
 * move to another member by itself, well before gRPC keepalive would notice, and lose no event.
 */
class WatchStallTest {

  @RegisterExtension
  final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).perTest().build();

  @Test
  void aWatchOnAFrozenMemberMovesToAnotherAndMissesNothing() throws Exception {
    // freeze a follower (a frozen leader would stall the writes too): it is listed first, so the watch
    // stream, the client's first call, goes to it
    EtcdMember follower = etcd.members().stream().filter(m -> !m.isLeader()).findFirst().orElseThrow();
    List<String> endpoints = new ArrayList<>(List.of(follower.clientEndpoint()));
    etcd.members().stream().filter(m -> m != follower).forEach(m -> endpoints.add(m.clientEndpoint()));
    try (EtcdClient client = EtcdClient.builder().endpoints(endpoints).callTimeout(Duration.ofSeconds(2))
        .build();
         EtcdClient writer = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      List<Long> seen = new CopyOnWriteArrayList<>();
      Watcher w = client.watch().watch(ByteSequence.of("stall/"), WatchOption.prefix(),
          r -> r.events().forEach(e -> seen.add(e.kv().modRevision())));
      w.created().get(10, TimeUnit.SECONDS);
      EtcdMember frozen = ServerMetrics.memberWithWatchStream(etcd.members());
      assertThat(frozen).isSameAs(follower);
      List<Long> written = new ArrayList<>();
      written.add(writer.kv().put("stall/0", "before").get(10, TimeUnit.SECONDS).header().revision());
      await().atMost(Duration.ofSeconds(5)).until(() -> seen.size() == 1);

      frozen.pause();
      try {
        writer.setEndpoints(etcd.members().stream().filter(m -> m != frozen).map(EtcdMember::clientEndpoint)
            .toArray(String[]::new));
        long pausedAt = System.nanoTime();
        for (int i = 1; i <= 5; i++) {
          written.add(writer.kv().put("stall/" + i, "during").get(10, TimeUnit.SECONDS).header().revision());
        }
        // quiet 5 s -> probe -> no answer in 2 s -> move: all events arrive well inside gRPC keepalive's 40 s
        await().atMost(Duration.ofSeconds(15)).until(() -> seen.size() == written.size());
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - pausedAt)).isLessThan(15);
        assertThat(seen).containsExactlyElementsOf(written);
      } finally {
        frozen.resume();
      }
      written.add(writer.kv().put("stall/after", "x").get(10, TimeUnit.SECONDS).header().revision());
      await().atMost(Duration.ofSeconds(5)).until(() -> seen.size() == written.size());
      assertThat(seen).containsExactlyElementsOf(written);
      w.close();
    }
  }

}
