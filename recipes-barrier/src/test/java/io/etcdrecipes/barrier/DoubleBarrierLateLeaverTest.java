package io.etcdrecipes.barrier;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Futures;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A participant waiting to enter is told when one that entered after its own read goes away: the round can no longer
 * fill up, so it fails with {@link BarrierBrokenException} (a wait that only watched the participants of its own read
 * waited forever here). The order is made certain: the second participant enters only once the first one's watch
 * exists.
 */
class DoubleBarrierLateLeaverTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final BarrierTestSupport t = new BarrierTestSupport(etcd::endpoints, Timing.seconds(5), Duration.ofSeconds(10));

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  private Session session() throws Exception {
    return t.session();
  }

  @Test
  void aParticipantThatEnteredLaterAndLeftBreaksTheBarrierForTheOneWaitingBeforeIt() throws Exception {
    String name = "dbll/late";
    Session first = session();
    EtcdClient c = first.client();
    long watchersBefore = Math.round(MemberMetrics.value(etcd.member(0), "etcd_debugging_mvcc_watcher_total"));
    CompletableFuture<Void> waiting = DoubleBarrier.create(first, name, 3).enterAsync();
    // its read is done once its watch exists
    await().atMost(Timing.seconds(5)).until(() -> Math.round(MemberMetrics.value(etcd.member(0),
        "etcd_debugging_mvcc_watcher_total")) > watchersBefore);
    Session doomed = session();
    CompletableFuture<Void> late = DoubleBarrier.create(doomed, name, 3).enterAsync();
    await().atMost(Timing.seconds(5)).until(() -> get(c.kv().get(ByteSequence.of(name + "/waiters/"),
        GetOption.prefix())).count() == 2);
    doomed.close(); // its key goes with its lease: 2 of 3 can never become 3
    assertThat(Futures.failure(late)).isNotNull();
    assertThat(Futures.failure(waiting, Timing.seconds(5))).as("the first participant's enter")
        .isInstanceOf(BarrierBrokenException.class);
  }
}
