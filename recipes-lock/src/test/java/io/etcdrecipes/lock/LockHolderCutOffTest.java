package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.failure;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The holder is cut off: its client reaches the cluster only through one member's proxy, which is blackholed past
 * the TTL. With the default policy the holder is told {@code lost()} (SESSION_SUSPENDED) before anyone else can get
 * the lock, the write lock or the permit (both instants recorded: the holder's loss first); then a contender gets it,
 * and the old holder's guarded writes are rejected — at once by {@link Ownership#commit} (it knows it lost), and after
 * the heal by the server, whose guard finds the key gone. What would make it fail: a loss reported only when the TTL
 * has run out locally (the server may have expired the lease first, and the contender may already hold), no loss at
 * all, a guard that does not compare the key's create revision.
 */
class LockHolderCutOffTest {

  private static final Logger log = LoggerFactory.getLogger(LockHolderCutOffTest.class);
  private static final Duration TTL = Duration.ofSeconds(2);
  private static final int PERMITS = 2;

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
  @EnumSource(value = LockTestSupport.Kind.class, names = {"MUTEX", "READ", "PERMIT"})
  void aCutOffHolderIsToldLostBeforeAnotherGetsItAndItsGuardedWritesAreRejected(LockTestSupport.Kind kind)
      throws Exception {
    String name = "cut/" + kind.name().toLowerCase();
    ByteSequence data = ByteSequence.of("cut/data-" + kind.name().toLowerCase());
    EtcdMember via = etcd.member(0);
    EtcdClient direct = t.client();
    EtcdClient cutOff = t.client(via.proxiedEndpoint(), Duration.ofSeconds(2));
    Session holderSession = t.session(cutOff, TTL);
    Ownership held = kind.on(holderSession, name, PERMITS).lock(Timing.seconds(10));
    CompletableFuture<Long> lostAt = new CompletableFuture<>();
    CompletableFuture<OwnershipLostException> why = new CompletableFuture<>();
    held.onLost(e -> {
      lostAt.complete(System.nanoTime());
      why.complete(e);
    });
    List<Ownership> others = new ArrayList<>();
    if (kind == LockTestSupport.Kind.PERMIT) { // the other permit is taken too: the contender waits for this one
      others.add(kind.on(t.session(direct, TTL), name, PERMITS).lock(Timing.seconds(10)));
    }
    int before = keys(direct, name).size();
    CompletableFuture<Long> acquiredAt = new CompletableFuture<>();
    CompletableFuture<Ownership> contender = kind.contender().on(t.session(direct, TTL), name, PERMITS).lockAsync()
        .whenComplete((o, e) -> acquiredAt.complete(System.nanoTime()));
    await().atMost(Timing.seconds(5)).until(() -> keys(direct, name).size() == before + 1);
    assertThat(contender).isNotDone();

    long cutAt = System.nanoTime();
    via.proxy().blackhole();
    long lost = get(lostAt, Timing.seconds(10));
    Ownership next = get(contender, Timing.seconds(15));
    long acquired = get(acquiredAt);
    log.info("{}: cut off at 0 ms; the holder told lost ({}) at {} ms, the contender acquired at {} ms (TTL {} s)",
        kind, get(why).reason(), TimeUnit.NANOSECONDS.toMillis(lost - cutAt),
        TimeUnit.NANOSECONDS.toMillis(acquired - cutAt), TTL.toSeconds());
    assertThat(get(why).reason()).isEqualTo(OwnershipLostException.Reason.SESSION_SUSPENDED);
    assertThat(lost).as("the old holder is told before the contender acquires").isLessThan(acquired);
    assertThat(next.fencingToken()).isGreaterThan(held.fencingToken());
    assertThat(held.isValid()).isFalse();

    // cut off: the guarded helper refuses without sending (the holder knows it lost)
    assertThat(failure(held.commit(cutOff.kv(), Op.put(data, ByteSequence.of("old holder, cut off")))))
        .isInstanceOf(OwnershipLostException.class);

    via.proxy().heal();
    // healed: the server itself rejects a write under the old guard, the key being gone
    TxnResponse r = get(held.txn(cutOff.kv()).then(Op.put(data, ByteSequence.of("old holder, healed"))).commit(),
        Timing.seconds(10));
    assertThat(r.succeeded()).as("a write under the old holder's guard after the heal").isFalse();
    assertThat(failure(held.commit(cutOff.kv(), Op.put(data, ByteSequence.of("old holder, healed")))))
        .isInstanceOf(OwnershipLostException.class);
    get(next.commit(direct.kv(), Op.put(data, ByteSequence.of("new holder"))));
    assertThat(get(direct.kv().get(data)).first().value().toStringUtf8()).isEqualTo("new holder");

    assertThat(held.release()).as("releasing what was lost").isFalse();
    next.close();
    others.forEach(Ownership::close);
    assertThat(keys(direct, name)).isEmpty();
    get(direct.kv().delete(data));
  }
}
