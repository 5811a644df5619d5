package io.etcdrecipes.election;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A latch stays in the running whatever its user does with a term (issue 17, deliverable 2): closing a term (it is
 * {@code AutoCloseable}), resigning it inside {@code isLeader}, or {@link LeaderLatch#yield()} is a yield —
 * {@code notLeader}, then a campaign behind the others with a new key. On the old code a closed term dropped the latch
 * out for good: it never campaigned again, never heard {@code notLeader}, and with two latches that both closed their
 * terms nobody led. {@link LeaderSelector#requeue()} campaigns again for a selector without auto-requeue, and a
 * selector whose task resigns its own term campaigns again once the task returned.
 */
class LatchYieldTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).fastElections()
      .unsafeNoFsync(true).build();

  private final ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void closingATermIsAYieldAndTheLatchCampaignsAgain() throws Exception {
    EtcdClient c = t.client();
    List<String> events = new CopyOnWriteArrayList<>();
    LeaderLatch a = latch(c, "yield/close", "a", events);
    LeaderLatch b = latch(c, "yield/close", "b", events);
    a.start();
    long first;
    try (Leadership term = a.await(Timing.seconds(10))) { // the term is AutoCloseable: leaving the block yields
      first = term.fencingToken();
      b.start();
      await().atMost(Timing.seconds(5)).until(() -> a.participants().size() == 2);
    }
    Leadership bTerm = b.await(Timing.seconds(5));
    await().atMost(Timing.seconds(5)).until(() -> events.contains("a-"));
    assertThat(a.hasLeadership()).isFalse();
    await().atMost(Timing.seconds(5)).until(() -> a.participants().equals(List.of("b", "a")));

    bTerm.close(); // b yields in turn: a leads again, b stays in the running
    Leadership again = a.await(Timing.seconds(5));
    assertThat(again.fencingToken()).isGreaterThan(bTerm.fencingToken()).isGreaterThan(first);
    await().atMost(Timing.seconds(5)).until(() -> b.participants().equals(List.of("a", "b")));
    // await() returns as the term is won, a moment before the listeners hear isLeader
    await().atMost(Timing.seconds(5)).untilAsserted(() ->
    assertThat(events).containsSubsequence("a+" + first, "a-", "b+" + bTerm.fencingToken(), "b-",
        "a+" + again.fencingToken()));
  }

  @Test
  void aTermResignedInsideIsLeaderIsFollowedByANewTerm() throws Exception {
    EtcdClient c = t.client();
    AtomicInteger terms = new AtomicInteger();
    List<Long> tokens = new CopyOnWriteArrayList<>();
    LeaderLatch a = t.closeLater(LeaderLatch.builder(c, "yield/inside", "a").ttl(Duration.ofSeconds(5)).build());
    a.addListener(new LeaderLatchListener() {
      @Override
      public void isLeader(Leadership term) {
        tokens.add(term.fencingToken());
        if (terms.incrementAndGet() < 3) {
          term.resign(); // twice: a lone latch leads again each time, with a new key
        }
      }

      @Override
      public void notLeader() {
      }
    });
    a.start();
    await().atMost(Timing.seconds(10)).until(() -> terms.get() == 3 && a.hasLeadership());
    assertThat(tokens).hasSize(3).isSorted().doesNotHaveDuplicates();
    assertThat(a.await(Timing.seconds(1)).fencingToken()).isEqualTo(tokens.get(2));
    assertThat(get(c.kv().get(ByteSequence.of("yield/inside/"), GetOption.prefix())).kvs()).hasSize(1);
  }

  @Test
  void yieldHandsOverAndStaysInTheRunning() throws Exception {
    EtcdClient c = t.client();
    List<String> events = new CopyOnWriteArrayList<>();
    LeaderLatch a = latch(c, "yield/explicit", "a", events);
    LeaderLatch b = latch(c, "yield/explicit", "b", events);
    assertThatThrownBy(a::yield).isInstanceOf(IllegalStateException.class); // not started
    a.start();
    Leadership first = a.await(Timing.seconds(10));
    b.start();
    await().atMost(Timing.seconds(5)).until(() -> a.participants().size() == 2);
    assertThat(b.yield()).isFalse(); // not leading: nothing to give up

    assertThat(a.yield()).isTrue();
    Leadership bTerm = b.await(Timing.seconds(5));
    assertThat(first.isValid()).isFalse();
    await().atMost(Timing.seconds(5)).until(() -> a.participants().equals(List.of("b", "a")) && events.contains("a-"));
    assertThat(bTerm.fencingToken()).isGreaterThan(first.fencingToken());
  }

  @Test
  void requeueCampaignsAgainForASelectorWithoutAutoRequeue() throws Exception {
    EtcdClient c = t.client();
    AtomicInteger runs = new AtomicInteger();
    LeaderSelector s = t.closeLater(LeaderSelector.builder(c, "yield/requeue", "s", term -> {
      runs.incrementAndGet();
      Thread.sleep(20); // a term of normal length: no requeue backoff
    }).autoRequeue(false).ttl(Duration.ofSeconds(5)).build());
    assertThatThrownBy(s::requeue).isInstanceOf(IllegalStateException.class); // not started
    s.start();
    await().atMost(Timing.seconds(10)).until(() -> runs.get() == 1 && !s.hasLeadership());
    // without auto-requeue it left the election: no key of its own
    await().atMost(Timing.seconds(5))
        .until(() -> get(c.kv().get(ByteSequence.of("yield/requeue/"), GetOption.prefix())).kvs().isEmpty());
    assertThat(runs.get()).isEqualTo(1);

    assertThat(s.requeue()).isTrue();
    await().atMost(Timing.seconds(10)).until(() -> runs.get() == 2);
    await().atMost(Timing.seconds(5))
        .until(() -> get(c.kv().get(ByteSequence.of("yield/requeue/"), GetOption.prefix())).kvs().isEmpty());
    assertThat(runs.get()).isEqualTo(2);
  }

  @Test
  void requeueDuringATermCampaignsOnceMoreAfterIt() throws Exception {
    EtcdClient c = t.client();
    AtomicInteger runs = new AtomicInteger();
    java.util.concurrent.CountDownLatch inTerm = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch finish = new java.util.concurrent.CountDownLatch(1);
    LeaderSelector s = t.closeLater(LeaderSelector.builder(c, "yield/requeue-during", "s", term -> {
      if (runs.incrementAndGet() == 1) {
        inTerm.countDown();
        finish.await();
      }
      Thread.sleep(20);
    }).autoRequeue(false).ttl(Duration.ofSeconds(5)).build());
    s.start();
    assertThat(inTerm.await(Timing.seconds(10).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)).isTrue();
    assertThat(s.requeue()).isTrue();
    assertThat(s.requeue()).isFalse(); // already queued
    finish.countDown();
    await().atMost(Timing.seconds(10)).until(() -> runs.get() == 2);
    await().atMost(Timing.seconds(5))
        .until(() -> get(c.kv().get(ByteSequence.of("yield/requeue-during/"), GetOption.prefix())).kvs().isEmpty());
    assertThat(runs.get()).isEqualTo(2);
  }

  @Test
  void aSelectorTaskThatResignsItsOwnTermIsFollowedByANewTerm() throws Exception {
    EtcdClient c = t.client();
    List<Long> tokens = new CopyOnWriteArrayList<>();
    java.util.concurrent.CompletableFuture<Boolean> validAfterResign = new java.util.concurrent.CompletableFuture<>();
    LeaderSelector s = t.closeLater(LeaderSelector.builder(c, "yield/selector-release", "s", term -> {
      tokens.add(term.fencingToken());
      if (tokens.size() == 1) {
        term.resign(); // the task's own code lets the term go, and then returns
        validAfterResign.complete(term.isValid());
      }
      Thread.sleep(20);
    }).ttl(Duration.ofSeconds(5)).build());
    s.start();
    await().atMost(Timing.seconds(10)).until(() -> tokens.size() >= 2); // auto-requeue: it leads again
    assertThat(validAfterResign.get(Timing.seconds(1).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
        .isFalse();
    assertThat(tokens.get(1)).isGreaterThan(tokens.get(0));
  }

  private LeaderLatch latch(EtcdClient c, String name, String id, List<String> events) {
    return t.recordingLatch(c, name, id, Duration.ofSeconds(5), events);
  }
}
