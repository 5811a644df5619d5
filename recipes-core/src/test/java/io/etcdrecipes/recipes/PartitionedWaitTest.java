package io.etcdrecipes.recipes;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.NeedsIsolation;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * A waiter whose watch sits on a member that is then cut off from its peers: the member keeps the stream and
 * answers progress requests from its own state, so a watch that stays there waits until the partition heals. Two
 * things move it: watches require a leader by default (the member ends the stream about three election timeouts
 * after it lost its leader), and the client's health probe avoids a member that reports no leader (so even a watch
 * without the leader check moves). The negative control shows the stall when the watch has nowhere to go.
 */
@NeedsIsolation
class PartitionedWaitTest {

  private static final Logger log = LoggerFactory.getLogger(PartitionedWaitTest.class);

  @RegisterExtension
  final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).perTest().build();

  @Test
  void aWaiterWhoseWatchSitsOnACutOffMemberWakesWithinSeconds() throws Exception {
    Duration took = waitBehindAHolderWhileTheWatchersMemberIsCutOff(true, false, Timing.seconds(5));
    log.info("require-leader watch: the wait completed {} ms after the holder's key was deleted", took.toMillis());
  }

  /** Go's watches (no leader check): the client's health probe sees the member has no leader and moves the watch. */
  @Test
  void withoutTheLeaderCheckTheHealthProbeStillMovesTheWatch() throws Exception {
    Duration took = waitBehindAHolderWhileTheWatchersMemberIsCutOff(false, false, Timing.seconds(5));
    log.info("plain watch: the wait completed {} ms after the holder's key was deleted", took.toMillis());
  }

  /** The negative control: a waiter whose watch cannot leave the cut-off member (its only endpoint) hangs. */
  @Test
  void aWatchThatCannotLeaveTheCutOffMemberHangs() {
    assertThatThrownBy(() -> waitBehindAHolderWhileTheWatchersMemberIsCutOff(false, true, Timing.seconds(4)))
        .isInstanceOf(TimeoutException.class);
  }

  private Duration waitBehindAHolderWhileTheWatchersMemberIsCutOff(boolean watchRequireLeader, boolean onlyThatMember,
                                                                    Duration waitAtMost) throws Exception {
    EtcdMember only = etcd.member(1);
    try (EtcdClient holder = client(etcd.endpoints(), true);
         EtcdClient waiter = client(onlyThatMember ? only.clientEndpoint() : etcd.endpoints(), watchRequireLeader)) {
      Session hs = Session.builder(holder).ttl(Duration.ofSeconds(30)).build();
      Session ws = Session.builder(waiter).ttl(Duration.ofSeconds(30)).build();
      OwnerKey held = get(Keys.createOrGet(holder.kv(), "pwait/lock", hs.leaseId(), "holder"));
      OwnerKey mine = get(Keys.createOrGet(waiter.kv(), "pwait/lock", ws.leaseId(), "waiter"));
      assertThat(mine.isOldest()).isFalse();

      WaitForDelete wait = WaitForDelete.start(waiter.kv(), waiter.watch(), Keys.ownerPrefix(ByteSequence.of("pwait/lock")),
          mine.createRevision() - 1);
      await().atMost(Timing.seconds(10)).until(() -> wait.watching() != null);
      EtcdMember m = memberWithWatchStream();
      if (onlyThatMember) {
        assertThat(m).isSameAs(only);
      }
      m.isolate();
      try {
        await().atMost(Timing.seconds(10)).until(() -> MemberMetrics.value(m, "etcd_server_has_leader") == 0);
        // the delete goes to the others once they have a leader of their own: proposed while one of them still took the
        // cut-off member for leader, it was forwarded there and lost, and the call ran into its deadline (seen in CI)
        await().atMost(Timing.seconds(10)).until(() -> etcd.members().stream().anyMatch(x -> x != m && x.isLeader()));
        List<String> others = etcd.members().stream().filter(x -> x != m).map(EtcdMember::clientEndpoint)
            .collect(Collectors.toList());
        try (EtcdClient deleter = client(String.join(",", others), true)) {
          get(deleter.kv().delete(held.key()));
        }
        long t0 = System.nanoTime();
        wait.await(waitAtMost);
        return Duration.ofNanos(System.nanoTime() - t0);
      } finally {
        wait.close();
        m.heal();
        hs.close();
        ws.close();
      }
    }
  }

  private EtcdMember memberWithWatchStream() {
    EtcdMember[] found = new EtcdMember[1];
    await().atMost(Timing.seconds(10)).until(() -> {
      List<EtcdMember> with = etcd.members().stream()
          .filter(x -> MemberMetrics.value(x, "etcd_debugging_mvcc_watch_stream_total") > 0).toList();
      found[0] = with.size() == 1 ? with.get(0) : null;
      return found[0] != null;
    });
    return found[0];
  }

  private static EtcdClient client(String endpoints, boolean watchRequireLeader) {
    return EtcdClient.builder().endpoints(endpoints).callTimeout(Timing.seconds(5))
        .watchRequireLeader(watchRequireLeader).build();
  }
}
