package io.etcdrecipes.queue;

import static io.etcdrecipes.queue.QueueTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.ChildJvm;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.History;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * At-least-once delivery when a {@link ReliableQueue} consumer's process dies: a consumer in a child JVM
 * ({@link ReliableConsumerChild}) claims an item and is SIGKILLed without acking it. Its claim is a key on its
 * session's lease (2 s TTL, fast elections), so the item is delivered again — to a consumer waiting in this JVM —
 * within TTL + 1 s of the kill, with its delivery count raised. A poison item, claimed first by the child that dies
 * and then released by every consumer that gets it, is moved to the dead-letter queue once it has been delivered
 * {@code maxDeliveries} times, while the good items around it are each delivered and acked once.
 *
 * <p>What would make it fail: a claim not attached to the consumer's lease (the item would stay hidden forever), a
 * waiting consumer that does not hear the claim's delete (it would wait for its own timeout), a delivery count that
 * is not raised with the claim (the poison item would circulate forever), a claim taken twice.
 */
class ReliableQueueConsumerFailuresTest {

  private static final Logger log = LoggerFactory.getLogger(ReliableQueueConsumerFailuresTest.class);
  private static final Duration TTL = Duration.ofSeconds(2);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private final QueueTestSupport t = new QueueTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  /** The child, once it has claimed its first item: the claimed line's fields. */
  private static String[] startAndAwaitClaim(ChildJvm child, EtcdClient c, String name) {
    String[] session = child.awaitLine("SESSION ", Timing.seconds(30)).split(" ");
    assertThat(session[2]).as("the TTL the server granted the child's session").isEqualTo(String.valueOf(TTL.toSeconds()));
    String[] claimed = child.awaitLine("CLAIMED ", Timing.seconds(30)).split(" ");
    // the claim is a key on the child's lease: it goes when the child's session does
    String suffix = claimed[2].substring(name.length() + 1);
    KeyValue claim = get(c.kv().get(ByteSequence.of("__" + name + "/claims/" + suffix))).first();
    assertThat(claim).as("the child's claim of %s", claimed[2]).isNotNull();
    assertThat(Long.toHexString(claim.lease())).isEqualTo(session[1]);
    return claimed;
  }

  @Test
  void anItemClaimedByAKilledConsumerIsDeliveredAgainWithinTtlPlusOneSecond() throws Exception {
    String name = "rqf/killed";
    EtcdClient c = t.client();
    ReliableQueue producer = ReliableQueue.builder(t.session(c, Duration.ofSeconds(10)), name).build();
    producer.enqueue("job-1");
    try (ChildJvm child = ChildJvm.start(ReliableConsumerChild.class, etcd.endpoints(), String.valueOf(TTL.toSeconds()),
        name, "5")) {
      String[] claimed = startAndAwaitClaim(child, c, name);
      assertThat(claimed[1]).isEqualTo("job-1");
      assertThat(claimed[3]).as("delivery count").isEqualTo("1");

      ReliableQueue consumer = ReliableQueue.builder(t.session(t.client(), TTL), name).build();
      CompletableFuture<Delivery> next = consumer.dequeueAsync();
      await().atMost(Timing.seconds(5)).until(() -> keys(c, "__" + name + "/consumers/").size() == 1);
      assertThat(producer.poll()).as("a poll while the only item is claimed").isEmpty();
      assertThat(next).as("a consumer while the only item is claimed").isNotDone();

      long termBefore = get(c.kv().get("rqf/term")).header().raftTerm();
      long killedAt = System.nanoTime();
      child.kill();
      Delivery again = get(next, Timing.seconds(15));
      long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
      long termAfter = get(c.kv().get("rqf/term")).header().raftTerm();
      // a new etcd leader re-arms every lease with its full TTL; no leader changes here, but a loaded machine may
      long boundMillis = TTL.toMillis() + 1_000 + (termAfter != termBefore ? TTL.toMillis() : 0);
      log.info("the claimed item was delivered again {} ms after the SIGKILL of its consumer (TTL {} s, raft term {} -> {})",
          waitedMillis, TTL.toSeconds(), termBefore, termAfter);
      assertThat(waitedMillis).as("ms from the kill to the delivery again").isLessThanOrEqualTo(boundMillis)
          // the child's lease was renewed at most TTL/3 before the kill: it cannot have expired much sooner
          .isGreaterThanOrEqualTo(TTL.toMillis() / 2);
      assertThat(again.item().valueUtf8()).isEqualTo("job-1");
      assertThat(again.item().key().toStringUtf8()).isEqualTo(claimed[2]);
      assertThat(again.deliveryCount()).as("delivery count, raised").isEqualTo(2);
      again.ack();
    }
    assertThat(producer.size()).isZero();
    assertThat(keys(c, "__" + name + "/")).as("claims, counts and the line").isEmpty();
  }

