package io.etcdrecipes.queue;

import static io.etcdrecipes.queue.QueueTestSupport.keys;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;

/** At-least-once: a claim survives until ack; a consumer that goes away gives the item back; poison goes to the dead letters. */
class ReliableQueueTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final QueueTestSupport t = new QueueTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void anAckedItemIsGoneAndAnUnackedOneIsDeliveredAgainWithItsCount() throws Exception {
    EtcdClient c = t.client();
    ReliableQueue producer = ReliableQueue.builder(t.session(), "rq/basic").build();
    producer.enqueue("a");
    producer.enqueue("b");

    Session first = t.session(c, Duration.ofSeconds(10));
    ReliableQueue consumer1 = ReliableQueue.builder(first, "rq/basic").build();
    Delivery a = consumer1.dequeue(Timing.seconds(5));
    assertThat(a.item().valueUtf8()).isEqualTo("a");
    assertThat(a.deliveryCount()).isEqualTo(1);
    Delivery b = consumer1.dequeue(Timing.seconds(5)); // "a" is claimed: the next free one
    assertThat(b.item().valueUtf8()).isEqualTo("b");
    b.ack();
    assertThat(producer.size()).isEqualTo(1);

    first.close(); // the consumer goes away without acking "a"
    assertThatThrownBy(a::ack).isInstanceOf(OwnershipLostException.class);
    ReliableQueue consumer2 = ReliableQueue.builder(t.session(), "rq/basic").build();
    Delivery again = consumer2.dequeue(Timing.seconds(5));
    assertThat(again.item().valueUtf8()).isEqualTo("a");
    assertThat(again.deliveryCount()).isEqualTo(2);
    again.ack();
    assertThat(producer.size()).isZero();
    assertThat(keys(c, "__rq/basic/")).isEmpty();
  }

  @Test
  void aPoisonItemEndsInTheDeadLetterQueue() throws Exception {
    ReliableQueue q = ReliableQueue.builder(t.session(), "rq/poison").maxDeliveries(2).build();
    q.enqueue("poison");
    for (int i = 1; i <= 2; i++) {
      try (Delivery d = q.dequeue(Timing.seconds(5))) {
        assertThat(d.deliveryCount()).isEqualTo(i); // processing fails: close() gives it back
      }
    }
    assertThat(q.poll()).isEmpty();
    assertThat(q.size()).isZero();
    Queue dead = Queue.create(t.session(), "rq/poison-dead");
    assertThat(dead.dequeue(Timing.seconds(5)).valueUtf8()).isEqualTo("poison");
  }

  @Test
  void anAckIsIdempotentAndDetachesTheClaim() throws Exception {
    ReliableQueue q = ReliableQueue.builder(t.session(), "rq/ack-twice").build();
    q.enqueue("x");
    Delivery d = q.dequeue(Timing.seconds(5));
    d.ack();
    assertThat(d.claim().isValid()).isFalse(); // released: no longer listening to the session
    d.ack(); // as a retry after a lost answer would: the item is gone, which is what an ack wants
    assertThat(q.size()).isZero();
    assertThat(keys(t.client(), "__rq/ack-twice/")).isEmpty();
  }

  @Test
  void deadLettersOfItemsWithTheSameNumberDoNotOverwriteEachOther() throws Exception {
    ReliableQueue q = ReliableQueue.builder(t.session(), "rq/poison-twice").maxDeliveries(1).build();
    for (String poison : new String[] {"p1", "p2"}) {
      QueueItem item = q.enqueue(poison);
      assertThat(item.sequence()).isZero(); // the queue ran empty: numbering starts again
      q.dequeue(Timing.seconds(5)).close(); // delivered once, given back
      assertThat(q.poll()).isEmpty(); // the next take moves it to the dead letters
    }
    Queue dead = Queue.create(t.session(), "rq/poison-twice-dead");
    assertThat(dead.size()).isEqualTo(2);
    assertThat(dead.dequeue(Timing.seconds(5)).valueUtf8()).isEqualTo("p1");
    assertThat(dead.dequeue(Timing.seconds(5)).valueUtf8()).isEqualTo("p2");
  }

  @Test
  void badInputIsRejected() throws Exception {
    Session s = t.session();
    assertThatThrownBy(() -> ReliableQueue.builder(s, "rq/bad").maxDeliveries(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ReliableQueue.builder(s, "rq/bad").maxDeliveries(2).maxDeliveries(3))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> ReliableQueue.builder(s, "rq/bad").deadLetterName("x/")).isInstanceOf(IllegalArgumentException.class);
  }
}
