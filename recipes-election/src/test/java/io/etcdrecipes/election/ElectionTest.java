package io.etcdrecipes.election;

import static io.etcdrecipes.election.ElectionTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.recipes.Keys;
import io.etcdrecipes.recipes.OwnerKey;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Registration;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionLostException;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;

/** The Go-compatible election on one member: campaign, proclaim, resign, leader, observe, resume, bad input. */
class ElectionTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void anUncontendedCampaignWinsAtOnceWithGosKeyAndValue() throws Exception {
    Session s = t.session();
    Election e = Election.create(s, "el/plain");
    try (Leadership term = e.campaign("node-1", Timing.seconds(5))) {
      assertThat(term.key().toStringUtf8()).isEqualTo("el/plain/" + Long.toHexString(s.leaseId()));
      LeaderInfo leader = e.leader().orElseThrow();
      assertThat(leader.valueUtf8()).isEqualTo("node-1");
      assertThat(leader.createRevision()).isEqualTo(term.fencingToken());
      assertThat(leader.leaseId()).isEqualTo(s.leaseId());
      get(term.commit(s.client().kv(), Op.put(ByteSequence.of("el/plain-data"), ByteSequence.of("x"))));
    }
    assertThat(Election.create(s, "el/plain").leader()).isEmpty();
  }

  @Test
  void theNextCandidateLeadsWhenTheLeaderResignsAndTokensIncrease() throws Exception {
    Election a = Election.create(t.session(), "el/handoff");
    Election b = Election.create(t.session(), "el/handoff");
    Leadership first = a.campaign("a", Timing.seconds(5));
    CompletableFuture<Leadership> second = b.campaignAsync(ByteSequence.of("b"));
    EtcdClient c = t.client();
    await().atMost(Timing.seconds(5)).until(() -> keys(c, "el/handoff").size() == 2);
    assertThat(second).isNotDone();
    assertThat(a.candidates()).extracting(LeaderInfo::valueUtf8).containsExactly("a", "b");
    assertThat(first.resign()).isTrue();
    Leadership next = get(second);
    assertThat(next.fencingToken()).isGreaterThan(first.fencingToken());
    assertThat(a.leader().orElseThrow().valueUtf8()).isEqualTo("b");
    next.close();
  }

  @Test
  void observeReportsEveryLeaderAndProclaimOnceInOrder() throws Exception {
    Session observerSession = t.session();
    List<String> seen = new CopyOnWriteArrayList<>();
    Registration r = Election.create(observerSession, "el/observe").observe(new LeaderListener() {
      @Override
      public void leaderChanged(LeaderInfo leader) {
        seen.add(leader.valueUtf8());
      }

      @Override
      public void noLeader(long revision) {
        seen.add("-");
      }
    });
    await().atMost(Timing.seconds(5)).until(() -> seen.contains("-"));
    Election a = Election.create(t.session(), "el/observe");
    Election b = Election.create(t.session(), "el/observe");
    Leadership ta = a.campaign("a", Timing.seconds(5));
    CompletableFuture<Leadership> tb = b.campaignAsync(ByteSequence.of("b"));
    // b in line before a resigns: else there is a moment with no leader, and the observer rightly reports it
    await().atMost(Timing.seconds(5)).until(() -> get(observerSession.client().kv()
        .get(ByteSequence.of("el/observe/"), GetOption.prefix())).count() == 2);
    ta.proclaim("a2");
    ta.proclaim("a3");
    ta.resign();
    Leadership lb = get(tb);
    lb.proclaim("b2");
    lb.resign();
    await().atMost(Timing.seconds(5)).until(() -> seen.size() >= 7);
    assertThat(seen).containsExactly("-", "a", "a2", "a3", "b", "b2", "-");
    r.close();
  }

  @Test
  void campaigningWithAnExistingKeyProclaimsTheNewValueAsGoDoes() throws Exception {
    Session s = t.session();
    OwnerKey existing = get(Keys.createOrGet(s.client().kv(), "el/existing", s.leaseId(), "old"));
    Election e = Election.create(s, "el/existing");
    try (Leadership term = e.campaign("new", Timing.seconds(5))) {
      assertThat(term.fencingToken()).isEqualTo(existing.createRevision());
      assertThat(e.leader().orElseThrow().valueUtf8()).isEqualTo("new");
    }
  }

  @Test
  void aTimedOutCampaignLeavesNoKey() throws Exception {
    Election a = Election.create(t.session(), "el/timeout");
    try (Leadership term = a.campaign("a", Timing.seconds(5))) {
      Election b = Election.create(t.session(), "el/timeout");
      assertThatThrownBy(() -> b.campaign("b", Duration.ofMillis(300))).isInstanceOf(TimeoutException.class);
      assertThat(keys(t.client(), "el/timeout")).containsExactly(term.key().toStringUtf8());
    }
  }

  @Test
  void aTermIsResumedAfterARestartAndALostTermCannotProclaim() throws Exception {
    Session before = t.session(t.client(), Duration.ofSeconds(10));
    Leadership term = Election.create(before, "el/resume").campaign("a", Timing.seconds(5));
    long token = term.fencingToken();
    assertThatThrownBy(() -> Election.create(before, "el/resume").resume(token))
        .isInstanceOf(IllegalStateException.class); // one candidate per session
    before.orphan(); // the process "restarts": the lease and the leader key stay

    Session after = t.closeLater(Session.builder(t.client()).leaseId(before.leaseId()).build(Timing.seconds(10)));
    Election e = Election.create(after, "el/resume");
    // a resume given up before its read is answered takes nothing up and keeps the key (3a1bbbf resigned the term)
    CompletableFuture<Leadership> givenUp = e.resumeAsync(token);
    Leadership again;
    if (givenUp.cancel(false)) {
      await().during(Timing.millis(300)).atMost(Timing.seconds(2))
          .until(() -> keys(t.client(), "el/resume").size() == 1);
      again = get(e.resumeAsync(token), Timing.seconds(5)); // resume(token), as a future
    } else {
      again = get(givenUp); // answered before the cancel (unlikely): that is the term
    }
    assertThat(again.fencingToken()).isEqualTo(token);
    assertThat(again.isValid()).isTrue();
    assertThat(term.isValid()).isFalse(); // the old process's term ended with its session
    again.proclaim("a-restarted");
    assertThat(e.leader().orElseThrow().valueUtf8()).isEqualTo("a-restarted");
    assertThat(again.resign()).isTrue();
    assertThatThrownBy(() -> again.proclaim("b")).isInstanceOf(OwnershipLostException.class);
    assertThatThrownBy(() -> e.resume(token)).isInstanceOf(OwnershipLostException.class);
  }

  @Test
  void aCandidateResumedAfterARestartIsNotHandedALeadersTerm() throws Exception {
    // on the old code resume did not check that the key is the oldest: a restarted candidate got a leader's handle
    String name = "el/resume-candidate";
    Session leader = t.session(t.client(), Duration.ofSeconds(10));
    Session before = t.session(t.client(), Duration.ofSeconds(10));
    try (Leadership term = Election.create(leader, name).campaign("a", Timing.seconds(5))) {
      // a candidate's key, as a candidate process leaves it when it dies while it waits
      ByteSequence candidateKey = Keys.ownerKey(ByteSequence.of(name), before.leaseId());
      long token = get(t.client().kv().put(candidateKey, ByteSequence.of("b"),
          io.etcdrecipes.client.PutOption.lease(before.leaseId()))).header().revision();
      before.orphan(); // the process "restarts": its lease and its key stay

      Session after = t.closeLater(Session.builder(t.client()).leaseId(before.leaseId()).build(Timing.seconds(10)));
      assertThatThrownBy(() -> Election.create(after, name).resume(token))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("not the leader");
      assertThat(keys(t.client(), name)).hasSize(2); // left in place
      assertThat(term.isValid()).isTrue();

      // campaigning on the resumed session takes the key up and waits for its turn
      CompletableFuture<Leadership> next = Election.create(after, name).campaignAsync("b");
      assertThat(term.resign()).isTrue();
      Leadership won = get(next, Timing.seconds(5));
      assertThat(won.fencingToken()).isEqualTo(token);
      assertThat(won.resign()).isTrue();
    }
    assertThat(keys(t.client(), name)).isEmpty();
  }

  @Test
  void badInputIsRejectedBeforeAnythingIsWritten() throws Exception {
    Session s = t.session();
    assertThatThrownBy(() -> Election.create(s, "")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("name");
    assertThatThrownBy(() -> Election.create(s, "el/")).isInstanceOf(IllegalArgumentException.class);
    Election e = Election.create(s, "el/bad");
    assertThatThrownBy(() -> e.campaign("", Timing.seconds(1))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("value");
    assertThatThrownBy(() -> e.campaign(ByteSequence.of(new byte[Election.MAX_VALUE_BYTES + 1]), Timing.seconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("value");
    assertThatThrownBy(() -> e.campaign("x", Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("timeout");
    s.close();
    assertThatThrownBy(() -> e.campaign("x")).isInstanceOf(SessionLostException.class);
    assertThat(keys(t.client(), "el/bad")).isEmpty();
  }
}
