package io.etcdrecipes.election;

import static io.etcdrecipes.election.ElectionTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.Registration;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.ChildProcess;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Etcdctl;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Our {@link Election} and Go's ({@code etcdctl elect}, etcd's {@code concurrency.Election}) in one election, both
 * ways: our {@code observe} and {@code leader()} see Go's leader, its key and its proposal, and our campaign waits
 * behind it and wins when the etcdctl process is interrupted (it resigns); {@code etcdctl elect -l} prints our
 * leader's key and value, and each value we proclaim, and Go's candidate, queued behind us, becomes leader when we
 * resign. Runs on etcd 3.4 and, as an interop test, on 3.5 with etcdctl 3.5.
 */
class ElectionInteropTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private static final Duration WAIT = Timing.seconds(10);

  private final ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  private ChildProcess etcdctl(String... args) {
    return t.closeLater(new Etcdctl(etcd.endpoints()).start(args));
  }

  /** Our observer of {@code name}: "value@key" of each leader, "-" for none. */
  private List<String> observe(Session s, String name) {
    List<String> seen = new CopyOnWriteArrayList<>();
    Registration r = Election.create(s, name).observe(new LeaderListener() {
      @Override
      public void leaderChanged(LeaderInfo leader) {
        seen.add(leader.valueUtf8() + "@" + leader.key().toStringUtf8());
      }

      @Override
      public void noLeader(long revision) {
        seen.add("-");
      }
    });
    t.closeLater(r);
    return seen;
  }

  @Test
  void weSeeGosLeaderAndOurCampaignWinsWhenEtcdctlIsInterrupted() throws Exception {
    String name = "interop/go-leads";
    Session s = t.session();
    List<String> seen = observe(s, name);
    await().atMost(WAIT).until(() -> seen.contains("-"));

    ChildProcess goLeader = etcdctl("elect", name, "go-proposal");
    String goKey = goLeader.awaitLine(WAIT);
    assertThat(goLeader.awaitLine(WAIT)).isEqualTo("go-proposal");
    assertThat(goKey).matches(name + "/[0-9a-f]+");

    Election ours = Election.create(s, name);
    LeaderInfo leader = ours.leader().orElseThrow();
    assertThat(leader.key().toStringUtf8()).isEqualTo(goKey);
    assertThat(leader.valueUtf8()).isEqualTo("go-proposal");
    assertThat(Long.toHexString(leader.leaseId())).isEqualTo(goKey.substring(goKey.lastIndexOf('/') + 1));
    await().atMost(WAIT).until(() -> seen.contains("go-proposal@" + goKey));

    CompletableFuture<Leadership> campaign = ours.campaignAsync(ByteSequence.of("java-proposal"));
    EtcdClient c = s.client();
    await().atMost(WAIT).until(() -> keys(c, name).size() == 2);
    assertThat(ours.candidates()).extracting(LeaderInfo::valueUtf8).containsExactly("go-proposal", "java-proposal");
    assertThat(campaign).as("our campaign while Go leads").isNotDone();

    goLeader.interrupt(); // Ctrl-C: etcdctl resigns and exits
    assertThat(goLeader.awaitExit(WAIT)).isZero();
    Leadership term = get(campaign, WAIT);
    assertThat(term.key()).isEqualTo(ours.key());
    assertThat(term.fencingToken()).isGreaterThan(leader.createRevision());
    await().atMost(WAIT).until(() -> seen.size() >= 3);
    assertThat(seen).containsExactly("-", "go-proposal@" + goKey, "java-proposal@" + term.key().toStringUtf8());

    ChildProcess goObserver = etcdctl("elect", "-l", name);
    assertThat(goObserver.awaitLine(WAIT)).isEqualTo(term.key().toStringUtf8());
    assertThat(goObserver.awaitLine(WAIT)).isEqualTo("java-proposal");
    assertThat(term.resign()).isTrue();
  }

  @Test
  void etcdctlSeesOurLeaderAndItsProclaimsAndGosCandidateWinsWhenWeResign() throws Exception {
    String name = "interop/java-leads";
    Session s = t.session();
    List<String> seen = observe(s, name);
    await().atMost(WAIT).until(() -> seen.contains("-"));
    Election ours = Election.create(s, name);
    Leadership term = ours.campaign("java-1", WAIT);
    String ourKey = term.key().toStringUtf8();

    ChildProcess goObserver = etcdctl("elect", "-l", name);
    assertThat(goObserver.awaitLine(WAIT)).isEqualTo(ourKey);
    assertThat(goObserver.awaitLine(WAIT)).isEqualTo("java-1");

    ChildProcess goCandidate = etcdctl("elect", name, "go-2");
    EtcdClient c = s.client();
    await().atMost(WAIT).until(() -> keys(c, name).size() == 2);
    assertThat(ours.candidates()).extracting(LeaderInfo::valueUtf8).containsExactly("java-1", "go-2");
    assertThat(goCandidate.lines()).as("Go's candidate prints its key only once elected").isEmpty();

    term.proclaim("java-2");
    assertThat(goObserver.awaitLine(WAIT)).isEqualTo(ourKey);
    assertThat(goObserver.awaitLine(WAIT)).isEqualTo("java-2");

    assertThat(term.resign()).isTrue();
    String goKey = goCandidate.awaitLine(WAIT);
    assertThat(goCandidate.awaitLine(WAIT)).isEqualTo("go-2");
    assertThat(goObserver.awaitLine(WAIT)).isEqualTo(goKey);
    assertThat(goObserver.awaitLine(WAIT)).isEqualTo("go-2");
    LeaderInfo leader = ours.leader().orElseThrow();
    assertThat(leader.key().toStringUtf8()).isEqualTo(goKey);
    assertThat(leader.valueUtf8()).isEqualTo("go-2");
    assertThat(leader.createRevision()).isGreaterThan(term.fencingToken());
    await().atMost(WAIT).until(() -> seen.size() >= 4);
    assertThat(seen).containsExactly("-", "java-1@" + ourKey, "java-2@" + ourKey, "go-2@" + goKey);

    goCandidate.interrupt();
    assertThat(goCandidate.awaitExit(WAIT)).isZero();
    await().atMost(WAIT).until(() -> keys(c, name).isEmpty());
    await().atMost(WAIT).until(() -> seen.size() >= 5);
    assertThat(seen.get(4)).isEqualTo("-");
  }
}
