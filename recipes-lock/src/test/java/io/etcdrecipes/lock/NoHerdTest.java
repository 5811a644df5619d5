package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * No herd: one release among many queued waiters costs O(1) work, counted by the server itself ({@code /metrics} of
 * the one member): watch events sent ({@code etcd_debugging_mvcc_events_total}), unary KV RPCs handled (Range, Txn,
 * DeleteRange, Put) and Watch stream messages both ways, before and after one release, once everything is quiet.
 * The negative control is in the same test: 100 plain prefix watchers, as a naive lock's waiters would have, and one
 * delete — the same counters then rise by ~100.
 */
class NoHerdTest {

  private static final Logger log = LoggerFactory.getLogger(NoHerdTest.class);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  /** What the member has done so far. */
  private record Counts(long events, long kvRpcs, long watchMessages) {
    static Counts of(EtcdMember m) {
      long rpcs = 0;
      for (String method : List.of("Range", "Txn", "DeleteRange", "Put")) {
        rpcs += Math.round(MemberMetrics.value(m, "grpc_server_handled_total", "grpc_method=\"" + method + "\""));
      }
      String watch = "grpc_service=\"etcdserverpb.Watch\"";
      return new Counts(Math.round(MemberMetrics.value(m, "etcd_debugging_mvcc_events_total")), rpcs,
          Math.round(MemberMetrics.value(m, "grpc_server_msg_sent_total", watch)
              + MemberMetrics.value(m, "grpc_server_msg_received_total", watch)));
    }

    Counts minus(Counts o) {
      return new Counts(events - o.events, kvRpcs - o.kvRpcs, watchMessages - o.watchMessages);
    }
  }

