package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.lock.LockTestSupport.keysOnLease;
import static io.etcdrecipes.testkit.Futures.failure;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionState;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A waiter is cut off (its client reaches the cluster only through one member's proxy, blackholed) when its turn
 * comes: the holder releases during the cut. Cut until its session is SUSPENDED, then healed: it gets the lock only
 * once the session is usable again (RECONNECTED), never while suspended. Cut until the server expired its lease: it
 * never gets the lock — its wait fails after the heal — and a third contender gets it instead. What would make it
 * fail: a waiter that owns on the first read after the heal without asking its session, or that owns with a key
 * the server has deleted.
 */
class LockWaiterCutOffTest {

  private static final Logger log = LoggerFactory.getLogger(LockWaiterCutOffTest.class);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    etcd.cluster().healAll();
    t.close();
  }

  @ParameterizedTest
  @EnumSource(value = LockTestSupport.Kind.class, names = {"MUTEX", "WRITE", "PERMIT"})
  void aWaiterWhoseTurnCameWhileItWasSuspendedOwnsOnlyOnceReconnected(LockTestSupport.Kind kind) throws Exception {
    String name = "wcut/suspended-" + kind.name().toLowerCase();
    EtcdMember via = etcd.member(0);
    EtcdClient direct = t.client();
    EtcdClient cut = t.client(via.proxiedEndpoint(), Duration.ofSeconds(2));
    // TTL 4 s: suspended after 2 s without a renewal, while the server keeps the lease at least 2.67 s
    Map<SessionState, Long> firstSeen = new ConcurrentHashMap<>();
    Session s = t.session(cut, Duration.ofSeconds(4));
    s.addListener((x, state) -> firstSeen.putIfAbsent(state, System.nanoTime()));
    Ownership holder = kind.on(t.session(direct), name, 1).lock(Timing.seconds(5));
    CompletableFuture<Long> acquiredAt = new CompletableFuture<>();
    CompletableFuture<SessionState> stateWhenAcquired = new CompletableFuture<>();
    CompletableFuture<Ownership> waiter = kind.on(s, name, 1).lockAsync()
        .whenComplete((o, e) -> { // on the thread that completes the lock, as it completes
          acquiredAt.complete(System.nanoTime());
          stateWhenAcquired.complete(s.state());
        });
    await().atMost(Timing.seconds(5)).until(() -> keys(direct, name).size() == 2);

    long cutAt = System.nanoTime();
    via.proxy().blackhole();
    holder.close(); // the waiter's turn, which it cannot hear of
    await().atMost(Timing.seconds(10)).until(() -> s.state() == SessionState.SUSPENDED);
    assertThat(keysOnLease(direct, name, s.leaseId())).as("the waiter's key, still on the server").hasSize(1);
    via.proxy().heal();
    Ownership got = get(waiter, Timing.seconds(10));
    long acquired = get(acquiredAt);
    Long reconnected = firstSeen.get(SessionState.RECONNECTED);
    log.info("{}: cut at 0 ms, suspended at {} ms, healed; reconnected at {} ms, acquired at {} ms", kind,
        since(cutAt, firstSeen.get(SessionState.SUSPENDED)), since(cutAt, reconnected), since(cutAt, acquired));
    assertThat(reconnected).as("the session reconnected").isNotNull();
    // the listeners hear RECONNECTED on their executor, a little after the state changed: the lock may come first,
    // but never while the session was still suspended
    assertThat(get(stateWhenAcquired)).as("acquired only once the session was usable again")
        .isIn(SessionState.RECONNECTED, SessionState.CONNECTED);
    assertThat(acquired).as("acquired after the suspension").isGreaterThan(firstSeen.get(SessionState.SUSPENDED));
    assertThat(got.isValid()).isTrue();
    KeyValue key = get(direct.kv().get(got.key())).first();
    assertThat(key).isNotNull();
    assertThat(key.createRevision()).isEqualTo(got.fencingToken());
    got.close();
    assertThat(keys(direct, name)).isEmpty();
  }

  private static String since(long start, Long at) {
    return at == null ? "-" : String.valueOf(TimeUnit.NANOSECONDS.toMillis(at - start));
  }

  @ParameterizedTest
  @EnumSource(value = LockTestSupport.Kind.class, names = {"MUTEX", "WRITE", "PERMIT"})
  void aWaiterCutOffUntilItsLeaseExpiredNeverOwnsAndTheNextContenderDoes(LockTestSupport.Kind kind) throws Exception {
    String name = "wcut/expired-" + kind.name().toLowerCase();
    EtcdMember via = etcd.member(0);
    EtcdClient direct = t.client();
    EtcdClient cut = t.client(via.proxiedEndpoint(), Duration.ofSeconds(2));
    Session s = t.session(cut, Duration.ofSeconds(2));
    Ownership holder = kind.on(t.session(direct), name, 1).lock(Timing.seconds(5));
    CompletableFuture<Ownership> waiter = kind.on(s, name, 1).lockAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys(direct, name).size() == 2);
    CompletableFuture<Ownership> third = kind.on(t.session(direct), name, 1).lockAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys(direct, name).size() == 3);

    via.proxy().blackhole();
    holder.close(); // the cut-off waiter's turn
    await().atMost(Timing.seconds(10)).until(() -> keysOnLease(direct, name, s.leaseId()).isEmpty()); // expired
    Ownership next = get(third, Timing.seconds(10));
    assertThat(waiter).as("the cut-off waiter while the third holds").isNotDone();
    via.proxy().heal();
    Throwable why = failure(waiter, Timing.seconds(10));
    log.info("{}: the cut-off waiter's lease expired; the third contender holds; after the heal the waiter failed "
        + "with {}", kind, why.toString());
    assertThat(why).isInstanceOf(EtcdException.class);
    assertThat(next.isValid()).isTrue();
    next.close();
    assertThat(keys(direct, name)).isEmpty();
  }
}
