package io.etcdrecipes.queue;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;
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
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Priority order with several consumers: {@value #ITEMS} items of five priorities (0, 1, 7, 300 and 65535, shuffled)
 * are enqueued first, then 4 consumers (a client and a session each, over all three members) drain the queue at once.
 *
 * <p>What can be asserted soundly. Nothing is enqueued while the consumers run, so the set of items only shrinks, and
 * a take deletes the first key of what it read, guarded by that key's revision: when it commits, that key is still
 * the first one there. So the takes, in the order etcd applied them, are exactly the order of the keys — priority,
 * then FIFO within a priority. That is checked on the server's own record: a watch on the queue's DELETEs, whose
 * events come in revision order, must list the items in exactly that order. What the consumers observe is weaker:
 * two takes in flight at once may return in either order, so the merged deliveries sorted by the instant a consumer
 * got its item need not be in priority order. What must hold is the real-time order: an item delivered before another
 * dequeue call was even made comes before that call's item; and each consumer's own items come in order.
 */
class PriorityQueueConsumersTest {

  private static final Logger log = LoggerFactory.getLogger(PriorityQueueConsumersTest.class);
  private static final int ITEMS = 200;
  private static final int CONSUMERS = 4;
  private static final int[] PRIORITIES = {0, 1, 7, 300, 65535};

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private final QueueTestSupport t = new QueueTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  /** One dequeue call that returned an item: when it was made, when it returned, and the item's rank. */
  private record Take(String consumer, String value, int rank, long invokedNanos, long returnedNanos) {}

  @Test
  void fourConsumersTakeInPriorityThenFifoOrder() throws Exception {
    String name = "pqc/jobs";
    EtcdClient c = t.client();
    PriorityQueue producer = PriorityQueue.create(t.session(c, Duration.ofSeconds(10)), name);
    Random random = new Random(7);
    History history = new History();
    List<int[]> enqueued = new ArrayList<>(); // {priority, index}
    long lastRevision = 0;
    for (int i = 0; i < ITEMS; i++) {
      int priority = PRIORITIES[random.nextInt(PRIORITIES.length)];
      String value = priority + "#" + i;
      QueueItem item = producer.enqueue(value, priority);
      assertThat(item.key().toStringUtf8()).startsWith(String.format("%s/%05d/", name, priority));
      history.enqueued("producer", value);
      enqueued.add(new int[] {priority, i});
    }
    lastRevision = get(c.kv().get(name)).header().revision();
    // the order every take must follow: priority, then enqueue order within a priority
    enqueued.sort(Comparator.<int[]>comparingInt(x -> x[0]).thenComparingInt(x -> x[1]));
    Map<String, Integer> rank = new HashMap<>();
    List<String> expected = new ArrayList<>();
    for (int[] e : enqueued) {
      rank.put(e[0] + "#" + e[1], rank.size());
      expected.add(e[0] + "#" + e[1]);
    }

    // the server's record of the takes: every DELETE under the queue, in revision order
    List<String> deletes = new CopyOnWriteArrayList<>();
    Map<String, String> valueOfKey = new HashMap<>();
    for (var kv : get(c.kv().get(ByteSequence.of(name + "/"), io.etcdrecipes.client.GetOption.prefix())).kvs()) {
      valueOfKey.put(kv.key().toStringUtf8(), kv.value().toStringUtf8());
    }
    Watcher watcher = c.watch().watch(ByteSequence.of(name + "/"),
        WatchOption.builder().prefix().revision(lastRevision + 1).build(), r -> {
          for (WatchEvent ev : r.events()) {
            deletes.add((ev.type() == WatchEvent.Type.DELETE ? "" : "PUT ")
                + valueOfKey.getOrDefault(ev.kv().key().toStringUtf8(), ev.kv().key().toStringUtf8()));
          }
        });
    try {
      get(watcher.created());
      List<Take> takes = new CopyOnWriteArrayList<>();
      List<Throwable> errors = new CopyOnWriteArrayList<>();
      AtomicInteger taken = new AtomicInteger();
      List<Thread> consumers = new ArrayList<>();
      for (int i = 0; i < CONSUMERS; i++) {
        String me = "c" + i;
        PriorityQueue q = PriorityQueue.create(t.session(t.client(), Duration.ofSeconds(10)), name);
        consumers.add(new Thread(() -> {
          try {
            while (taken.get() < ITEMS) {
              long invoked = System.nanoTime();
              QueueItem item;
              try {
                item = q.dequeue(Duration.ofMillis(500));
              } catch (TimeoutException e) {
                continue;
              }
              long returned = System.nanoTime();
              taken.incrementAndGet();
              history.delivered(me, item.valueUtf8(), returned);
              takes.add(new Take(me, item.valueUtf8(), rank.get(item.valueUtf8()), invoked, returned));
            }
          } catch (Throwable e) {
            errors.add(e);
          }
        }, "consumer-" + me));
      }
      consumers.forEach(Thread::start);
      for (Thread th : consumers) {
        th.join(Timing.seconds(60).toMillis());
      }
      assertThat(errors).isEmpty();
      history.deliveries().exactlyOnce();
      assertThat(producer.size()).isZero();

      // the server: takes applied in exactly priority-then-FIFO order
      await().atMost(Timing.seconds(10)).until(() -> deletes.size() >= ITEMS);
      assertThat(deletes).as("the queue's DELETEs in revision order (no PUT: nothing given back)").isEqualTo(expected);

      // each consumer's own items in order
      Map<String, Integer> lastRank = new HashMap<>();
      for (Take x : takes.stream().sorted(Comparator.comparingLong(Take::returnedNanos)).toList()) {
        Integer before = lastRank.put(x.consumer(), x.rank());
        assertThat(before == null || before < x.rank()).as("%s got %s after an item of rank %s", x.consumer(),
            x.value(), before).isTrue();
      }
      // real-time order across consumers: a delivery that returned before a call was made has a lower rank
      int inversionsByInstant = 0;
      List<Take> byReturn = takes.stream().sorted(Comparator.comparingLong(Take::returnedNanos)).toList();
      for (int i = 1; i < byReturn.size(); i++) {
        if (byReturn.get(i).rank() < byReturn.get(i - 1).rank()) {
          inversionsByInstant++;
        }
      }
      for (Take a : takes) {
        for (Take b : takes) {
          if (a.returnedNanos() < b.invokedNanos()) {
            assertThat(a.rank()).as("%s (%s, returned at %s) and %s (%s, invoked at %s)", a.value(), a.consumer(),
                history.at(a.returnedNanos()), b.value(), b.consumer(), history.at(b.invokedNanos()))
                .isLessThan(b.rank());
          }
        }
      }
      Map<String, Long> perConsumer = new HashMap<>();
      takes.forEach(x -> perConsumer.merge(x.consumer(), 1L, Long::sum));
      log.info("{} items taken by {} consumers {}; merged by return instant, {} neighbours out of priority order "
          + "(takes in flight together); the server applied them in exact order", takes.size(), CONSUMERS,
          perConsumer, inversionsByInstant);
    } finally {
      watcher.close();
    }
  }
}
