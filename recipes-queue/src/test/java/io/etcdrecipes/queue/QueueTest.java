package io.etcdrecipes.queue;

import static io.etcdrecipes.queue.QueueTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionLostException;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.History;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;

/** The FIFO queue on one member: Go's layout, order, waits, no herd, exactly-once delivery of acknowledged items. */
class QueueTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final QueueTestSupport t = new QueueTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void itemsComeOutInOrderWithGosKeys() throws Exception {
    Queue q = Queue.create(t.session(), "q/order");
    for (int i = 0; i < 10; i++) {
      QueueItem item = q.enqueue("v" + i);
      assertThat(item.key().toStringUtf8()).isEqualTo(String.format("q/order/%016d", i));
    }
    assertThat(q.size()).isEqualTo(10);
    assertThat(q.peek().orElseThrow().valueUtf8()).isEqualTo("v0");
    for (int i = 0; i < 10; i++) {
      assertThat(q.dequeue(Timing.seconds(5)).valueUtf8()).isEqualTo("v" + i);
    }
    assertThat(q.poll()).isEmpty();
    assertThat(q.size()).isZero();
  }

  @Test
  void aDequeueWaitsForAnItemAndATimedOutOneLeavesNothingBehind() throws Exception {
    EtcdClient c = t.client();
    Queue q = Queue.create(t.session(c, Duration.ofSeconds(10)), "q/wait");
    assertThatThrownBy(() -> q.dequeue(Duration.ofMillis(300))).isInstanceOf(TimeoutException.class);
    assertThat(keys(c, "__q/wait/consumers/")).isEmpty();
    CompletableFuture<QueueItem> waiting = q.dequeueAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys(c, "__q/wait/consumers/").size() == 1);
    Queue.create(t.session(), "q/wait").enqueue("late");
    assertThat(get(waiting).valueUtf8()).isEqualTo("late");
    assertThat(keys(c, "__q/wait/consumers/")).isEmpty();
  }

  @Test
  void aCancelledDequeueLeavesTheLineAndLosesNoItem() throws Exception {
    EtcdClient c = t.client();
    Queue q = Queue.create(t.session(c, Duration.ofSeconds(10)), "q/cancel");
    CompletableFuture<QueueItem> waiting = q.dequeueAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys(c, "__q/cancel/consumers/").size() == 1);
    waiting.cancel(false);
    await().atMost(Timing.seconds(5)).until(() -> keys(c, "__q/cancel/consumers/").isEmpty());
    q.enqueue("kept");
    assertThat(q.dequeue(Timing.seconds(5)).valueUtf8()).isEqualTo("kept");
  }

  @Test
  void fourProducersAndFourConsumersDeliverEveryItemExactlyOnceInOrder() throws Exception {
    History history = new History();
    int perProducer = 150;
    List<Thread> threads = new ArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    for (int p = 0; p < 4; p++) {
      String producer = "p" + p;
      Queue q = Queue.create(t.session(), "q/many");
      threads.add(new Thread(() -> {
        try {
          for (int i = 0; i < perProducer; i++) {
            String item = producer + ":" + i;
            q.enqueue(item);
            history.enqueued(producer, item);
          }
        } catch (Throwable e) {
          errors.add(e);
        }
      }));
    }
    int total = 4 * perProducer;
    java.util.concurrent.atomic.AtomicInteger taken = new java.util.concurrent.atomic.AtomicInteger();
    for (int c = 0; c < 4; c++) {
      String consumer = "c" + c;
      Queue q = Queue.create(t.session(), "q/many");
      threads.add(new Thread(() -> {
        try {
          while (taken.get() < total) {
            try {
              QueueItem item = q.dequeue(Duration.ofMillis(500));
              taken.incrementAndGet();
              history.delivered(consumer, item.valueUtf8());
            } catch (TimeoutException e) {
              // the others may have taken the rest
            }
          }
        } catch (Throwable e) {
          errors.add(e);
        }
      }));
    }
    threads.forEach(Thread::start);
    for (Thread th : threads) {
      th.join(Timing.seconds(120).toMillis());
    }
    assertThat(errors).isEmpty();
    history.deliveries().exactlyOnce().fifoPerProducer();
    assertThat(keys(t.client(), "__q/many/consumers/")).isEmpty();
  }

  @Test
  void oneEnqueueWakesOneOfSixteenWaitingConsumers() throws Exception {
    EtcdClient c = t.client();
    List<CompletableFuture<QueueItem>> waiting = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      waiting.add(Queue.create(t.session(), "q/herd").dequeueAsync());
    }
    await().atMost(Timing.seconds(10)).until(() -> keys(c, "__q/herd/consumers/").size() == 16);
    long eventsBefore = sentWatchMessages();
    Queue.create(t.session(), "q/herd").enqueue("one");
    await().atMost(Timing.seconds(5)).until(() -> waiting.stream().filter(CompletableFuture::isDone).count() == 1);
    await().atMost(Timing.seconds(5)).until(() -> keys(c, "__q/herd/consumers/").size() == 15);
    long events = sentWatchMessages() - eventsBefore;
    // the first in line hears the new item, the second hears the first leave the line (plus watch bookkeeping)
    assertThat(events).as("watch messages for one enqueue with 16 consumers waiting").isLessThan(12);
    waiting.forEach(f -> f.cancel(false));
    await().atMost(Timing.seconds(5)).until(() -> keys(c, "__q/herd/consumers/").isEmpty());
  }

  private static long sentWatchMessages() {
    return Math.round(MemberMetrics.value(etcd.member(0), "grpc_server_msg_sent_total", "grpc_method=\"Watch\""));
  }

  @Test
  void badInputIsRejected() throws Exception {
    Session s = t.session();
    assertThatThrownBy(() -> Queue.create(s, "")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("name");
    assertThatThrownBy(() -> Queue.create(s, "q/")).isInstanceOf(IllegalArgumentException.class);
    Queue q = Queue.create(s, "q/bad");
    assertThatThrownBy(() -> q.enqueue(ByteSequence.of(new byte[QueueLayout.MAX_ITEM_BYTES + 1])))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("value");
    assertThatThrownBy(() -> q.dequeue(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
    s.close();
    assertThatThrownBy(q::dequeue).isInstanceOf(SessionLostException.class);
    assertThat(q.size()).isZero();
  }
}
