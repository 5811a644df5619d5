package io.etcdrecipes.election;

import static io.etcdrecipes.election.ElectionTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.testkit.ChildJvm;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.History;
import io.etcdrecipes.testkit.Hold;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The leader's process fails — SIGKILL, or SIGSTOP for longer than its TTL — while a candidate in the test JVM is
 * already campaigning. The leader is a {@link LeaderChild} (an {@link Election} campaign or a {@link LeaderLatch}),
 * TTL 2 s, on a 3-member cluster with fast elections.
 *
 * <ul>
 *   <li>Killed: its key lives on its session's lease, so the candidate is elected once the server expires that lease,
 *       within TTL + 1 s of the kill (plus one TTL if the etcd leader changed meanwhile: a new etcd leader re-arms
 *       every lease). What would make it fail: a key not on the session's lease, a candidate that misses the delete
 *       of the key ahead.</li>
 *   <li>Paused past its TTL: the candidate is elected as if it had died; when the old leader resumes, the writes it
 *       then makes in its term's name are rejected — by the server (the guard compares its key's create revision,
 *       and the key is gone) and by {@link Leadership#commit} — and it is told it lost the term. The negative
 *       control: a plain put of the same resumed process succeeds, so it is the guard that stops the others.</li>
 * </ul>
 */
class LeaderProcessFaultsTest {

  private static final Logger log = LoggerFactory.getLogger(LeaderProcessFaultsTest.class);
  private static final Duration TTL = Duration.ofSeconds(2);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private final ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  /** The test JVM's candidate: an election campaign, or a latch, as the child leads. */
  private CompletableFuture<Leadership> campaign(LeaderChild.Mode mode, EtcdClient c, String name) throws Exception {
    if (mode == LeaderChild.Mode.ELECTION) {
      return Election.create(t.session(c, TTL), name).campaignAsync("test");
    }
    CompletableFuture<Leadership> elected = new CompletableFuture<>();
    LeaderLatch latch = t.closeLater(LeaderLatch.builder(c, name, "test").ttl(TTL).build());
    latch.addListener(new LeaderLatchListener() {
      @Override
      public void isLeader(Leadership term) {
        elected.complete(term);
      }

      @Override
      public void notLeader() {
      }
    });
    latch.start();
    return elected;
  }

  private static long raftTerm(EtcdClient c) {
    return get(c.kv().get("pf/term")).header().raftTerm();
  }

  /** The most a candidate may wait after the leader stopped renewing: TTL + 1 s, plus a TTL if etcd's leader changed. */
  private static long boundMillis(long termBefore, long termAfter) {
    return TTL.toMillis() + 1_000 + (termAfter != termBefore ? TTL.toMillis() : 0);
  }

  @ParameterizedTest
  @EnumSource(LeaderChild.Mode.class)
  void theWaitingCandidateIsElectedWithinTtlPlusOneSecondOfTheLeadersSigkill(LeaderChild.Mode mode) throws Exception {
    String name = "pf/kill-" + mode.name().toLowerCase();
    EtcdClient c = t.client();
    History history = new History();
    try (ChildJvm leader = ChildJvm.start(LeaderChild.class, etcd.endpoints(), String.valueOf(TTL.toSeconds()),
        mode.name(), name, "child")) {
      String[] elected = leader.awaitLine("ELECTED ", Timing.seconds(30)).split(" ");
      long childToken = Long.parseLong(elected[1]);
      assertThat(elected[4]).as("the TTL the server granted").isEqualTo(String.valueOf(TTL.toSeconds()));
      Hold childHold = history.acquired("child", Hold.Kind.EXCLUSIVE, childToken, Long.parseLong(elected[5]));

      CompletableFuture<Leadership> next = campaign(mode, c, name);
      await().atMost(Timing.seconds(5)).until(() -> keys(c, name).size() == 2);
      assertThat(next).as("a candidate while the child leads").isNotDone();

      long termBefore = raftTerm(c);
      long killedAt = System.nanoTime();
      leader.kill();
      childHold.lost(); // dead: it can act no more
      Leadership term = get(next, Timing.seconds(15));
      long electedAt = System.nanoTime();
      Hold mine = history.acquired("test", term.fencingToken());
      long waitedMillis = TimeUnit.NANOSECONDS.toMillis(electedAt - killedAt);
      long termAfter = raftTerm(c);
      log.info("{}: the candidate was elected {} ms after the SIGKILL of the leader (TTL {} s, raft term {} -> {})",
          mode, waitedMillis, TTL.toSeconds(), termBefore, termAfter);
      assertThat(waitedMillis).as("ms from the kill to the next leader")
          .isLessThanOrEqualTo(boundMillis(termBefore, termAfter))
          // the lease was renewed at most TTL/3 before the kill: it cannot have expired much sooner
          .isGreaterThanOrEqualTo(TTL.toMillis() / 2);
      assertThat(term.fencingToken()).isGreaterThan(childToken);
      assertThat(keys(c, name)).containsExactly(term.key().toStringUtf8());
      mine.released();
      assertThat(term.resign()).isTrue();
      history.holds().noOverlap().tokensIncrease();
    }
    t.close();
    assertThat(keys(t.client(), name)).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(LeaderChild.Mode.class)
  void aLeaderPausedPastItsTtlIsFencedOffWhenItResumesButItsUnguardedWriteLands(LeaderChild.Mode mode)
      throws Exception {
    String name = "pf/pause-" + mode.name().toLowerCase();
    String data = name + "-data";
    String unguarded = name + "-unguarded";
    EtcdClient c = t.client();
    try (ChildJvm leader = ChildJvm.start(LeaderChild.class, etcd.endpoints(), String.valueOf(TTL.toSeconds()),
        mode.name(), name, "child")) {
      long childToken = Long.parseLong(leader.awaitLine("ELECTED ", Timing.seconds(30)).split(" ")[1]);
      leader.send("commit " + data + " child-before-pause");
      assertThat(leader.awaitLine("COMMIT ", Timing.seconds(10))).isEqualTo("COMMIT OK");

      CompletableFuture<Leadership> next = campaign(mode, c, name);
      await().atMost(Timing.seconds(5)).until(() -> keys(c, name).size() == 2);
      assertThat(next).isNotDone();

      long termBefore = raftTerm(c);
      long pausedAt = System.nanoTime();
      leader.pause();
      Leadership term = get(next, Timing.seconds(15));
      long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - pausedAt);
      long termAfter = raftTerm(c);
      assertThat(waitedMillis).as("ms from the SIGSTOP to the next leader")
          .isLessThanOrEqualTo(boundMillis(termBefore, termAfter));
      assertThat(term.fencingToken()).isGreaterThan(childToken);
      get(term.commit(c.kv(), Op.put(ByteSequence.of(data), ByteSequence.of("new-leader"))));

      // what the old leader does the moment it runs again: queued on its stdin while it is stopped
      leader.send("guarded " + data + " child-guarded");
      leader.send("commit " + data + " child-commit");
      leader.send("unguarded " + unguarded + " child-unguarded");
      leader.send("valid");
      int before = leader.lines().size();
      long resumedAt = System.nanoTime();
      leader.resume();
      List<String> expected = mode == LeaderChild.Mode.LATCH
          ? List.of("GUARDED ", "COMMIT ", "UNGUARDED ", "VALID ", "LOST ", "NOT_LEADER ")
          : List.of("GUARDED ", "COMMIT ", "UNGUARDED ", "VALID ", "LOST ");
      try {
        await().atMost(Timing.seconds(10)).until(() -> expected.stream()
            .allMatch(p -> after(leader, before).stream().anyMatch(l -> l.startsWith(p))));
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError("the resumed leader printed " + after(leader, before) + ", expected " + expected, e);
      }
      List<String> lines = after(leader, before);
      assertThat(line(lines, "GUARDED ")).as("the term's guard, sent to the server").isEqualTo("GUARDED REJECTED");
      assertThat(line(lines, "COMMIT ")).as("Leadership.commit")
          .isEqualTo("COMMIT REJECTED OwnershipLostException SESSION_LOST");
      assertThat(line(lines, "VALID ")).isEqualTo("VALID false");
      assertThat(line(lines, "UNGUARDED ")).as("the negative control: a plain put").isEqualTo("UNGUARDED OK");
      String[] lost = line(lines, "LOST ").split(" ");
      assertThat(lost[1]).isEqualTo("SESSION_LOST");
      long toldAfterMillis = TimeUnit.NANOSECONDS.toMillis(Long.parseLong(lost[2]) - resumedAt);
      log.info("{}: the next leader was elected {} ms after the SIGSTOP; the old leader, resumed {} ms after the "
              + "SIGSTOP, was told of the loss {} ms after SIGCONT; its output: {}", mode, waitedMillis,
          TimeUnit.NANOSECONDS.toMillis(resumedAt - pausedAt), toldAfterMillis, lines);

      assertThat(get(c.kv().get(data)).first().value().toStringUtf8()).as("only the new leader's write")
          .isEqualTo("new-leader");
      assertThat(get(c.kv().get(unguarded)).first().value().toStringUtf8()).isEqualTo("child-unguarded");
      assertThat(term.isValid()).isTrue();
      assertThat(term.resign()).isTrue();
    } finally {
      get(c.kv().delete(data));
      get(c.kv().delete(unguarded));
    }
    t.close();
    await().atMost(Timing.seconds(5)).until(() -> keys(t.client(), name).isEmpty());
  }

  private static List<String> after(ChildJvm child, int skip) {
    List<String> all = child.lines();
    return all.subList(skip, all.size());
  }

  private static String line(List<String> lines, String prefix) {
    return lines.stream().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow();
  }
}
