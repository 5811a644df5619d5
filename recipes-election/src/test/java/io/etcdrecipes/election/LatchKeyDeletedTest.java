package io.etcdrecipes.election;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A LeaderLatch whose key is deleted by someone else (issue 17): on the old code the old leader kept
 * {@code hasLeadership() == true} for ever next to the new one and never heard {@code notLeader}. Now it is told,
 * and campaigns again behind the new leader. Fails on the old code.
 */
class LatchKeyDeletedTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).fastElections()
      .unsafeNoFsync(true).build();

  private final ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void aLeaderWhoseKeyIsDeletedHearsNotLeaderAndCampaignsAgain() throws Exception {
    EtcdClient c = t.client();
    List<String> events = new CopyOnWriteArrayList<>();
    LeaderLatch a = latch(c, "latch-key-deleted", "a", events);
    LeaderLatch b = latch(c, "latch-key-deleted", "b", events);
    a.start();
    Leadership first = a.await(Timing.seconds(10));
    b.start();
    await().atMost(Timing.seconds(5)).until(() -> a.participants().size() == 2);

    get(t.client().kv().delete(first.key())); // as `etcdctl del` of the leader's key would
    Leadership next = b.await(Timing.seconds(5));
    await().atMost(Timing.seconds(5)).until(() -> !first.isValid() && !a.hasLeadership() && events.contains("a-"));
    assertThat(next.fencingToken()).isGreaterThan(first.fencingToken());
    // back in the running behind b, with a key of its own again
    await().atMost(Timing.seconds(5)).until(() -> a.participants().equals(List.of("b", "a")));
    assertThat(get(c.kv().get(ByteSequence.of("latch-key-deleted/"), GetOption.prefix())).kvs()).hasSize(2);

    b.close();
    Leadership again = a.await(Timing.seconds(5));
    assertThat(again.fencingToken()).isGreaterThan(next.fencingToken());
    // b may lead before a hears of it (b watches a's key; a asks whether its lease went too): someone else deleted it
    // await() returns as the term is won, a moment before the listeners hear isLeader
    await().atMost(Timing.seconds(5)).untilAsserted(() -> {
      assertThat(events).containsSubsequence("a+" + first.fencingToken(), "a-", "a+" + again.fencingToken());
      assertThat(events).containsSubsequence("b+" + next.fencingToken(), "a+" + again.fencingToken());
    });
  }

  @Test
  void aSelectorWhoseKeyIsDeletedInterruptsItsTaskAndLeadsAgain() throws Exception {
    EtcdClient c = t.client();
    java.util.concurrent.CompletableFuture<Leadership> running = new java.util.concurrent.CompletableFuture<>();
    java.util.concurrent.CompletableFuture<Boolean> interrupted = new java.util.concurrent.CompletableFuture<>();
    java.util.concurrent.atomic.AtomicInteger runs = new java.util.concurrent.atomic.AtomicInteger();
    LeaderSelector s = t.closeLater(LeaderSelector.builder(c, "selector-key-deleted", "s", term -> {
      if (runs.incrementAndGet() > 1) {
        Thread.sleep(20); // a later term: of normal length
        return;
      }
      running.complete(term);
      try {
        Thread.sleep(Timing.seconds(20).toMillis()); // works until told to stop
        interrupted.complete(false);
      } catch (InterruptedException e) {
        interrupted.complete(true);
      }
    }).ttl(Duration.ofSeconds(5)).build());
    s.start();
    Leadership term = get(running, Timing.seconds(10));
    get(c.kv().delete(term.key())); // as `etcdctl del` of the leader's key would
    assertThat(get(interrupted, Timing.seconds(5))).isTrue();
    await().atMost(Timing.seconds(10)).until(() -> runs.get() >= 2);
  }

  private LeaderLatch latch(EtcdClient c, String name, String id, List<String> events) {
    return t.recordingLatch(c, name, id, Duration.ofSeconds(5), events);
  }
}
