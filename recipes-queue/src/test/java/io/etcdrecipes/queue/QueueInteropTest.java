package io.etcdrecipes.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Etcdctl;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Our queues and Go's {@code recipe} package share keys, with {@code etcdctl} (the Go client of whichever etcd runs:
 * the name ends in {@code InteropTest}, so this runs on etcd 3.4 and 3.5) writing and reading them as Go does:
 *
 * <ul>
 *   <li>Go's {@code newSequentialKV} layout, {@code name/%016d} with the bookkeeping key {@code __name} (what our
 *       {@link Queue} writes, and Go's {@link PriorityQueue} under {@code name/%05d}), written by etcdctl, is read in
 *       order by ours, and our enqueue continues its numbering.</li>
 *   <li>Go's {@code recipe.Queue.Enqueue} writes {@code name/<unix nanoseconds>} ({@code newUniqueKV}): such items are
 *       read in order too, interleaved with ours (our next number is one more than the last key, so it sorts after
 *       the Go items before it and before the Go items after it).</li>
 *   <li>Go's priority layout {@code name/%05d/%016d} is taken priority first, then FIFO.</li>
 *   <li>Ours writes exactly those keys ({@code etcdctl get --prefix --keys-only}), nothing else under {@code name/}
 *       (our line of consumers and claims live under {@code __name/}), and Go's consumers would take them in order:
 *       {@code Queue.Dequeue} takes the lowest mod revision under the bare prefix ({@code WithFirstRev}),
 *       {@code PriorityQueue.Dequeue} the first key ({@code WithFirstKey}).</li>
 * </ul>
 */
class QueueInteropTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final QueueTestSupport t = new QueueTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  private static Etcdctl etcdctl() {
    return new Etcdctl(etcd.endpoints());
  }

  private static List<String> drain(Queue q, int n) throws Exception {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(q.dequeue(Timing.seconds(5)).valueUtf8());
    }
    assertThat(q.poll()).isEmpty();
    return out;
  }

  @Test
  void sequentialItemsWrittenByEtcdctlAreTakenInOrderAndOurEnqueueContinuesTheirNumbering() throws Exception {
    Etcdctl go = etcdctl();
    for (int i = 0; i < 3; i++) {
      go.run("put", "__iq/seq", "");
      go.run("put", String.format("iq/seq/%016d", i), "go-" + i);
    }
    Queue q = Queue.create(t.session(), "iq/seq");
    QueueItem ours = q.enqueue("ours-3");
    assertThat(ours.key().toStringUtf8()).isEqualTo(String.format("iq/seq/%016d", 3));
    assertThat(ours.sequence()).isEqualTo(3);
    assertThat(drain(q, 4)).containsExactly("go-0", "go-1", "go-2", "ours-3");
  }

  @Test
  void goQueueItemsKeyedByUnixNanosAreTakenInOrderInterleavedWithOurs() throws Exception {
    Etcdctl go = etcdctl();
    long first = epochNanos();
    go.run("put", "iq/nanos/" + first, "go-0");
    go.run("put", "iq/nanos/" + (first + 1_000), "go-1");
    Queue q = Queue.create(t.session(), "iq/nanos");
    QueueItem ours = q.enqueue("ours-2");
    assertThat(ours.key().toStringUtf8()).isEqualTo("iq/nanos/" + (first + 1_001));
    long later = Math.max(epochNanos(), first + 1_000_000);
    go.run("put", "iq/nanos/" + later, "go-3");
    assertThat(drain(q, 4)).containsExactly("go-0", "go-1", "ours-2", "go-3");
  }

  @Test
  void goPriorityItemsAreTakenPriorityFirstThenFifoAndOurEnqueueContinuesTheirNumbering() throws Exception {
    Etcdctl go = etcdctl();
    int[][] items = {{5, 0}, {0, 0}, {5, 1}, {65535, 0}, {0, 1}};
    for (int[] it : items) {
      go.run("put", String.format("__iq/pq/%05d", it[0]), "");
      go.run("put", String.format("iq/pq/%05d/%016d", it[0], it[1]), "go-" + it[0] + "-" + it[1]);
    }
    PriorityQueue q = PriorityQueue.create(t.session(), "iq/pq");
    QueueItem ours = q.enqueue("ours-5-2", 5);
    assertThat(ours.key().toStringUtf8()).isEqualTo(String.format("iq/pq/%05d/%016d", 5, 2));
    List<String> out = new ArrayList<>();
    for (int i = 0; i < items.length + 1; i++) {
      out.add(q.dequeue(Timing.seconds(5)).valueUtf8());
    }
    assertThat(out).containsExactly("go-0-0", "go-0-1", "go-5-0", "go-5-1", "ours-5-2", "go-65535-0");
    assertThat(q.poll()).isEmpty();
  }

  @Test
  void ourItemsHaveGosKeysAndGosConsumersWouldTakeThemInOrder() throws Exception {
    Etcdctl go = etcdctl();
    Queue q = Queue.create(t.session(), "iq/ours");
    for (int i = 0; i < 3; i++) {
      q.enqueue("v" + i);
    }
    assertThat(go.keys("iq/ours/", "--prefix", "--keys-only")).containsExactly(
        "iq/ours/0000000000000000", "iq/ours/0000000000000001", "iq/ours/0000000000000002");
    assertThat(go.keys("__iq/ours", "--keys-only")).as("Go's bookkeeping key").containsExactly("__iq/ours");
    // Go's Queue.Dequeue: the lowest mod revision under the bare prefix
    assertThat(go.keys("iq/ours", "--prefix", "--sort-by=MODIFY", "--order=ASCEND", "--limit=1", "--keys-only"))
        .containsExactly("iq/ours/0000000000000000");

    PriorityQueue pq = PriorityQueue.create(t.session(), "iq/opq");
    pq.enqueue("a", 3);
    pq.enqueue("b", 0);
    pq.enqueue("c", 3);
    assertThat(go.keys("iq/opq/", "--prefix", "--keys-only")).containsExactly(
        "iq/opq/00000/0000000000000000", "iq/opq/00003/0000000000000000", "iq/opq/00003/0000000000000001");
    assertThat(go.keys("__iq/opq/", "--prefix", "--keys-only")).as("Go's bookkeeping keys")
        .containsExactly("__iq/opq/00000", "__iq/opq/00003");
    // Go's PriorityQueue.Dequeue: the first key under name/
    assertThat(go.keys("iq/opq/", "--prefix", "--sort-by=KEY", "--order=ASCEND", "--limit=1", "--keys-only"))
        .containsExactly("iq/opq/00000/0000000000000000");

    // a consumer waiting in line leaves nothing under name/ that Go's consumers would read as an item
    var waiting = Queue.create(t.session(), "iq/empty").dequeueAsync();
    org.awaitility.Awaitility.await().atMost(Timing.seconds(5))
        .until(() -> go.count("__iq/empty/consumers/", "--prefix") == 1);
    assertThat(go.count("iq/empty", "--prefix")).isZero();
    waiting.cancel(false);
  }

  private static long epochNanos() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }
}
