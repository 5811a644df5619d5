package io.etcdrecipes.recipes;

import static io.etcdrecipes.testkit.Futures.get;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.Watch;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

class MechanicsTest {

  private static final Logger log = LoggerFactory.getLogger(MechanicsTest.class);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private static EtcdClient client;

  @BeforeAll
  static void open() {
    client = EtcdClient.builder().endpoints(etcd.endpoints()).build();
  }

  @AfterAll
  static void close() {
    client.close();
  }



  /**
   * etcd before 3.4.38 and 3.5.22 can file a watch "from now" as unsynced (a write landed while it was created) and
   * send its events up to 100 ms late. A wait for a DELETE then reads the key itself, 10 to 100 ms after its watch was
   * created, and a key gone or created again under the same name (a lock's key when its session locks again) wakes
   * it. The watch here never delivers an event, so only those reads can end the wait: the key is deleted and created
   * again 20 ms after the watch exists (after the read that confirms it, before the later rechecks).
   */
  @Test
  void aWaitWhoseWatchIsHeldBackFindsTheDeleteByReadingTheKey() throws Exception {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    ByteSequence ahead = ByteSequence.of("held-back/a");
    try {
      Watch silent = new Watch() {
        @Override
        public Watcher watch(ByteSequence key, WatchOption option, WatchListener listener) {
          Watcher w = client.watch().watch(key, option, response -> { }); // every event held back for good
          w.created().thenRun(() -> timer.schedule(() -> client.kv().delete(ahead)
              .thenCompose(d -> client.kv().put(ahead, ByteSequence.of("again"))), 20, TimeUnit.MILLISECONDS));
          return w;
        }

        @Override
        public CompletableFuture<Void> requestProgress() {
          return client.watch().requestProgress();
        }
      };
      long rev = get(client.kv().put(ahead, ByteSequence.of("x"))).header().revision();
      WaitForDelete w = WaitForDelete.start(client.kv(), silent, ByteSequence.of("held-back/"), rev);
      get(w.future());
      assertThat(w.eventsReceived()).as("woken by a recheck (no event reaches it)").isEqualTo(1);
      assertThat(w.reads()).as("the first read, the one after the watch, the one after the wake-up").isEqualTo(3);
    } finally {
      timer.shutdownNow();
      get(client.kv().delete(ahead));
    }
  }

