package io.etcdrecipes.queue;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@link ReliableQueue} while members of a 3-member cluster, the etcd leader every other time, are SIGKILLed and
 * restarted ({@link QueueTestSupport.Nemesis}, from the first enqueue until the queue is empty): 2 producers enqueue
 * {@value #PER_PRODUCER} items each and 3 consumers dequeue and ack them, every one with a client of its own over all
 * three members (2 s call timeout), the consumers on sessions of 2 s TTL, made again when a fault ended one.
 *
 * <p>Checked with the testkit's history: every acknowledged item is delivered at least once and nothing is delivered
 * that was never enqueued ({@link Deliveries#atLeastOnce()}); an enqueue whose call failed is of unknown outcome and
 * may be delivered or not. Redeliveries are allowed (an ack lost to a fault, a consumer whose session ended while it
 * held a claim) and counted. At the end the queue and its dead-letter queue are empty.
 *
 * <p>What would make it fail: a claim that is not released when its consumer's session ends (the item stays hidden:
 * the queue never empties), an ack or a claim that deletes the wrong item (an acknowledged item never delivered), a
 * sequence number handed out twice (an item overwritten: acknowledged, never delivered), an item moved to the
 * dead-letter queue although it was acked. (Two consumers holding one claim at once is not an at-least-once
 * violation; {@code ReliableQueueTest} covers claims.)
 */
class ReliableQueueUnderFaultsTest {

  private static final Logger log = LoggerFactory.getLogger(ReliableQueueUnderFaultsTest.class);
  private static final String NAME = "rqn/jobs";
  private static final int PRODUCERS = 2;
  private static final int CONSUMERS = 3;
  private static final int PER_PRODUCER = 100;
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration TTL = Duration.ofSeconds(2);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  @Test
  void everyAcknowledgedItemIsDeliveredAtLeastOnceWhileMembersAndTheLeaderAreKilled() throws Exception {
    History history = new History();
    AtomicInteger unknownEnqueues = new AtomicInteger();
    AtomicInteger failedCalls = new AtomicInteger();
    AtomicInteger newSessions = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    QueueTestSupport.Nemesis nemesis = new QueueTestSupport.Nemesis(etcd.cluster());
    ExecutorService pool = Executors.newFixedThreadPool(PRODUCERS + CONSUMERS);
    long started = System.nanoTime();
    try (QueueTestSupport t = new QueueTestSupport(etcd.endpoints())) {
      List<CompletableFuture<Void>> consumers = new ArrayList<>();
      for (int i = 0; i < CONSUMERS; i++) {
        String me = "c" + i;
        EtcdClient c = t.client(etcd.endpoints(), CALL_TIMEOUT);
        consumers.add(CompletableFuture.runAsync(() -> {
          try {
            consume(me, c, history, stop, failedCalls, newSessions);
          } catch (Exception e) {
            throw new RuntimeException(me + " failed", e);
          }
        }, pool));
      }
      nemesis.start();
      List<CompletableFuture<Void>> producers = new ArrayList<>();
      for (int i = 0; i < PRODUCERS; i++) {
        String me = "p" + i;
        EtcdClient c = t.client(etcd.endpoints(), CALL_TIMEOUT);
        producers.add(CompletableFuture.runAsync(() -> {
          try {
            produce(me, c, history, unknownEnqueues);
          } catch (Exception e) {
            throw new RuntimeException(me + " failed", e);
          }
        }, pool));
      }
      EtcdClient c = t.client();
      ReliableQueue observer = ReliableQueue.builder(t.session(c, Duration.ofSeconds(10)), NAME).build();
      try {
        for (CompletableFuture<Void> p : producers) {
          get(p, Timing.seconds(30));
        }
        // the faults go on while the consumers take (and retake) what is left, and at least until two members (one
        // of them the leader) were killed: waiting consumers ride through them, so the items may all be gone sooner
        await().atMost(Timing.seconds(20)).ignoreExceptions().until(() -> observer.size() == 0);
        await().atMost(Timing.seconds(20))
            .until(() -> nemesis.kills.get() >= 2 && nemesis.leaderKills.get() >= 1 || !nemesis.isAlive());
      } finally {
        nemesis.stopAndRestore();
      }
      // an enqueue of unknown outcome that landed late, a claim of a session that ended: taken too; then stop
      await().atMost(Timing.seconds(15)).until(() -> observer.size() == 0);
      stop.set(true);
      for (CompletableFuture<Void> f : consumers) {
        get(f, Timing.seconds(15));
      }

      Deliveries d = history.deliveries();
      long acknowledged = d.enqueues().stream().filter(Deliveries.Enqueue::acknowledged).count();
      log.info("{} items enqueued ({} acknowledged, {} of unknown outcome), {} deliveries ({} of them redeliveries) in "
              + "{} ms; {} consumer calls failed; {} consumer sessions made; {}", d.enqueues().size(), acknowledged,
          unknownEnqueues.get(), d.deliveries().size(), d.duplicates(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), failedCalls.get(), newSessions.get(), nemesis);

      assertThat(nemesis.errors).isEmpty();
      assertThat(nemesis.kills.get()).as("members killed while the clients ran").isGreaterThanOrEqualTo(2);
      assertThat(nemesis.leaderKills.get()).as("etcd leaders killed while the clients ran").isPositive();
      d.atLeastOnce();
      assertThat(acknowledged).as("acknowledged enqueues").isGreaterThanOrEqualTo(PRODUCERS * PER_PRODUCER * 8L / 10);
      assertThat(observer.size()).isZero();
      assertThat(Queue.create(t.session(c, Duration.ofSeconds(10)), observer.deadLetterName()).size())
          .as("items in the dead-letter queue").isZero();
    } finally {
      pool.shutdownNow();
    }
  }

  /** Enqueues {@value #PER_PRODUCER} items, each attempt an item of its own; a failed call is of unknown outcome. */
  private static void produce(String me, EtcdClient c, History history, AtomicInteger unknown) throws Exception {
    Session s = Session.builder(c).ttl(Duration.ofSeconds(30)).build(Timing.seconds(10));
    try {
      ReliableQueue q = ReliableQueue.builder(s, NAME).build();
      for (int i = 0; i < PER_PRODUCER; i++) {
        String item = me + ":" + i;
        try {
          q.enqueue(item);
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

  /**
   * Dequeues and acks until told to stop, with a new session whenever a fault ended the last one. An item is recorded
   * as delivered when the dequeue returns it; an ack that fails leaves it to be delivered again.
   */
  private static void consume(String me, EtcdClient c, History history, AtomicBoolean stop, AtomicInteger failed,
                              AtomicInteger newSessions) throws Exception {
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
            failed.incrementAndGet();
            continue;
          }
        }
        ReliableQueue q = ReliableQueue.builder(s, NAME).build();
        try (Delivery delivery = q.dequeue(Duration.ofMillis(500))) {
          history.delivered(me, delivery.item().valueUtf8());
          delivery.ack();
        } catch (TimeoutException e) {
          // nothing for us now
        } catch (EtcdException e) {
          failed.incrementAndGet();
        }
      }
    } finally {
      if (s != null) {
        s.close();
      }
    }
  }
}
