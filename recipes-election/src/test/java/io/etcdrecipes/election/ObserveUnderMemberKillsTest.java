package io.etcdrecipes.election;

import static io.etcdrecipes.election.ElectionTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.recipes.Registration;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/**
 * {@link Election#observe} while the member its watch stream is on is SIGKILLed — twice: first the member that carried
 * the stream from the start (found with the members' {@code etcd_debugging_mvcc_watch_stream_total} before any other
 * client exists), then, once that one is back, the member the stream moved to (found with
 * {@code etcd_debugging_mvcc_watcher_total} at a moment when nobody else watches). Meanwhile three candidates, on a
 * client that does not use the first victim, campaign, proclaim and resign in a scripted order without waiting for the
 * observer, so some changes happen while its stream is down. The observed sequence of leaders (their values, and
 * {@code -} for "no leader") must be exactly the sequence the script made: none missing (a watch resumed from the
 * wrong revision), none twice (a resumed watch replaying), in order, with increasing revisions.
 */
class ObserveUnderMemberKillsTest {

  private static final Logger log = LoggerFactory.getLogger(ObserveUnderMemberKillsTest.class);
  private static final String NAME = "observe/kills";
  private static final int ROUNDS = 12;

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private final ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
    for (EtcdMember m : etcd.members()) {
      if (!m.isRunning()) {
        m.start();
      }
    }
  }

  @Test
  void theObserverSeesEveryLeaderAndProclaimOnceInOrderAcrossKillsOfItsWatchMember() throws Exception {
    assertThat(MemberMetrics.sum(etcd.members(), "etcd_debugging_mvcc_watch_stream_total"))
        .as("no watch stream before the observer's").isZero();
    List<String> observed = new CopyOnWriteArrayList<>();
    List<Long> revisions = new CopyOnWriteArrayList<>();
    List<EtcdException> failures = new CopyOnWriteArrayList<>();
    Session observerSession = t.session();
    Registration observer = Election.create(observerSession, NAME).observe(new LeaderListener() {
      @Override
      public void leaderChanged(LeaderInfo leader) {
        observed.add(leader.valueUtf8());
        revisions.add(leader.revision());
      }

      @Override
      public void noLeader(long revision) {
        observed.add("-");
        revisions.add(revision);
      }

      @Override
      public void observationFailed(EtcdException error) {
        failures.add(error);
      }
    });
    t.closeLater(observer);
    List<String> expected = new ArrayList<>(List.of("-"));
    await().atMost(Timing.seconds(5)).until(() -> observed.size() == 1);
    EtcdMember first = onlyMemberWith("etcd_debugging_mvcc_watch_stream_total");

    // the candidates' client avoids the first victim, so the script's own calls are not what the kill disturbs
    String others = etcd.members().stream().filter(m -> m != first).map(EtcdMember::clientEndpoint)
        .collect(Collectors.joining(","));
    EtcdClient c = t.client(others, Timing.seconds(5));
    List<Election> candidates = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      // ONLY_LOST and a long TTL: a kill must not end their terms; only the observer is under test
      candidates.add(Election.create(t.session(c, Duration.ofSeconds(10)), NAME, SessionPolicy.ONLY_LOST));
    }

    Leadership leader = null;
    int n = 0;
    EtcdMember second = null;
    for (int round = 0; round < ROUNDS; round++) {
      if (round == ROUNDS / 3) {
        kill(first);
      }
      if (round == 2 * ROUNDS / 3) {
        if (leader != null) { // a term watches its own key: resign, so that the observer's watch is the only one
          assertThat(leader.resign()).isTrue();
          leader = null;
          expected.add("-");
        }
        first.start();
        second = onlyMemberWith("etcd_debugging_mvcc_watcher_total"); // nobody waits now: the observer's watch
        kill(second);
      }
      Election me = candidates.get(round % 3);
      if (leader == null) {
        String v = "v" + (++n);
        leader = me.campaign(v, Timing.seconds(10));
        expected.add(v);
      }
      String p = "v" + (++n);
      leader.proclaim(p);
      expected.add(p);
      if (round % 3 == 2) { // the leader resigns with nobody waiting
        assertThat(leader.resign()).isTrue();
        leader = null;
        expected.add("-");
        continue;
      }
      Election next = candidates.get((round + 1) % 3);
      String w = "v" + (++n);
      CompletableFuture<Leadership> waiting = next.campaignAsync(w);
      await().atMost(Timing.seconds(5)).until(() -> keys(c, NAME).size() == 2);
      assertThat(waiting).isNotDone();
      assertThat(leader.resign()).isTrue();
      leader = get(waiting);
      expected.add(w);
    }
    if (leader != null) {
      assertThat(leader.resign()).isTrue();
      expected.add("-");
    }

    await().atMost(Timing.seconds(15)).until(() -> observed.size() >= expected.size() || !failures.isEmpty());
    log.info("killed {} (the observer's first watch member) and then {} (where its watch had moved); observed {} "
        + "changes: {}", first.name(), second == null ? "-" : second.name(), observed.size(), observed);
    assertThat(failures).isEmpty();
    assertThat(observed).as("every change once, in order").containsExactlyElementsOf(expected);
    for (int i = 1; i < revisions.size(); i++) {
      assertThat(revisions.get(i)).as("revision of change #%d", i).isGreaterThan(revisions.get(i - 1));
    }
    assertThat(keys(c, NAME)).isEmpty();
  }

  /** Kills {@code m} and waits until the cluster has a leader again, without waiting for the observer. */
  private static void kill(EtcdMember m) {
    log.info("killing {}{}", m.name(), m.isLeader() ? " (the etcd leader)" : "");
    m.kill();
    etcd.cluster().leader();
  }

  /** The one running member whose gauge {@code metric} is above 0 (waits until there is exactly one). */
  private static EtcdMember onlyMemberWith(String metric) {
    EtcdMember[] found = new EtcdMember[1];
    await().atMost(Timing.seconds(10)).until(() -> {
      List<EtcdMember> with = etcd.members().stream()
          .filter(m -> m.isRunning() && MemberMetrics.value(m, metric) > 0).toList();
      found[0] = with.size() == 1 ? with.get(0) : null;
      return found[0] != null;
    });
    return found[0];
  }
}
