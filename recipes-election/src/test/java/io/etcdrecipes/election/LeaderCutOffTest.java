package io.etcdrecipes.election;

import static io.etcdrecipes.election.ElectionTestSupport.end;
import static io.etcdrecipes.election.ElectionTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.History;
import io.etcdrecipes.testkit.Hold;
import io.etcdrecipes.testkit.TcpProxy;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The leader's connection is cut (a blackhole in the one member's {@link TcpProxy} its client goes through) for
 * longer than its TTL (2 s), while a candidate on a direct client waits; 3 members, fast elections.
 *
 * <ul>
 *   <li>Under the default {@code SUSPENDED_IS_LOST} the old leader is told it lost — {@code notLeader} of a
 *       {@link LeaderLatch}, {@link Leadership#lost()} of an {@link Election} term — when its session is suspended
 *       (no renewal for 1 s), which is before the server can expire its lease (2 s after the last renewal it got),
 *       hence before the next leader can be elected. Both instants are {@link System#nanoTime()} of the callbacks;
 *       the one must come first, and the terms, as holds from "told elected" to "told lost", must not overlap.</li>
 *   <li>A {@link LeaderSelector}'s task is interrupted when the cut-off loses its term, before the next selector's
 *       task starts. A task that ignores the interrupt and writes on in the term's name (through a client that still
 *       reaches the cluster) has every {@link Leadership#commit} rejected, and its raw guarded transactions
 *       ({@link Leadership#txn}) are rejected by the server from the moment its key is gone: none lands at or after
 *       the revision at which the next leader was elected.</li>
 * </ul>
 */
class LeaderCutOffTest {

  private static final Logger log = LoggerFactory.getLogger(LeaderCutOffTest.class);
  private static final Duration TTL = Duration.ofSeconds(2);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private final ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    etcd.cluster().healAll();
    t.close();
  }

  /** A client that reaches the cluster only through member 0's proxy. */
  private EtcdClient cutOffable() {
    return t.client(etcd.member(0).proxiedEndpoint(), Timing.seconds(2));
  }

  /** A candidate's instants, as its callbacks saw them. */
  private static final class Told {
    final CompletableFuture<Leadership> elected = new CompletableFuture<>();
    final CompletableFuture<Long> electedAt = new CompletableFuture<>();
    final CompletableFuture<Long> lostAt = new CompletableFuture<>();
    final List<Leadership> terms = new CopyOnWriteArrayList<>();
    volatile Hold hold;
    volatile LeaderLatch latch;

    void elected(History history, String who, Leadership term) {
      long now = System.nanoTime();
      terms.add(term);
      hold = history.acquired(who, Hold.Kind.EXCLUSIVE, term.fencingToken(), now);
      electedAt.complete(now);
      elected.complete(term);
    }

    void lost() {
      long now = System.nanoTime();
      Hold h = hold;
      if (h != null) {
        synchronized (h) {
          if (h.isOpen()) {
            h.lost(now);
          }
        }
      }
      lostAt.complete(now);
    }
  }

  private Told latch(EtcdClient c, String name, String id, History history) {
    Told told = new Told();
    LeaderLatch latch = t.closeLater(LeaderLatch.builder(c, name, id).ttl(TTL).build());
    told.latch = latch;
    latch.addListener(new LeaderLatchListener() {
      @Override
      public void isLeader(Leadership term) {
        told.elected(history, id, term);
      }

      @Override
      public void notLeader() {
        told.lost();
      }
    });
    latch.start();
    return told;
  }

  private Told campaign(EtcdClient c, String name, String id, History history) throws Exception {
    Told told = new Told();
    Session s = t.session(c, TTL);
    Election.create(s, name).campaignAsync(id).whenComplete((term, e) -> {
      if (term != null) {
        told.elected(history, id, term);
        term.onLost(why -> told.lost());
      }
    });
    return told;
  }

  @ParameterizedTest
  @EnumSource(LeaderChild.Mode.class)
  void theCutOffLeaderIsToldItLostBeforeTheNextLeaderIsElected(LeaderChild.Mode mode) throws Exception {
    String name = "cut/" + mode.name().toLowerCase();
    History history = new History();
    EtcdClient direct = t.client();
    boolean latch = mode == LeaderChild.Mode.LATCH;
    Told a = latch ? latch(cutOffable(), name, "a", history) : campaign(cutOffable(), name, "a", history);
    Leadership first = get(a.elected, Timing.seconds(10));
    Told b = latch ? latch(direct, name, "b", history) : campaign(direct, name, "b", history);
    await().atMost(Timing.seconds(5)).until(() -> keys(direct, name).size() == 2);

    long cutAt = System.nanoTime();
    etcd.member(0).proxy().blackhole();
    Leadership second = get(b.elected, Timing.seconds(15));
    long lostAt = get(a.lostAt, Timing.seconds(1));
    long electedAt = get(b.electedAt);
    log.info("{}: cut at 0; the old leader was told it lost at {} ms, the next leader elected at {} ms ({} ms later)",
        mode, ms(lostAt - cutAt), ms(electedAt - cutAt), ms(electedAt - lostAt));
    assertThat(lostAt).as("the old leader's notLeader/lost() before the next leader's isLeader/elected")
        .isLessThan(electedAt);
    assertThat(ms(lostAt - cutAt)).as("ms from the cut to notLeader: the session suspends after 1 s of no renewal")
        .isLessThan(TTL.toMillis());
    assertThat(ms(electedAt - cutAt)).as("ms from the cut to the next leader").isLessThanOrEqualTo(
        TTL.toMillis() + 1_000 + TTL.toMillis()); // + a TTL: an etcd leader change on a loaded machine re-arms leases
    assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
    assertThat(first.isValid()).isFalse();
    if (latch) {
      // healed, the old leader's latch joins again behind the new leader, and leads when that one closes
      etcd.member(0).proxy().heal();
      await().atMost(Timing.seconds(10)).until(() -> keys(direct, name).size() == 2);
      assertThat(a.latch.hasLeadership()).isFalse();
      end(b.hold, false);
      b.latch.close();
      await().atMost(Timing.seconds(10)).until(() -> a.latch.hasLeadership());
      Leadership third = a.terms.get(a.terms.size() - 1);
      assertThat(a.terms).hasSize(2);
      assertThat(third.fencingToken()).isGreaterThan(second.fencingToken());
      log.info("{}: healed, the old leader joined again and led after the next one closed (tokens {}, {}, {})", mode,
          first.fencingToken(), second.fencingToken(), third.fencingToken());
    }
    end(a.hold, false);
    end(b.hold, false);
    history.holds().noOverlap().tokensIncrease();
  }

  @Test
  void aLatchCutOffBrieflyStepsDownAndTheNextLeadsOnceItsResignGetsThrough() throws Exception {
    String name = "cut/brief";
    History history = new History();
    EtcdClient direct = t.client();
    Told a = latch(cutOffable(), name, "a", history);
    Leadership first = get(a.elected, Timing.seconds(10));
    Told b = latch(direct, name, "b", history);
    await().atMost(Timing.seconds(5)).until(() -> keys(direct, name).size() == 2);

    long cutAt = System.nanoTime();
    etcd.member(0).proxy().blackhole();
    long lostAt = get(a.lostAt, Timing.seconds(5));
    etcd.member(0).proxy().heal(); // shorter than the TTL: the lease is still alive
    long healedAt = System.nanoTime();
    Leadership second = get(b.elected, Timing.seconds(10));
    long electedAt = get(b.electedAt);
    await().atMost(Timing.seconds(10)).until(() -> keys(direct, name).size() == 2); // a joined again
    end(b.hold, false);
    b.latch.close();
    await().atMost(Timing.seconds(10)).until(() -> a.latch.hasLeadership());
    Leadership firstAgain = a.terms.get(a.terms.size() - 1);
    log.info("cut at 0: a told it lost at {} ms, healed at {} ms, b elected at {} ms; a joined again and led after b "
            + "closed (tokens {}, {}, {}; a's lease {} then {})", ms(lostAt - cutAt), ms(healedAt - cutAt),
        ms(electedAt - cutAt), first.fencingToken(), second.fencingToken(), firstAgain.fencingToken(),
        Long.toHexString(first.ownership().session().leaseId()),
        Long.toHexString(firstAgain.ownership().session().leaseId()));
    assertThat(lostAt).isLessThan(electedAt);
    assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
    assertThat(firstAgain.fencingToken()).isGreaterThan(second.fencingToken());
    end(a.hold, false);
    history.holds().noOverlap().tokensIncrease();
  }

  @Test
  void aCutOffSelectorsTaskIsInterruptedAndItsWritesAreRejectedEvenIfItIgnoresTheInterrupt() throws Exception {
    String name = "cut/selector";
    ByteSequence data = ByteSequence.of("cut/selector-data");
    ByteSequence raw = ByteSequence.of("cut/selector-raw");
    EtcdClient direct = t.client();
    CompletableFuture<Leadership> aTerm = new CompletableFuture<>();
    CompletableFuture<Long> interruptedAt = new CompletableFuture<>();
    CountDownLatch stopWriting = new CountDownLatch(1);
    AtomicInteger commitsAccepted = new AtomicInteger();
    AtomicInteger commitsRejected = new AtomicInteger();
    List<Long> rawAccepted = new CopyOnWriteArrayList<>();
    List<Long> rawRejected = new CopyOnWriteArrayList<>();
    List<Throwable> otherErrors = new CopyOnWriteArrayList<>();
    LeaderSelector a = t.closeLater(LeaderSelector.builder(cutOffable(), name, "a", term -> {
      aTerm.complete(term);
      try {
        new CountDownLatch(1).await(); // leads until interrupted
      } catch (InterruptedException e) {
        interruptedAt.complete(System.nanoTime());
      }
      // ignores the interrupt and writes on in the term's name, through a client that still reaches the cluster
      for (int i = 0; !stopWriting.await(20, TimeUnit.MILLISECONDS); i++) {
        try {
          term.commit(direct.kv(), Op.put(data, ByteSequence.of("a-late-" + i))).get(10, TimeUnit.SECONDS);
          commitsAccepted.incrementAndGet();
        } catch (ExecutionException e) {
          if (e.getCause() instanceof OwnershipLostException) {
            commitsRejected.incrementAndGet();
          } else {
            otherErrors.add(e.getCause());
          }
        }
        TxnResponse r = term.txn(direct.kv()).then(Op.put(raw, ByteSequence.of("a-raw-" + i))).commit()
            .get(10, TimeUnit.SECONDS);
        (r.succeeded() ? rawAccepted : rawRejected).add(r.header().revision());
      }
    }).ttl(TTL).autoRequeue(false).build());
    CompletableFuture<Leadership> bTerm = new CompletableFuture<>();
    CompletableFuture<Long> bStartedAt = new CompletableFuture<>();
    LeaderSelector b = t.closeLater(LeaderSelector.builder(direct, name, "b", term -> {
      bStartedAt.complete(System.nanoTime());
      term.commit(direct.kv(), Op.put(data, ByteSequence.of("b"))).get(10, TimeUnit.SECONDS);
      bTerm.complete(term);
      new CountDownLatch(1).await(); // leads until closed
    }).ttl(TTL).build());

    a.start();
    Leadership first = get(aTerm, Timing.seconds(10));
    b.start();
    await().atMost(Timing.seconds(5)).until(() -> keys(direct, name).size() == 2);
    long cutAt = System.nanoTime();
    etcd.member(0).proxy().blackhole();

    long interrupted = get(interruptedAt, Timing.seconds(10));
    Leadership second = get(bTerm, Timing.seconds(15));
    long started = get(bStartedAt);
    // the ignoring task goes on until the server has rejected one of its raw guarded writes
    await().atMost(Timing.seconds(10)).until(() -> !rawRejected.isEmpty());
    stopWriting.countDown();
    long bElectedRevision = second.ownership().acquiredRevision();
    log.info("cut at 0; a's task interrupted at {} ms, b's task started at {} ms; after the interrupt a's task made "
            + "{} commits (accepted {}), {} raw guarded writes accepted (the last at revision {}; b elected at revision "
            + "{}), {} rejected", ms(interrupted - cutAt), ms(started - cutAt),
        commitsAccepted.get() + commitsRejected.get(), commitsAccepted.get(), rawAccepted.size(),
        rawAccepted.isEmpty() ? "-" : rawAccepted.get(rawAccepted.size() - 1), bElectedRevision, rawRejected.size());
    assertThat(interrupted).as("a's task interrupted before b's task starts").isLessThan(started);
    assertThat(otherErrors).isEmpty();
    assertThat(commitsAccepted.get()).as("Leadership.commit after the term was lost").isZero();
    assertThat(commitsRejected.get()).isPositive();
    assertThat(rawAccepted).as("raw guarded writes of a that landed: only before its key was gone")
        .allMatch(rev -> rev < bElectedRevision);
    assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
    assertThat(get(direct.kv().get(data)).first().value().toStringUtf8()).isEqualTo("b");
    KeyValue rawNow = get(direct.kv().get(raw)).first();
    assertThat(rawNow == null || rawNow.modRevision() < bElectedRevision).as("no raw write of a after b was elected")
        .isTrue();
    etcd.member(0).proxy().heal();
    a.close();
    b.close();
    get(direct.kv().delete(data));
    get(direct.kv().delete(raw));
    await().atMost(Timing.seconds(5)).until(() -> keys(direct, name).isEmpty());
  }

  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }
}
