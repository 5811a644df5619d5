package io.etcdrecipes.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;

/** Lowest priority number first, FIFO within a priority, Go's key layout. */
class PriorityQueueTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final QueueTestSupport t = new QueueTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void priorityOrderAcrossPrioritiesAndFifoWithinOne() throws Exception {
    PriorityQueue q = PriorityQueue.create(t.session(), "pq/order");
    int[] priorities = {5, 0, 65535, 5, 0, 3, 5};
    for (int i = 0; i < priorities.length; i++) {
      QueueItem item = q.enqueue("item" + i, priorities[i]);
      assertThat(item.key().toStringUtf8()).startsWith(String.format("pq/order/%05d/", priorities[i]));
      assertThat(item.priority()).isEqualTo(priorities[i]);
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < priorities.length; i++) {
      out.add(q.dequeue(Timing.seconds(5)).valueUtf8());
    }
    assertThat(out).containsExactly("item1", "item4", "item5", "item0", "item3", "item6", "item2");
    assertThatThrownBy(() -> q.enqueue("x", -1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("priority");
    assertThatThrownBy(() -> q.enqueue("x", 65536)).isInstanceOf(IllegalArgumentException.class);
  }
}