  @Test
  void ownerKeysAreGosLayout() {
    // Go: fmt.Sprintf("%s%x", pfx+"/", leaseID), lowercase hex, no padding
    assertThat(Keys.ownerKey("locks/db", 0x694d7a3d9c2b5c0aL).toStringUtf8()).isEqualTo("locks/db/694d7a3d9c2b5c0a");
    assertThat(Keys.ownerKey("e", 0xabL).toStringUtf8()).isEqualTo("e/ab");
    assertThat(Keys.ownerPrefix(ByteSequence.of("e")).toStringUtf8()).isEqualTo("e/");
    assertThatThrownBy(() -> Keys.ownerKey("e", 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void createOrGetCreatesOnceAndGuardsFollowOwnership() throws Exception {
    try (Session a = Session.builder(client).ttl(Duration.ofSeconds(10)).build();
         Session b = Session.builder(client).ttl(Duration.ofSeconds(10)).build()) {
      OwnerKey ka = get(Keys.createOrGet(client.kv(), "cog", a.leaseId(), "A"));
      assertThat(ka.created()).isTrue();
      assertThat(ka.isOldest()).isTrue();
      assertThat(ka.key()).isEqualTo(Keys.ownerKey("cog", a.leaseId()));
      assertThat(get(client.kv().get(ka.key())).first().lease()).isEqualTo(a.leaseId());

      OwnerKey again = get(Keys.createOrGet(client.kv(), "cog", a.leaseId(), "other value"));
      assertThat(again.created()).isFalse();
      assertThat(again.createRevision()).isEqualTo(ka.createRevision());
      assertThat(again.value().toStringUtf8()).isEqualTo("A");

      OwnerKey kb = get(Keys.createOrGet(client.kv(), "cog", b.leaseId(), "B"));
      assertThat(kb.created()).isTrue();
      assertThat(kb.isOldest()).isFalse();
      assertThat(kb.oldest().key()).isEqualTo(ka.key());
      assertThat(kb.guard().fencingToken()).isGreaterThan(ka.guard().fencingToken());

      Guard guard = ka.guard();
      assertThat(get(guard.txn(client.kv()).then(Op.put(ByteSequence.of("cog-data"), ByteSequence.of("1"))).commit()).succeeded()).isTrue();
      assertThat(get(guard.check(client.kv()))).isTrue();
      // a's key goes and comes back: same key, new create revision, so the old guard no longer holds
      get(client.kv().delete(ka.key()));
      OwnerKey ka2 = get(Keys.createOrGet(client.kv(), "cog", a.leaseId(), "A"));
      assertThat(ka2.key()).isEqualTo(ka.key());
      assertThat(ka2.createRevision()).isGreaterThan(kb.createRevision());
      assertThat(get(guard.txn(client.kv()).then(Op.put(ByteSequence.of("cog-data"), ByteSequence.of("2"))).commit()).succeeded()).isFalse();
      assertThat(get(guard.check(client.kv()))).isFalse();
      assertThat(get(client.kv().get("cog-data")).first().value().toStringUtf8()).isEqualTo("1");
    }
  }

  @Test
  void uniqueKeysAreDistinctAndInGosLayout() throws Exception {
    CreatedKey k1 = get(UniqueKey.create(client.kv(), "uniq", "a", 0));
    CreatedKey k2 = get(UniqueKey.create(client.kv(), "uniq", "b", 0));
    assertThat(k1.key()).isNotEqualTo(k2.key());
    assertThat(k1.key().toStringUtf8()).matches("uniq/\\d{19}");
    assertThat(k2.revision()).isGreaterThan(k1.revision());
    assertThat(get(client.kv().get(k2.key())).first().createRevision()).isEqualTo(k2.revision());
  }

  @Test
  void sequentialKeysAreGosLayoutWithBookkeeping() throws Exception {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      keys.add(get(SequentialKey.create(client.kv(), "seq", "v" + i, 0)).key().toStringUtf8());
    }
    assertThat(keys).containsExactly("seq/0000000000000000", "seq/0000000000000001", "seq/0000000000000002");
    assertThat(get(client.kv().get("__seq")).isEmpty()).isFalse();

    // concurrent allocators never hand out a number twice
    List<CompletableFuture<CreatedKey>> all = new ArrayList<>();
    try (EtcdClient other = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      for (int i = 0; i < 20; i++) {
        all.add(SequentialKey.create((i % 2 == 0 ? client : other).kv(), "seq", "c" + i, 0));
      }
      Set<String> created = ConcurrentHashMap.newKeySet();
      for (CompletableFuture<CreatedKey> f : all) {
        created.add(f.get(30, TimeUnit.SECONDS).key().toStringUtf8());
      }
      assertThat(created).hasSize(20);
    }
    assertThat(get(client.kv().get(ByteSequence.of("seq/"), GetOption.builder().prefix().countOnly().build())).count()).isEqualTo(23);
    assertThat(get(client.kv().get(ByteSequence.of("seq/"), GetOption.lastKey())).first().key().toStringUtf8())
        .isEqualTo("seq/0000000000000022");
  }

  /**
   * 100 waiters queue on one prefix; deleting the head wakes exactly the next one, each time. Each waiter
   * watches one key (its predecessor), reads twice in all (once before its watch, once after the delete) and
   * receives exactly one watch event: its predecessor's delete.
   */
  @Test
  void aDeleteWakesExactlyTheNextOfHundredWaiters() throws Exception {
    int n = 100;
    ByteSequence prefix = ByteSequence.of("herd/");
    List<ByteSequence> keys = new ArrayList<>();
    List<Long> revs = new ArrayList<>();
    for (int i = 0; i <= n; i++) {
      ByteSequence k = ByteSequence.of(String.format("herd/%03d", i));
      keys.add(k);
      revs.add(get(client.kv().put(k, ByteSequence.of("x"))).header().revision());
    }
    List<WaitForDelete> waiters = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      waiters.add(WaitForDelete.start(client.kv(), client.watch(), prefix, revs.get(i) - 1));
    }
    // each waiter: a read, a watch from now on its predecessor, and, once the watch exists, a read that confirms it
    await().atMost(Duration.ofSeconds(20)).until(() -> waiters.stream()
        .allMatch(w -> w.watchCreated() && w.reads() == 2));
    for (int i = 0; i < n; i++) {
      assertThat(waiters.get(i).watching()).as("waiter %d watches only its predecessor", i + 1).isEqualTo(keys.get(i));
    }

    List<Long> handoffMicros = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      get(client.kv().delete(keys.get(i)));
      waiters.get(i).future().get(10, TimeUnit.SECONDS);
      handoffMicros.add(TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - t0));
      for (int j = i + 1; j < n; j++) {
        assertThat(waiters.get(j).isDone()).as("waiter %d after delete %d", j + 1, i).isFalse();
      }
      assertThat(waiters.stream().mapToLong(WaitForDelete::eventsReceived).sum()).isEqualTo(i + 1);
      assertThat(waiters.stream().mapToInt(WaitForDelete::reads).sum()).isEqualTo(2 * n + i + 1);
    }
    for (WaitForDelete w : waiters) {
      assertThat(w.eventsReceived()).isEqualTo(1);
      assertThat(w.reads()).isEqualTo(3);
      assertThat(w.watching()).isNull();
    }
    Collections.sort(handoffMicros);
    log.info("delete -> next waiter woken: p50 {} us, p90 {} us, max {} us", handoffMicros.get(n / 2),
        handoffMicros.get(n * 9 / 10), handoffMicros.get(n - 1));
  }

  @Test
  void waitForDeleteWaitsForEveryOlderKeyAndGivesUpOnTimeout() throws Exception {
    long r1 = get(client.kv().put("wfd/a", "1")).header().revision();
    get(client.kv().put("wfd/b", "1"));
    long mine = get(client.kv().put("wfd/c", "1")).header().revision();

    WaitForDelete w = WaitForDelete.start(client.kv(), client.watch(), ByteSequence.of("wfd/"), mine - 1);
    await().atMost(Duration.ofSeconds(10)).until(() -> ByteSequence.of("wfd/b").equals(w.watching()));
    get(client.kv().delete("wfd/b")); // the younger one first: the wait moves on to a
    await().atMost(Duration.ofSeconds(10)).until(() -> ByteSequence.of("wfd/a").equals(w.watching()));
    assertThat(w.isDone()).isFalse();
    get(client.kv().delete("wfd/a"));
    assertThat(w.await(Duration.ofSeconds(10)).revision()).isGreaterThan(mine);

    // nothing older than r1: done at once
    assertThat(WaitForDelete.start(client.kv(), client.watch(), ByteSequence.of("wfd/"), r1 - 1).await(Duration.ofSeconds(10))).isNotNull();

    // a wait that times out is given up: TimeoutException, future cancelled, watch closed
    WaitForDelete stuck = WaitForDelete.start(client.kv(), client.watch(), ByteSequence.of("wfd/"), mine);
    assertThatThrownBy(() -> stuck.await(Duration.ofMillis(300))).isInstanceOf(TimeoutException.class);
    assertThat(stuck.future().isCancelled()).isTrue();
    assertThat(stuck.watching()).isNull();
  }

  @Test
  void waitForEventsMatchesASequence() throws Exception {
    long rev = get(client.kv().put("wfe/k", "0")).header().revision();
    WaitForEvents w = WaitForEvents.key(client.watch(), ByteSequence.of("wfe/k"), rev + 1, WatchEvent.Type.PUT, WatchEvent.Type.DELETE);
    WaitForEvents onPrefix = WaitForEvents.prefix(client.watch(), ByteSequence.of("wfe/"), rev + 1, WatchEvent.Type.DELETE);
    get(client.kv().put("wfe/k", "1"));
    get(client.kv().put("wfe/k", "2"));
    assertThat(w.isDone()).isFalse();
    long del = get(client.kv().delete("wfe/k")).header().revision();
    WatchEvent e = w.await(Duration.ofSeconds(10));
    assertThat(e.type()).isEqualTo(WatchEvent.Type.DELETE);
    assertThat(e.kv().modRevision()).isEqualTo(del);
    assertThat(onPrefix.await(Duration.ofSeconds(10)).kv().key()).isEqualTo(ByteSequence.of("wfe/k"));

    // from an old revision: replays history
    WaitForEvents replay = WaitForEvents.key(client.watch(), ByteSequence.of("wfe/k"), rev + 1, WatchEvent.Type.DELETE);
    assertThat(replay.await(Duration.ofSeconds(10)).kv().modRevision()).isEqualTo(del);
  }

  @Test
  void recipeLifecycleClosesEverythingItOpened() {
    List<String> closed = new CopyOnWriteArrayList<>();
    class Demo extends Recipe {
      @Override
      protected void doStart() {
        track(() -> closed.add("first"));
        track(() -> closed.add("second"));
      }

      @Override
      protected void doClose() {
        closed.add("doClose");
      }

      void open(String name) {
        track(() -> closed.add(name));
      }
    }
    Demo d = new Demo();
    assertThat(d.state()).isEqualTo(Recipe.State.LATENT);
    d.start();
    assertThat(d.state()).isEqualTo(Recipe.State.STARTED);
    assertThatThrownBy(d::start).isInstanceOf(IllegalStateException.class);
    d.close();
    d.close();
    assertThat(d.state()).isEqualTo(Recipe.State.CLOSED);
    assertThat(closed).containsExactly("second", "first", "doClose");
    assertThatThrownBy(() -> d.open("late")).isInstanceOf(IllegalStateException.class);
    assertThat(closed).endsWith("late");

    Demo never = new Demo();
    never.close();
    assertThatThrownBy(never::start).isInstanceOf(IllegalStateException.class);
  }
}