  /** The counts once they have stopped moving (the same on three reads in a row, 100 ms apart). */
  private static Counts quiet(EtcdMember m) {
    Counts[] last = {null};
    int[] same = {0};
    await().atMost(Timing.seconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
      Counts now = Counts.of(m);
      same[0] = now.equals(last[0]) ? same[0] + 1 : 0;
      last[0] = now;
      return same[0] >= 2;
    });
    return last[0];
  }

  private static long watchers(EtcdMember m) {
    return Math.round(MemberMetrics.value(m, "etcd_debugging_mvcc_watcher_total"));
  }

  @Test
  void oneReleaseAmongAHundredQueuedMutexWaitersCostsAFewMessagesNotAHundred() throws Exception {
    String name = "herd/mutex";
    EtcdMember m = etcd.member(0);
    EtcdClient c = t.client();
    EtcdClient waiters = t.client(); // one client: its one watch stream carries every waiter's watch
    Ownership held = Mutex.create(t.session(c), name).lock(Timing.seconds(5));
    List<CompletableFuture<Ownership>> queued = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      queued.add(Mutex.create(t.session(waiters), name).lockAsync());
    }
    await().atMost(Timing.seconds(10)).until(() -> keys(c, name).size() == 101 && watchers(m) >= 100);
    Counts before = quiet(m);

    held.close();
    Ownership next = get(CompletableFuture.anyOf(queued.toArray(new CompletableFuture[0]))
        .thenApply(o -> (Ownership) o));
    Counts cost = quiet(m).minus(before);
    log.info("mutex, 100 waiters: one release cost {} watch events, {} KV RPCs, {} Watch stream messages", cost.events(),
        cost.kvRpcs(), cost.watchMessages());
    assertThat(queued.stream().filter(CompletableFuture::isDone)).as("waiters woken").hasSize(1);
    // the release (1 delete), one event to one waiter, its read (1 txn), its watch cancelled (request + answer)
    assertThat(cost.events()).as("watch events").isLessThanOrEqualTo(2);
    assertThat(cost.kvRpcs()).as("KV RPCs").isLessThanOrEqualTo(4);
    assertThat(cost.events() + cost.kvRpcs()).as("events and RPCs together").isLessThan(10);
    assertThat(cost.watchMessages()).as("Watch stream messages, both ways").isLessThan(10);

    Counts herd = herdOfPrefixWatchers(m, c, name, next);
    log.info("negative control, 100 prefix watchers: one release cost {} watch events", herd.events());
    assertThat(herd.events()).as("what a herd costs: each watcher hears the delete").isGreaterThanOrEqualTo(100);

    giveUp(queued);
    await().atMost(Timing.seconds(10)).until(() -> keys(c, name).isEmpty());
  }

  @Test
  void oneReleaseOnAFullSemaphoreWithFiftyClaimantsCostsAFewMessagesNotFifty() throws Exception {
    String name = "herd/sem";
    int permits = 4;
    EtcdMember m = etcd.member(0);
    EtcdClient c = t.client();
    EtcdClient claimants = t.client();
    List<Ownership> held = new ArrayList<>();
    for (int i = 0; i < permits; i++) {
      held.add(Semaphore.create(t.session(c), name, permits).acquire(Timing.seconds(5)));
    }
    List<CompletableFuture<Ownership>> queued = new ArrayList<>();
    for (int i = 0; i < 50 - permits; i++) {
      queued.add(Semaphore.create(t.session(claimants), name, permits).acquireAsync());
    }
    await().atMost(Timing.seconds(10)).until(() -> keys(c, name).size() == 50 && watchers(m) >= 50 - permits);
    Counts before = quiet(m);

    held.remove(1).close();
    Ownership next = get(CompletableFuture.anyOf(queued.toArray(new CompletableFuture[0]))
        .thenApply(o -> (Ownership) o));
    Counts cost = quiet(m).minus(before);
    log.info("semaphore of {}, {} claimants waiting: one release cost {} watch events, {} KV RPCs, {} Watch stream "
        + "messages", permits, queued.size(), cost.events(), cost.kvRpcs(), cost.watchMessages());
    assertThat(queued.stream().filter(CompletableFuture::isDone)).as("claimants woken").hasSize(1);
    // the release; the first in line hears it, reads, rewrites its key (its follower hears that), the follower reads
    // and, first in line now, watches older deletes
    assertThat(cost.events()).as("watch events").isLessThanOrEqualTo(3);
    assertThat(cost.kvRpcs()).as("KV RPCs").isLessThanOrEqualTo(6);
    assertThat(cost.events() + cost.kvRpcs()).as("events and RPCs together").isLessThan(10);
    assertThat(cost.watchMessages()).as("Watch stream messages, both ways").isLessThan(15);

    Counts herd = herdOfPrefixWatchers(m, c, name, next);
    assertThat(herd.events()).as("what a herd costs: each watcher hears the delete").isGreaterThanOrEqualTo(100);

    giveUp(queued);
    held.forEach(Ownership::close);
    await().atMost(Timing.seconds(10)).until(() -> keys(c, name).isEmpty());
  }

  /** Cancels every waiter; one that got the lock meanwhile (the control's release woke one) lets go of it. */
  private static void giveUp(List<CompletableFuture<Ownership>> queued) {
    for (CompletableFuture<Ownership> f : queued) {
      if (!f.cancel(false) && !f.isCompletedExceptionally()) {
        f.join().close();
      }
    }
  }

  /** The negative control: 100 watchers on the whole prefix, as a naive lock's waiters; what one release costs. */
  private Counts herdOfPrefixWatchers(EtcdMember m, EtcdClient c, String name, Ownership holder) {
    EtcdClient naive = t.client();
    long watchersBefore = watchers(m);
    List<Watcher> herd = new ArrayList<>();
    try {
      for (int i = 0; i < 100; i++) {
        herd.add(naive.watch().watch(ByteSequence.of(name + "/"), WatchOption.builder().prefix().noPut().build(),
            r -> { }));
      }
      for (Watcher w : herd) {
        get(w.created());
      }
      await().atMost(Timing.seconds(10)).until(() -> watchers(m) >= watchersBefore + 100);
      Counts before = quiet(m);
      holder.close();
      return quiet(m).minus(before);
    } finally {
      herd.forEach(Watcher::close);
    }
  }
}
