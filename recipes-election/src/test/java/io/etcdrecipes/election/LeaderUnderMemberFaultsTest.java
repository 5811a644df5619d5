package io.etcdrecipes.election;

import static io.etcdrecipes.election.ElectionTestSupport.end;
import static io.etcdrecipes.election.ElectionTestSupport.openStreams;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.History;
import io.etcdrecipes.testkit.Hold;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * An etcd member dies under an election of three {@link LeaderLatch}es (TTL 2 s, each on a client of its own with
 * every member's endpoint; 3 members, fast elections): the member that carries the leader's keep-alive stream (found
 * by the members' own count of open {@code LeaseKeepAlive} streams), or the etcd cluster's raft leader. Either the
 * leadership is undisturbed (the client moves its streams to another member before the session is suspended) or it is
 * handed over — the leader told {@code notLeader} before anyone else is told {@code isLeader}. The terms, recorded as
 * holds from {@code isLeader} to {@code notLeader} (or the end of the test), never overlap, and their fencing tokens
 * increase; afterwards exactly one latch leads, etcd's leader key is its key, it can write under its guard and every
 * earlier term's guard is rejected.
 */
class LeaderUnderMemberFaultsTest {

  private static final Logger log = LoggerFactory.getLogger(LeaderUnderMemberFaultsTest.class);
  private static final Duration TTL = Duration.ofSeconds(2);

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
  void theMemberTheLeaderTalksToIsKilled() throws Exception {
    run("mf/own-member", leadersMember -> leadersMember);
  }

  @Test
  void theEtcdLeaderIsKilled() throws Exception {
    run("mf/etcd-leader", leadersMember -> etcd.cluster().leader());
  }

  private void run(String name, Function<EtcdMember, EtcdMember> victimOf) throws Exception {
    History history = new History();
    Map<String, LeaderLatch> latches = new HashMap<>();
    Map<String, Hold> holds = new HashMap<>();
    List<Leadership> terms = new CopyOnWriteArrayList<>();

    Map<EtcdMember, Long> before = new HashMap<>();
    for (EtcdMember m : etcd.members()) {
      before.put(m, openStreams(m, "LeaseKeepAlive"));
    }
    LeaderLatch a = latch(name, "a", history, latches, holds, terms);
    Leadership first = a.await(Timing.seconds(10));
    EtcdMember[] found = new EtcdMember[1];
    await().atMost(Timing.seconds(5)).until(() -> {
      List<EtcdMember> with = etcd.members().stream()
          .filter(m -> openStreams(m, "LeaseKeepAlive") > before.get(m)).toList();
      found[0] = with.size() == 1 ? with.get(0) : null;
      return found[0] != null;
    });
    EtcdMember leadersMember = found[0];
    latch(name, "b", history, latches, holds, terms);
    latch(name, "c", history, latches, holds, terms);
    await().atMost(Timing.seconds(5)).until(() -> a.participants().size() == 3);

    EtcdMember victim = victimOf.apply(leadersMember);
    EtcdMember etcdLeader = etcd.cluster().leader();
    log.info("{}: a leads (token {}); its keep-alive stream is on {}, the etcd leader is {}; killing {}", name,
        first.fencingToken(), leadersMember.name(), etcdLeader.name(), victim.name());
    victim.kill();
    // never two latches that think they lead, while the client moves and a lease may expire (polled)
    await().during(TTL.plusSeconds(1)).atMost(TTL.plusSeconds(2))
        .until(() -> latches.values().stream().filter(LeaderLatch::hasLeadership).count() <= 1);
    EtcdClient c = t.client();
    String[] leader = new String[1];
    await().atMost(Timing.seconds(10)).until(() -> {
      List<String> leading = latches.entrySet().stream().filter(e -> e.getValue().hasLeadership())
          .map(Map.Entry::getKey).toList();
      leader[0] = leading.size() == 1 ? leading.get(0) : null;
      return leader[0] != null && leader[0].equals(leaderValue(c, name));
    });
    Leadership now = latches.get(leader[0]).leadership().orElseThrow();
    get(now.commit(c.kv(), Op.put(ByteSequence.of(name + "-data"), ByteSequence.of(leader[0]))));
    for (Leadership old : terms) {
      if (old != now) {
        assertThat(get(old.txn(c.kv()).then(Op.put(ByteSequence.of(name + "-data"), ByteSequence.of("stale")))
            .commit()).succeeded()).as("the guard of the earlier term %s", old).isFalse();
        assertThatLost(old.commit(c.kv(), Op.put(ByteSequence.of(name + "-data"), ByteSequence.of("stale"))));
      }
    }
    boolean undisturbed = now == first && terms.size() == 1;
    log.info("{}: {}; terms: {}", name, undisturbed ? "leadership undisturbed"
        : "leadership handed over", history.holds().list());
    victim.start();
    for (String id : latches.keySet()) {
      synchronized (this) {
        Hold h = holds.get(id);
        if (h != null) {
          end(h, false);
        }
      }
    }
    history.holds().noOverlap().tokensIncrease();
    assertThat(get(c.kv().get(name + "-data")).first().value().toStringUtf8()).isEqualTo(leader[0]);
    get(c.kv().delete(name + "-data"));
  }

  /** The value of the oldest candidate key: etcd's view of who leads. */
  private static String leaderValue(EtcdClient c, String name) {
    io.etcdrecipes.client.KeyValue kv = get(c.kv().get(ByteSequence.of(name + "/"),
        io.etcdrecipes.client.GetOption.firstCreate())).first();
    return kv == null ? null : kv.value().toStringUtf8();
  }

  private static void assertThatLost(java.util.concurrent.CompletableFuture<?> f) {
    assertThat(io.etcdrecipes.testkit.Futures.failure(f)).isInstanceOf(OwnershipLostException.class);
  }

  private LeaderLatch latch(String name, String id, History history, Map<String, LeaderLatch> latches,
                            Map<String, Hold> holds, List<Leadership> terms) {
    LeaderLatch l = t.closeLater(LeaderLatch.builder(t.client(etcd.endpoints(), Timing.seconds(2)), name, id)
        .ttl(TTL).build());
    l.addListener(new LeaderLatchListener() {
      @Override
      public void isLeader(Leadership term) {
        synchronized (LeaderUnderMemberFaultsTest.this) {
          terms.add(term);
          holds.put(id, history.acquired(id, term.fencingToken()));
        }
      }

      @Override
      public void notLeader() {
        synchronized (LeaderUnderMemberFaultsTest.this) {
          Hold h = holds.remove(id);
          if (h != null) {
            end(h, true);
          }
        }
      }
    });
    latches.put(id, l);
    l.start();
    return l;
  }
}