  @Test
  void aPoisonItemEndsInTheDeadLetterQueueAfterMaxDeliveriesWhileGoodItemsAreAckedOnce() throws Exception {
    String name = "rqf/poison";
    int maxDeliveries = 3;
    int good = 20;
    EtcdClient c = t.client();
    Session producerSession = t.session(c, Duration.ofSeconds(10));
    ReliableQueue producer = ReliableQueue.builder(producerSession, name).maxDeliveries(maxDeliveries).build();
    History history = new History();
    List<String> poisonDeliveries = new CopyOnWriteArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    producer.enqueue("poison");
    try (ChildJvm child = ChildJvm.start(ReliableConsumerChild.class, etcd.endpoints(), String.valueOf(TTL.toSeconds()),
        name, String.valueOf(maxDeliveries))) {
      String[] claimed = startAndAwaitClaim(child, c, name);
      assertThat(claimed[1]).isEqualTo("poison");
      assertThat(claimed[3]).isEqualTo("1");
      poisonDeliveries.add("child#" + claimed[3]);
      for (int i = 0; i < good; i++) {
        producer.enqueue("ok-" + i);
        history.enqueued("producer", "ok-" + i);
      }
      child.kill(); // dies holding the poison: delivery 1 of 3

      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> consumers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        String me = "c" + i;
        ReliableQueue q = ReliableQueue.builder(t.session(t.client(), TTL), name).maxDeliveries(maxDeliveries).build();
        consumers.add(new Thread(() -> {
          try {
            while (!stop.get()) {
              Delivery d;
              try {
                d = q.dequeue(Duration.ofMillis(500));
              } catch (TimeoutException e) {
                continue;
              }
              if (d.item().valueUtf8().equals("poison")) {
                poisonDeliveries.add(me + "#" + d.deliveryCount());
                assertThat(d.release()).as("released by %s", me).isTrue(); // processing fails, again
              } else {
                history.delivered(me, d.item().valueUtf8());
                d.ack();
              }
            }
          } catch (Throwable e) {
            errors.add(e);
          }
        }, "consumer-" + me));
      }
      consumers.forEach(Thread::start);
      Queue dead = Queue.create(producerSession, name + "-dead");
      try {
        await().atMost(Timing.seconds(20)).until(() -> dead.size() == 1 && producer.size() == 0);
      } finally {
        stop.set(true);
        for (Thread th : consumers) {
          th.join(Timing.seconds(10).toMillis());
        }
      }
      log.info("poison deliveries: {}; good items delivered: {}", poisonDeliveries,
          history.deliveries().deliveries().size());
      assertThat(errors).isEmpty();
      assertThat(poisonDeliveries).as("the poison item's deliveries, with their counts").hasSize(maxDeliveries);
      for (int i = 0; i < maxDeliveries; i++) {
        assertThat(poisonDeliveries.get(i)).endsWith("#" + (i + 1));
      }
      history.deliveries().exactlyOnce().fifoPerProducer();
      QueueItem deadItem = dead.peek().orElseThrow();
      assertThat(deadItem.valueUtf8()).isEqualTo("poison");
      // numbered by the item's create revision: item numbers start again once a queue runs empty, revisions never
      assertThat(deadItem.key().toStringUtf8()).as("the dead letter's key")
          .matches(java.util.regex.Pattern.quote(name + "-dead/") + "\\d{16}");
      assertThat(keys(c, "__" + name + "/")).as("claims, counts and the line").isEmpty();
      get(c.kv().delete(deadItem.key()));
    }
  }
}
