package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.ChildProcess;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Etcdctl;
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
 * Our {@link Mutex} and {@code etcdctl lock NAME -- CMD} (Go's {@code concurrency.Mutex}) exclude each other, in both
 * directions, and use one key layout: {@code NAME/<lowercase hex lease id>}, the oldest create revision holding.
 * etcdctl's CMD prints what it was given ({@code ETCD_LOCK_KEY}, {@code ETCD_LOCK_REV}) and its pid, then sleeps
 * (exec, so the pid is the sleep's); the test ends the command to make etcdctl unlock. The name ends in
 * {@code InteropTest}, so it runs on etcd 3.4 and 3.5 (with that version's etcdctl).
 */
class LockInteropTest {

  private static final Logger log = LoggerFactory.getLogger(LockInteropTest.class);
  /** etcdctl's own session TTL is 10 s by default: a handoff well inside it came from its unlock, not its expiry. */
  private static final Duration HANDOFF = Duration.ofSeconds(5);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  /** {@code etcdctl lock NAME -- sh -c 'echo HELD key rev pid; exec sleep 30'}. */
  private ChildProcess etcdctlLock(String name) {
    return new Etcdctl(etcd.endpoints()).start("lock", name, "--", "sh", "-c",
        "echo HELD $ETCD_LOCK_KEY $ETCD_LOCK_REV $$; exec sleep 30");
  }

  /** What etcdctl's command printed once it held the lock. */
  private record Held(String key, long rev, long pid) {
    static Held of(String line) {
      String[] p = line.split(" ");
      return new Held(p[1], Long.parseLong(p[2]), Long.parseLong(p[3]));
    }

    /** Ends the command: etcdctl unlocks (deletes its key) and exits. */
    void end() {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
    }
  }

  /** The key is Go's layout: the name, a slash, the lowercase hex lease id without padding. */
  private static KeyValue assertGoLayout(EtcdClient c, String name, String key) {
    KeyValue kv = get(c.kv().get(ByteSequence.of(key))).first();
    assertThat(kv).as("key %s", key).isNotNull();
    assertThat(key).isEqualTo(name + "/" + Long.toHexString(kv.lease())).matches(name + "/[0-9a-f]+");
    return kv;
  }

  @Test
  void whileEtcdctlHoldsTheLockOurMutexWaitsAndGetsItWhenEtcdctlUnlocks() throws Exception {
    String name = "interop/go-first";
    EtcdClient c = t.client();
    try (ChildProcess go = etcdctlLock(name)) {
      Held held = Held.of(go.awaitLine("HELD ", Timing.seconds(20)));
      KeyValue goKey = assertGoLayout(c, name, held.key());
      assertThat(held.rev()).as("ETCD_LOCK_REV").isGreaterThanOrEqualTo(goKey.createRevision());

      Session s = t.session(c);
      assertThat(Mutex.create(t.session(c), name).tryLock()).as("tryLock while etcdctl holds").isEmpty();
      assertThat(keys(c, name)).containsExactly(held.key());
      Mutex mutex = Mutex.create(s, name);
      CompletableFuture<Ownership> ours = mutex.lockAsync();
      await().atMost(Timing.seconds(5)).until(() -> keys(c, name).size() == 2);
      KeyValue ourKey = assertGoLayout(c, name, mutex.key().toStringUtf8());
      assertThat(ourKey.lease()).isEqualTo(s.leaseId());
      assertThat(ourKey.createRevision()).isGreaterThan(goKey.createRevision());
      assertThat(ours).as("our mutex while etcdctl holds").isNotDone();

      long endedAt = System.nanoTime();
      held.end();
      Ownership got = get(ours, Timing.scaled(HANDOFF));
      log.info("etcdctl held {}; ours got {} {} ms after etcdctl's command ended", held.key(), got.key().toStringUtf8(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - endedAt));
      assertThat(got.fencingToken()).isEqualTo(ourKey.createRevision()).isGreaterThan(held.rev());
      assertThat(keys(c, name)).containsExactly(got.key().toStringUtf8()); // etcdctl unlocked: its key is gone
      got.close();
    }
    assertThat(keys(c, name)).isEmpty();
  }

  @Test
  void whileOurMutexHoldsEtcdctlWaitsAndGetsItWhenWeUnlock() throws Exception {
    String name = "interop/ours-first";
    EtcdClient c = t.client();
    Session s = t.session(c);
    Ownership ours = Mutex.create(s, name).lock(Timing.seconds(5));
    assertGoLayout(c, name, ours.key().toStringUtf8());
    try (ChildProcess go = etcdctlLock(name)) {
      await().atMost(Timing.seconds(20)).until(() -> keys(c, name).size() == 2);
      String goKeyName = keys(c, name).stream().filter(k -> !k.equals(ours.key().toStringUtf8())).findFirst().orElseThrow();
      KeyValue goKey = assertGoLayout(c, name, goKeyName);
      assertThat(goKey.createRevision()).isGreaterThan(ours.fencingToken());
      // etcdctl is queued behind us: its command must not run while we hold
      await().during(Duration.ofMillis(500)).atMost(Timing.seconds(2))
          .until(() -> go.lines().stream().noneMatch(l -> l.startsWith("HELD ")));

      long releasedAt = System.nanoTime();
      assertThat(ours.release()).isTrue();
      Held held = Held.of(go.awaitLine("HELD ", Timing.scaled(HANDOFF)));
      log.info("we held {}; etcdctl got {} {} ms after our release", ours.key().toStringUtf8(), held.key(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - releasedAt));
      assertThat(held.key()).isEqualTo(goKeyName);
      assertThat(held.rev()).isGreaterThan(ours.fencingToken());

      // and back: ours waits behind etcdctl again
      CompletableFuture<Ownership> again = Mutex.create(s, name).lockAsync();
      await().atMost(Timing.seconds(5)).until(() -> keys(c, name).size() == 2);
      assertThat(again).isNotDone();
      held.end();
      Ownership got = get(again, Timing.scaled(HANDOFF));
      assertThat(got.fencingToken()).isGreaterThan(goKey.createRevision());
      got.close();
    }
    assertThat(keys(c, name)).isEmpty();
  }
}
