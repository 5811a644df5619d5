package io.etcdrecipes.queue;

import static io.etcdrecipes.queue.QueueTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.Deliveries;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.History;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The FIFO queue while members of a 3-member cluster, the etcd leader every other time, are SIGKILLed and restarted
 * (one at a time, so the cluster keeps its quorum; from the start until the consumers have taken every item): 4 producers enqueue {@value #PER_PRODUCER} items each (1,000 in all) and 4
 * consumers take them, every one with a client of its own over the endpoints of all three members (2 s call timeout)
 * and the consumers with sessions of their own.
 *
 * <p>What is checked, with the testkit's history: no item is delivered twice and none that was never enqueued
 * ({@code atMostOnce}); each consumer gets each producer's items in the order they were enqueued
 * ({@code fifoPerProducer}); every acknowledged item is delivered — an enqueue whose call failed is recorded as of
 * unknown outcome ({@code enqueueUnknown}) and may be delivered once or never. A plain queue takes an item by deleting
 * it (at most once, as Go's): a take whose delete was applied but whose answer was lost to a fault loses that item.
 * So an acknowledged item may be missing only if a dequeue call failed with an error, at most one item per such call;
 * when no dequeue failed, {@code exactlyOnce} must hold outright; and etcd's history of each missing item's key must
 * show its put followed by a delete (a take), not by another put. At the end the queue and the consumers' line are
 * empty.
 *
 * <p>What would make it fail: a take that is not guarded by the item's revision (two consumers get the same item), a
 * sequence number handed out twice (an item overwritten: acknowledged but never delivered, with no failed dequeue to
 * account for it), a consumer taking anything but the oldest item it can see (out of producer order), a consumer left
 * waiting in a line whose predecessor's delete it missed across a reconnect (the run does not finish).
 */
class QueueUnderFaultsTest {

  private static final Logger log = LoggerFactory.getLogger(QueueUnderFaultsTest.class);
  private static final String NAME = "qf/jobs";
  private static final int PRODUCERS = 4;
  private static final int CONSUMERS = 4;
  private static final int PER_PRODUCER = 250;
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration TTL = Duration.ofSeconds(2);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  @Test
  void everyAcknowledgedItemIsDeliveredOnceInProducerOrderWhileMembersAndTheLeaderAreKilled() throws Exception {
    History history = new History();
    AtomicInteger unknownEnqueues = new AtomicInteger();
    List<String> failedDequeues = new CopyOnWriteArrayList<>();
    AtomicInteger newSessions = new AtomicInteger();
    AtomicInteger deliveredCount = new AtomicInteger();
    Map<Object, ByteSequence> keyOf = new ConcurrentHashMap<>();
    AtomicBoolean stop = new AtomicBoolean();
    QueueTestSupport.Nemesis nemesis = new QueueTestSupport.Nemesis(etcd.cluster());
    ExecutorService pool = Executors.newFixedThreadPool(PRODUCERS + CONSUMERS);
    long started = System.nanoTime();
    try (QueueTestSupport t = new QueueTestSupport(etcd.endpoints())) {
      List<EtcdClient> producerClients = new ArrayList<>();
      List<EtcdClient> consumerClients = new ArrayList<>();
      for (int i = 0; i < PRODUCERS; i++) {
        producerClients.add(t.client(etcd.endpoints(), CALL_TIMEOUT));
      }
      for (int i = 0; i < CONSUMERS; i++) {
        consumerClients.add(t.client(etcd.endpoints(), CALL_TIMEOUT));
      }
      List<CompletableFuture<Void>> consumers = new ArrayList<>();
      for (int i = 0; i < CONSUMERS; i++) {
        String me = "c" + i;
        EtcdClient c = consumerClients.get(i);
        consumers.add(CompletableFuture.runAsync(() -> {
          try {
            consume(me, c, history, stop, failedDequeues, newSessions, deliveredCount);
          } catch (Exception e) {
            throw new RuntimeException(me + " failed", e);
          }
        }, pool));
      }
      nemesis.start();
      List<CompletableFuture<Void>> producers = new ArrayList<>();
      for (int i = 0; i < PRODUCERS; i++) {
        String me = "p" + i;
        EtcdClient c = producerClients.get(i);
        producers.add(CompletableFuture.runAsync(() -> {
          try {
            produce(me, c, history, unknownEnqueues, keyOf);
          } catch (Exception e) {
            throw new RuntimeException(me + " failed", e);
          }
        }, pool));
      }
      EtcdClient c = t.client();
      Queue observer = Queue.create(t.session(c, Duration.ofSeconds(10)), NAME);
      long producedMillis;
      try {
        for (CompletableFuture<Void> p : producers) {
          get(p, Timing.seconds(120));
        }
        producedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        // the faults go on while the consumers take what is left
        await().atMost(Timing.seconds(90)).ignoreExceptions().until(() -> observer.size() == 0);
      } finally {
        nemesis.stopAndRestore();
      }
      // anything an enqueue of unknown outcome put in late is taken too; then the consumers stop
      await().atMost(Timing.seconds(30)).until(() -> observer.size() == 0);
      stop.set(true);
      for (CompletableFuture<Void> f : consumers) {
        get(f, Timing.seconds(30));
      }
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

      Deliveries d = history.deliveries();
      Set<Object> delivered = new HashSet<>();
      d.deliveries().forEach(x -> delivered.add(x.item()));
      List<Object> missing = d.enqueues().stream().filter(e -> e.acknowledged() && !delivered.contains(e.item()))
          .map(Deliveries.Enqueue::item).toList();
      long acknowledged = d.enqueues().stream().filter(Deliveries.Enqueue::acknowledged).count();
      long unknownDelivered = d.enqueues().stream().filter(e -> !e.acknowledged() && delivered.contains(e.item())).count();
      log.info("{} items enqueued ({} acknowledged, {} of unknown outcome, {} of those delivered), {} delivered in {} ms "
              + "(producers done after {} ms); {} dequeue calls failed, {} acknowledged items missing; {} consumer "
              + "sessions made; {}", d.enqueues().size(), acknowledged, unknownEnqueues.get(), unknownDelivered,
          d.deliveries().size(), millis, producedMillis, failedDequeues.size(), missing.size(), newSessions.get(),
          nemesis);
      failedDequeues.stream().limit(10).forEach(f -> log.info("failed dequeue: {}", f));

      assertThat(nemesis.errors).isEmpty();
      assertThat(nemesis.kills.get()).as("members killed while the clients ran").isGreaterThanOrEqualTo(2);
      assertThat(nemesis.leaderKills.get()).as("leaders killed while the clients ran").isGreaterThanOrEqualTo(1);
      d.atMostOnce().fifoPerProducer();
      assertThat(missing.size()).as("acknowledged items never delivered (%s): each must be the item of a dequeue "
          + "whose take was applied but whose answer was lost, at most one per failed dequeue call", missing)
          .isLessThanOrEqualTo(failedDequeues.size());
      if (failedDequeues.isEmpty()) {
        d.exactlyOnce();
      }
      for (Object item : missing) {
        assertTakenNotOverwritten(c, item, keyOf.get(item));
      }
      assertThat(acknowledged).as("acknowledged enqueues").isGreaterThanOrEqualTo(PRODUCERS * PER_PRODUCER * 9L / 10);
      assertThat(observer.size()).isZero();
      // consumers whose session a fault ended leave their place in line until its TTL runs out
      await().atMost(Timing.seconds(10)).until(() -> keys(c, "__" + NAME + "/consumers/").isEmpty());
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * A missing item was taken, not lost otherwise: in etcd's history of its key, the put of this item is followed by a
   * delete (an overwrite, a sequence number handed out twice, would be a put). Logs the revision and the places in
   * line deleted with it (a take in line deletes the taker's place in the same transaction).
   */
  private static void assertTakenNotOverwritten(EtcdClient c, Object item, ByteSequence key) {
    List<WatchEvent> events = new CopyOnWriteArrayList<>();
    Watcher w = c.watch().watch(key, WatchOption.builder().revision(1).build(), r -> events.addAll(r.events()));
    try {
      await().atMost(Timing.seconds(10)).until(() -> next(events, item) != null);
    } finally {
      w.close();
    }
    WatchEvent after = next(events, item);
    assertThat(after.type()).as("what followed the put of missing item %s at %s", item, key.toStringUtf8())
        .isEqualTo(WatchEvent.Type.DELETE);
    long at = after.kv().modRevision();
    ByteSequence line = ByteSequence.of("__" + NAME + "/consumers/");
    Set<String> before = new HashSet<>();
    get(c.kv().get(line, GetOption.builder().prefix().revision(at - 1).keysOnly().build())).kvs()
        .forEach(kv -> before.add(kv.key().toStringUtf8()));
    get(c.kv().get(line, GetOption.builder().prefix().revision(at).keysOnly().build())).kvs()
        .forEach(kv -> before.remove(kv.key().toStringUtf8()));
    log.info("missing item {} ({}) was deleted at revision {}, with the place(s) in line {}", item, key.toStringUtf8(),
        at, before);
  }

  /** The event after the put of {@code item} in {@code events}, or null (not yet seen). */
  private static WatchEvent next(List<WatchEvent> events, Object item) {
    for (int i = 0; i + 1 < events.size(); i++) {
      WatchEvent e = events.get(i);
      if (e.type() == WatchEvent.Type.PUT && e.kv().value().toStringUtf8().equals(item)) {
        return events.get(i + 1);
      }
    }
    return null;
  }

  /** Enqueues {@value #PER_PRODUCER} items, each attempt an item of its own; a failed call is of unknown outcome. */
  private static void produce(String me, EtcdClient c, History history, AtomicInteger unknown,
                              Map<Object, ByteSequence> keyOf) throws Exception {
    // producers need no session: a queue of their own on a session that is never used for waiting
    Session s = Session.builder(c).ttl(Duration.ofSeconds(30)).build(Timing.seconds(10));
    try {
      Queue q = Queue.create(s, NAME);
      for (int i = 0; i < PER_PRODUCER; i++) {
        String item = me + ":" + i;
        try {
          keyOf.put(item, q.enqueue(item).key());
          history.enqueued(me, item);
        } catch (EtcdException e) {
          history.enqueueUnknown(me, item);
          unknown.incrementAndGet();
        }
      }
    } finally {
      s.close();
    }
  }

  /** Takes items until told to stop, with a new session whenever a fault ended the last one. */
  private static void consume(String me, EtcdClient c, History history, AtomicBoolean stop, List<String> failed,
                              AtomicInteger newSessions, AtomicInteger deliveredCount) throws Exception {
    Session s = null;
    try {
      while (!stop.get()) {
        if (s == null || !s.isValid()) {
          if (s != null) {
            s.close();
          }
          try {
            s = Session.builder(c).ttl(TTL).build(Timing.seconds(10));
            newSessions.incrementAndGet();
          } catch (TimeoutException | EtcdException e) {
            s = null;
            continue;
          }
        }
        Queue q = Queue.create(s, NAME);
        long t0 = System.nanoTime();
        try {
          QueueItem item = q.dequeue(Duration.ofMillis(500));
          history.delivered(me, item.valueUtf8());
          deliveredCount.incrementAndGet();
        } catch (TimeoutException e) {
          // nothing for us now
        } catch (EtcdException e) {
          failed.add(me + " at " + history.at(t0) + ": " + e);
        }
      }
    } finally {
      if (s != null) {
        s.close();
      }
    }
  }
}
