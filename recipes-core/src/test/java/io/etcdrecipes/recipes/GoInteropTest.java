package io.etcdrecipes.recipes;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.testkit.ChildProcess;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Etcdctl;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The shared mechanics the lock and election recipes will stand on, against Go's own: {@code etcdctl lock} and
 * {@code etcdctl elect} (etcd's Go {@code concurrency} package) as peers on the same prefixes. Our owner keys
 * queue behind theirs and theirs behind ours; a leader read sees Go's proposal and Go's observer sees ours.
 */
class GoInteropTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(1).unsafeNoFsync(true).build();

  private static final Duration WAIT = Timing.seconds(10);

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private EtcdClient client() {
    EtcdClient c = EtcdClient.builder().endpoints(etcd.endpoints()).callTimeout(Duration.ofSeconds(5)).build();
    toClose.add(c);
    return c;
  }

  private Session session(EtcdClient c) throws InterruptedException {
    Session s = Session.builder(c).ttl(Duration.ofSeconds(10)).build();
    toClose.add(s);
    return s;
  }

  /** etcdctl (Go's concurrency package) as a peer; its output is read line by line, and it is killed after the test. */
  private ChildProcess etcdctl(String... args) {
    ChildProcess p = new Etcdctl(etcd.endpoints()).start(args);
    toClose.add(p);
    return p;
  }

  @Test
  void ourContenderQueuesBehindEtcdctlLockAndIsWokenByItsRelease() throws Exception {
    EtcdClient c = client();
    ChildProcess holder = etcdctl("lock", "interop/lock");
    String goKey = holder.awaitLine(WAIT); // etcdctl prints its key once it holds the lock
    assertThat(goKey).matches("interop/lock/[0-9a-f]+");

    Session s = session(c);
    OwnerKey mine = get(Keys.createOrGet(c.kv(), "interop/lock", s.leaseId(), ""));
    assertThat(mine.key().toStringUtf8()).isEqualTo("interop/lock/" + Long.toHexString(s.leaseId()));
    assertThat(mine.isOldest()).isFalse();
    assertThat(mine.oldest().key().toStringUtf8()).isEqualTo(goKey);

    WaitForDelete w = WaitForDelete.start(c.kv(), c.watch(), Keys.ownerPrefix(ByteSequence.of("interop/lock")),
        mine.createRevision() - 1);
    toClose.add(w);
    await().atMost(WAIT).until(() -> ByteSequence.of(goKey).equals(w.watching()));
    assertThat(w.isDone()).isFalse();

    holder.interrupt(); // etcdctl unlocks on SIGINT
    w.await(WAIT);
    assertThat(holder.awaitExit(WAIT)).isZero();
    OwnerKey now = get(Keys.createOrGet(c.kv(), "interop/lock", s.leaseId(), ""));
    assertThat(now.created()).isFalse();
    assertThat(now.isOldest()).isTrue();
    assertThat(now.guard().fencingToken()).isEqualTo(mine.createRevision());
  }

  @Test
  void etcdctlLockWaitsForOurKeyAndGetsTheLockWhenOurSessionCloses() throws Exception {
    EtcdClient c = client();
    Session s = session(c);
    OwnerKey mine = get(Keys.createOrGet(c.kv(), "interop/ours", s.leaseId(), ""));
    assertThat(mine.isOldest()).isTrue();

    // etcdctl runs the command only once it holds the lock
    ChildProcess waiter = etcdctl("lock", "interop/ours", "echo", "go-got-it");
    // it queues: a second key under the prefix, younger than ours, and no output while ours exists
    await().atMost(WAIT).until(() -> get(c.kv().get(ByteSequence.of("interop/ours/"), GetOption.prefix()))
        .count() == 2);
    List<KeyValue> keys = get(c.kv().get(ByteSequence.of("interop/ours/"), GetOption.prefix())).kvs();
    assertThat(keys).anySatisfy(kv -> assertThat(kv.createRevision()).isGreaterThan(mine.createRevision()));
    assertThat(waiter.lines()).isEmpty();
    assertThat(waiter.isAlive()).isTrue();

    s.close(); // revokes the lease: our key goes at once
    assertThat(waiter.awaitLine(WAIT)).isEqualTo("go-got-it");
    assertThat(waiter.awaitExit(WAIT)).isZero();
    assertThat(get(c.kv().get(ByteSequence.of("interop/ours/"), GetOption.prefix())).count()).isZero();
  }

  @Test
  void leaderReadsAgreeWithEtcdctlElectBothWays() throws Exception {
    EtcdClient c = client();
    // Go campaigns and wins; our leader read (first by create revision) sees its key and proposal
    ChildProcess goLeader = etcdctl("elect", "interop/elect", "go-proposal");
    String goKey = goLeader.awaitLine(WAIT);
    assertThat(goLeader.awaitLine(WAIT)).isEqualTo("go-proposal");
    KeyValue leader = get(c.kv().get(Keys.ownerPrefix(ByteSequence.of("interop/elect")), GetOption.firstCreate()))
        .first();
    assertThat(leader.key().toStringUtf8()).isEqualTo(goKey);
    assertThat(leader.value().toStringUtf8()).isEqualTo("go-proposal");

    // our candidate queues behind it; when Go resigns (SIGINT), ours is the oldest and Go's observer says so
    Session s = session(c);
    OwnerKey mine = get(Keys.createOrGet(c.kv(), "interop/elect", s.leaseId(), "java-proposal"));
    assertThat(mine.isOldest()).isFalse();
    goLeader.interrupt();
    assertThat(goLeader.awaitExit(WAIT)).isZero();
    await().atMost(WAIT).until(() -> get(Keys.createOrGet(c.kv(), "interop/elect", s.leaseId(), "java-proposal"))
        .isOldest());
    ChildProcess observer = etcdctl("elect", "--listen", "interop/elect");
    assertThat(observer.awaitLine(WAIT)).isEqualTo(mine.key().toStringUtf8());
    assertThat(observer.awaitLine(WAIT)).isEqualTo("java-proposal");
  }
}
