package io.etcdrecipes.barrier;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.ChildJvm;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The double barrier on a 3-member cluster (fast elections) with faults: five participants, each with a client of
 * its own over all three members and a session of its own (2 s TTL), enter together and leave together while members
 * — the etcd leader first — are SIGKILLed in the middle of each phase; a participant in a child JVM
 * ({@link DoubleBarrierChild}) SIGKILLed inside the barrier does not keep the others from leaving (its key goes with
 * its lease: they leave within TTL + 1 s of the kill), and one SIGKILLed while the others wait to enter breaks the
 * barrier for them ({@link BarrierBrokenException} within TTL + 1 s, their keys deleted).
 *
 * <p>What would make it fail: a waiter whose watch does not resume on another member after its member died (it waits
 * forever), a participant key not on the session's lease (a dead participant would block the others for good),
 * waiters that do not notice a participant leaving before all were in (Go's barrier leaves them waiting forever).
 */
class DoubleBarrierUnderFaultsTest {

  private static final Logger log = LoggerFactory.getLogger(DoubleBarrierUnderFaultsTest.class);
  private static final Duration TTL = Duration.ofSeconds(2);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private final BarrierTestSupport t = new BarrierTestSupport(etcd::endpoints, Duration.ofSeconds(2), TTL);

  @AfterEach
  void close() throws Exception {
    t.close();
    for (EtcdMember m : etcd.cluster().members()) {
      if (!m.isRunning()) {
        m.start();
      }
    }
  }

  private EtcdClient client() {
    return t.client();
  }

  private Session session() throws Exception {
    return t.session();
  }

  private long keys(EtcdClient c, String prefix) {
    return BarrierTestSupport.keys(c, prefix);
  }

  private static long raftTerm(EtcdClient c) {
    return get(c.kv().get("dbf/term")).header().raftTerm();
  }

  @Test
  void fiveEnterTogetherAndLeaveTogetherWhileTheLeaderIsKilledInEachPhase() throws Exception {
    String name = "dbf/five";
    EtcdClient c = client();
    List<DoubleBarrier> all = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      all.add(DoubleBarrier.create(session(), name, 5));
    }
    List<CompletableFuture<Void>> entering = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      entering.add(all.get(i).enterAsync());
    }
    await().atMost(Timing.seconds(5)).until(() -> keys(c, name + "/waiters/") == 4);
    EtcdMember leader = etcd.leader();
    leader.kill();
    assertThat(entering).as("enters while 4 of 5 are in").noneMatch(CompletableFuture::isDone);
    long lastIn = System.nanoTime();
    entering.add(all.get(4).enterAsync());
    for (CompletableFuture<Void> e : entering) {
      get(e, Timing.seconds(15));
    }
    log.info("all 5 in {} ms after the last one's enter, {} killed before it", ms(lastIn), leader.name());
    leader.start();

    List<CompletableFuture<Void>> leaving = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      leaving.add(all.get(i).leaveAsync());
    }
    // everyone but the lowest deletes its key and waits; the lowest waits for the highest, still in
    await().atMost(Timing.seconds(5)).until(() -> keys(c, name + "/waiters/") <= 2);
    EtcdMember leader2 = etcd.leader();
    leader2.kill();
    assertThat(leaving).as("leaves while one of 5 is still in").noneMatch(CompletableFuture::isDone);
    long lastOut = System.nanoTime();
    leaving.add(all.get(4).leaveAsync());
    awaitAll(c, name, leaving, "leave");
    log.info("all 5 out {} ms after the last one's leave, {} killed before it", ms(lastOut), leader2.name());
    leader2.start();
    assertThat(keys(c, name + "/")).isZero();
  }

  @ParameterizedTest(name = "the killed participant entered {0}")
  @ValueSource(strings = {"first", "last"})
  void aParticipantKilledInsideDoesNotKeepTheOthersFromLeaving(String order) throws Exception {
    String name = "dbf/inside-" + order;
    EtcdClient c = client();
    List<DoubleBarrier> others = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      others.add(DoubleBarrier.create(session(), name, 5));
    }
    List<CompletableFuture<Void>> entering = new ArrayList<>();
    ChildJvm child = null;
    try {
      if (order.equals("first")) {
        child = startChild(name);
        await().atMost(Timing.seconds(5)).until(() -> keys(c, name + "/waiters/") == 1);
      }
      for (DoubleBarrier b : others) {
        entering.add(b.enterAsync());
      }
      if (order.equals("last")) {
        await().atMost(Timing.seconds(5)).until(() -> keys(c, name + "/waiters/") == 4);
        child = startChild(name);
      }
      child.awaitLine("ENTERED ", Timing.seconds(15));
      for (CompletableFuture<Void> e : entering) {
        get(e, Timing.seconds(15));
      }

      List<CompletableFuture<Void>> leaving = new ArrayList<>();
      for (DoubleBarrier b : others) {
        leaving.add(b.leaveAsync());
      }
      // first in, the child is the lowest: the others leave and wait for it; last in, it is the highest: the lowest
      // of the others waits for it and the rest wait for the lowest
      long stay = order.equals("first") ? 1 : 2;
      await().atMost(Timing.seconds(5)).until(() -> keys(c, name + "/waiters/") == stay);
      assertThat(leaving).as("leaves while the child is inside").noneMatch(CompletableFuture::isDone);

      long termBefore = raftTerm(c);
      long killedAt = System.nanoTime();
      child.kill();
      for (CompletableFuture<Void> l : leaving) {
        get(l, Timing.seconds(15));
      }
      long waited = ms(killedAt);
      long termAfter = raftTerm(c);
      long bound = TTL.toMillis() + 1_000 + (termAfter != termBefore ? TTL.toMillis() : 0);
      log.info("child in {}: the other 4 left {} ms after its SIGKILL (TTL {} s, raft term {} -> {})", order, waited,
          TTL.toSeconds(), termBefore, termAfter);
      assertThat(waited).as("ms from the kill to the last of the others out").isLessThanOrEqualTo(bound)
          .isGreaterThanOrEqualTo(TTL.toMillis() / 2);
      // nothing left, even when the child was the lowest participant (the one whose last leave deletes name/ready)
      assertThat(keys(c, name + "/")).isZero();
    } finally {
      if (child != null) {
        child.close();
      }
    }
  }

  @Test
  void aParticipantKilledWhileTheOthersWaitToEnterBreaksTheBarrierForThem() throws Exception {
    String name = "dbf/broken";
    EtcdClient c = client();
    try (ChildJvm child = startChild(name)) {
      await().atMost(Timing.seconds(5)).until(() -> keys(c, name + "/waiters/") == 1);
      List<CompletableFuture<Void>> entering = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        entering.add(DoubleBarrier.create(session(), name, 5).enterAsync());
      }
      await().atMost(Timing.seconds(5)).until(() -> keys(c, name + "/waiters/") == 4);
      assertThat(entering).as("enters while 4 of 5 are in").noneMatch(CompletableFuture::isDone);

      long termBefore = raftTerm(c);
      long killedAt = System.nanoTime();
      child.kill();
      get(CompletableFuture.allOf(entering.toArray(new CompletableFuture[0])).handle((v, e) -> null),
          Timing.seconds(15));
      long waited = ms(killedAt);
      long termAfter = raftTerm(c);
      long bound = TTL.toMillis() + 1_000 + (termAfter != termBefore ? TTL.toMillis() : 0);
      log.info("the 3 waiting to enter failed {} ms after the SIGKILL of a participant inside (TTL {} s, raft term "
          + "{} -> {})", waited, TTL.toSeconds(), termBefore, termAfter);
      for (CompletableFuture<Void> e : entering) {
        assertThat(io.etcdrecipes.testkit.Futures.failure(e)).isInstanceOf(BarrierBrokenException.class);
      }
      assertThat(waited).as("ms from the kill to the last enter failing").isLessThanOrEqualTo(bound)
          .isGreaterThanOrEqualTo(TTL.toMillis() / 2);
      await().atMost(Timing.seconds(5)).until(() -> keys(c, name + "/") == 0);
    }
  }

  /** Waits for every future; if one is not done in time, fails with what each did and the keys left. */
  private void awaitAll(EtcdClient c, String name, List<CompletableFuture<Void>> fs, String what) {
    try {
      get(CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).handle((v, e) -> null), Timing.seconds(15));
    } catch (AssertionError e) {
      StringBuilder sb = new StringBuilder(what + " not done in time:");
      for (int i = 0; i < fs.size(); i++) {
        CompletableFuture<Void> f = fs.get(i);
        sb.append("\n  participant ").append(i).append(": ").append(!f.isDone() ? "waiting"
            : f.isCompletedExceptionally() ? "failed " + io.etcdrecipes.testkit.Futures.failure(f) : "done");
      }
      for (var kv : get(c.kv().get(ByteSequence.of(name + "/"), GetOption.prefix())).kvs()) {
        sb.append("\n  key ").append(kv.key().toStringUtf8()).append(" create ").append(kv.createRevision())
            .append(" mod ").append(kv.modRevision()).append(" lease ").append(Long.toHexString(kv.lease()));
      }
      throw new AssertionError(sb.toString(), e);
    }
    for (CompletableFuture<Void> f : fs) {
      get(f);
    }
  }

  private static ChildJvm startChild(String name) {
    ChildJvm child = ChildJvm.start(DoubleBarrierChild.class, etcd.endpoints(), String.valueOf(TTL.toSeconds()), name,
        "5");
    String[] session = child.awaitLine("SESSION ", Timing.seconds(30)).split(" ");
    assertThat(session[2]).as("the TTL the server granted the child's session").isEqualTo(String.valueOf(TTL.toSeconds()));
    child.awaitLine("ENTERING ", Timing.seconds(10));
    return child;
  }

  private static long ms(long sinceNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sinceNanos);
  }
}
