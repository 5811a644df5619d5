package io.etcdrecipes.election;

import static io.etcdrecipes.election.ElectionTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionState;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An {@link Election} term lost to a connection cut shorter than its TTL (2 s): the leader's client reaches the
 * cluster through one member's proxy, which is blackholed until the leader is told {@link Leadership#lost()} (its
 * session suspended, default policy) and then healed, so its session reconnects with its lease alive. {@link
 * Leadership}: "once lost, a term is over for good (campaign again for a new one, with a higher token)". So the
 * candidate waiting behind it must be elected once the old leader can reach etcd again, and the old leader's new
 * campaign on its (reconnected) session must give it a new term, with a higher token, behind that candidate — without
 * the application having to resign a term it was told is over.
 */
class ElectionLostTermTest {

  private static final Logger log = LoggerFactory.getLogger(ElectionLostTermTest.class);
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

  @Test
  void aTermLostToACutShorterThanItsTtlNoLongerHoldsTheElectionOnceItsSessionReconnects() throws Exception {
    String name = "lost/short-cut";
    EtcdClient cutOffable = t.client(etcd.member(0).proxiedEndpoint(), Timing.seconds(2));
    EtcdClient direct = t.client();
    Session sa = t.session(cutOffable, TTL);
    Election ea = Election.create(sa, name);
    Leadership a = ea.campaign("a", Timing.seconds(5));
    CompletableFuture<Leadership> b = Election.create(t.session(direct, TTL), name).campaignAsync("b");
    await().atMost(Timing.seconds(5)).until(() -> keys(direct, name).size() == 2);

    long cutAt = System.nanoTime();
    etcd.member(0).proxy().blackhole();
    OwnershipLostException why = get(a.lost(), Timing.seconds(5));
    assertThat(why.reason()).isEqualTo(OwnershipLostException.Reason.SESSION_SUSPENDED);
    etcd.member(0).proxy().heal();
    await().atMost(Timing.seconds(5)).until(() -> sa.state() == SessionState.RECONNECTED);
    log.info("a told it lost {} ms after the cut; its session reconnected; keys: {}",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cutAt), keys(direct, name));
    assertThat(a.isValid()).isFalse();

    // the term is over: the candidate behind it leads (a's key, on its live lease, must not keep it waiting)
    Leadership next = get(b, Timing.seconds(5));
    assertThat(next.fencingToken()).isGreaterThan(a.fencingToken());
    // and the old leader campaigns again for a new term, behind the new leader
    CompletableFuture<Leadership> again = ea.campaignAsync("a-again");
    await().atMost(Timing.seconds(5)).until(() -> keys(direct, name).size() == 2);
    assertThat(next.resign()).isTrue();
    Leadership newTerm = get(again, Timing.seconds(5));
    assertThat(newTerm.fencingToken()).isGreaterThan(next.fencingToken());
    newTerm.resign();
  }
}
