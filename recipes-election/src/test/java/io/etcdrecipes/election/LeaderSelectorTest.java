package io.etcdrecipes.election;

import static io.etcdrecipes.election.ElectionTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.testkit.CriticalSection;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.History;
import io.etcdrecipes.testkit.Hold;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** LeaderSelector on one member: terms rotate fairly and never overlap; a lost term interrupts its task. */
class LeaderSelectorTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).fastElections()
      .unsafeNoFsync(true).build();

  private final ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void threeSelectorsTakeTurnsInOrderWithoutOverlap() throws Exception {
    EtcdClient c = t.client();
    CriticalSection section = new CriticalSection(new History());
    List<String> order = new CopyOnWriteArrayList<>();
    for (String id : List.of("a", "b", "c")) {
      LeaderSelector s = t.closeLater(LeaderSelector.builder(c, "ls/turns", id, term -> {
        try (CriticalSection.Turn turn = section.enter(id, Hold.Kind.EXCLUSIVE, term.fencingToken())) {
          order.add(id);
          // the term's work, in its name: a guarded write, then wait until the one before is back in line (a term
          // that returns at once can end before the previous leader's requeue landed, and then two turns swap: not
          // unfair, just racing)
          get(term.commit(c.kv(), Op.put(ByteSequence.of("ls/turns-data"), ByteSequence.of(id))));
          await().atMost(Timing.seconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2))
              .until(() -> keys(c, "ls/turns").size() == 3);
        }
      }).ttl(Duration.ofSeconds(2)).build());
      s.start();
    }
    await().atMost(Timing.seconds(20)).until(() -> {
      int from = allInLineFrom(order);
      return from >= 0 && order.size() >= from + 12;
    });
    section.noLostUpdates();
    section.history().holds().noOverlap().tokensIncrease();
    // fair: once all three are in line, they go round in turn
    List<String> turns = new ArrayList<>(order); // a copy: the selectors go on adding terms
    int from = allInLineFrom(turns);
    for (int i = from + 3; i < turns.size(); i++) {
      assertThat(turns.get(i)).as("turn %d of %s (all in line from turn %d)", i, turns, from)
          .isEqualTo(turns.get(i - 3));
    }
    get(c.kv().delete(ByteSequence.of("ls/turns-data")));
  }

  /** The negative control: two selectors on different names, recorded as one election, lead at once. */
  @Test
  void theChecksSeeTwoLeadersAtOnce() throws Exception {
    EtcdClient c = t.client();
    CriticalSection section = new CriticalSection(new History());
    for (String id : List.of("a", "b")) {
      t.closeLater(LeaderSelector.builder(c, "ls/neg-" + id, id, term -> {
        try (CriticalSection.Turn turn = section.enter(id, Hold.Kind.EXCLUSIVE, term.fencingToken())) {
          for (int rpc = 0; rpc < 3; rpc++) { // the same kind of work, in the term's name
            get(term.commit(c.kv(), Op.put(ByteSequence.of("ls/neg-data-" + id), ByteSequence.of("x"))));
          }
        }
      }).ttl(Duration.ofSeconds(2)).build()).start();
    }
    await().atMost(Timing.seconds(20)).until(() -> section.turns() >= 40);
    assertThatThrownBy(() -> section.history().holds().noOverlap()).isInstanceOf(AssertionError.class)
        .hasMessageContaining("holds overlap");
    assertThatThrownBy(section::noLostUpdates).hasMessageContaining("exclusion broken");
    get(c.kv().delete(ByteSequence.of("ls/neg-data-"), DeleteOption.prefix()));
  }

  /** The first turn of the last selector to get one (all three are in line from then on), or -1. */
  private static int allInLineFrom(List<String> order) {
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < order.size(); i++) {
      if (!seen.contains(order.get(i))) {
        seen.add(order.get(i));
        if (seen.size() == 3) {
          return i;
        }
      }
    }
    return -1;
  }

  @Test
  void aLostTermInterruptsItsTaskAndItsGuardedWritesAreRejectedEvenIfItIgnoresTheInterrupt() throws Exception {
    EtcdClient c = t.client();
    CompletableFuture<Leadership> running = new CompletableFuture<>();
    CompletableFuture<Boolean> interrupted = new CompletableFuture<>();
    CountDownLatch writeAfterLoss = new CountDownLatch(1);
    CompletableFuture<Throwable> lateWrite = new CompletableFuture<>();
    LeaderSelector s = t.closeLater(LeaderSelector.builder(c, "ls/lost", "a", term -> {
      running.complete(term);
      try {
        new CountDownLatch(1).await(30, TimeUnit.SECONDS); // works until interrupted
      } catch (InterruptedException e) {
        interrupted.complete(true);
      }
      // ignores the interrupt and writes on in the term's name: the guard rejects it
      writeAfterLoss.await(30, TimeUnit.SECONDS);
      try {
        term.commit(c.kv(), Op.put(ByteSequence.of("ls/lost-data"), ByteSequence.of("late"))).join();
        lateWrite.complete(null);
      } catch (Exception e) {
        lateWrite.complete(e.getCause() != null ? e.getCause() : e);
      }
    }).ttl(Duration.ofSeconds(2)).autoRequeue(false).build());
    s.start();
    Leadership term = get(running);
    get(c.lease().revoke(term.ownership().session().leaseId()));
    assertThat(get(interrupted)).isTrue();
    writeAfterLoss.countDown();
    assertThat(get(lateWrite)).isInstanceOf(OwnershipLostException.class);
    assertThat(get(c.kv().get(ByteSequence.of("ls/lost-data"))).isEmpty()).isTrue();
  }

  @Test
  void badInputIsRejected() {
    EtcdClient c = t.client();
    assertThatThrownBy(() -> LeaderSelector.builder(c, "ls/bad", "", term -> { }))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LeaderSelector.builder(c, "ls/bad", "a", null)).isInstanceOf(NullPointerException.class);
  }
}
