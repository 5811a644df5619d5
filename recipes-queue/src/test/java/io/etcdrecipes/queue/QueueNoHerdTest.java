package io.etcdrecipes.queue;

import static io.etcdrecipes.queue.QueueTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * No herd: with 1, 4 and 16 consumers waiting on an empty queue (a client and a session each), one enqueue costs the
 * same few messages, counted by the server itself ({@code /metrics} of the one member, once the counters have stopped
 * moving): Watch messages it sent ({@code grpc_server_msg_sent_total{grpc_method="Watch"}}: events, and the answers to
 * watch creates and cancels) and unary KV requests it received (Range, Txn, Put, DeleteRange).
 *
 * <p>Expected: the producer's two requests (read the last key, then the guarded put); the first in line hears the
 * item, cancels its watch, reads and takes (two Txns, the take also deleting its place in line); with a second
 * consumer, that one hears the delete, cancels, reads, starts a watch for items and reads once more when etcd has
 * created it (two Txns, three Watch messages). Measured: 2 Watch messages and 4 KV requests with 1 waiting, 5 and 6
 * with 4 or 16. The bound asserted is 8 each, independent of how many wait; Go's queue, whose waiting consumers each
 * watch the whole prefix, wakes all of them instead: N events and N reads.
 */
class QueueNoHerdTest {

  private static final Logger log = LoggerFactory.getLogger(QueueNoHerdTest.class);
  private static final int[] WAITING = {1, 4, 16};

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final QueueTestSupport t = new QueueTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  /** What the member has done so far. */
  private record Counts(long watchSent, long range, long txn, long put, long deleteRange) {
    static Counts of(EtcdMember m) {
      return new Counts(Math.round(MemberMetrics.value(m, "grpc_server_msg_sent_total", "grpc_method=\"Watch\"")),
          MemberMetrics.received(m, "Range"), MemberMetrics.received(m, "Txn"), MemberMetrics.received(m, "Put"),
          MemberMetrics.received(m, "DeleteRange"));
    }

    Counts minus(Counts o) {
      return new Counts(watchSent - o.watchSent, range - o.range, txn - o.txn, put - o.put, deleteRange - o.deleteRange);
    }

    long kvRequests() {
      return range + txn + put + deleteRange;
    }

    @Override
    public String toString() {
      return watchSent + " Watch messages sent, " + kvRequests() + " KV requests (Range " + range + ", Txn " + txn
          + ", Put " + put + ", DeleteRange " + deleteRange + ")";
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

  @Test
  void oneEnqueueCostsTheSameFewMessagesWithOneFourOrSixteenConsumersWaiting() throws Exception {
    EtcdMember m = etcd.member(0);
    EtcdClient c = t.client();
    Map<Integer, Counts> costs = new LinkedHashMap<>();
    for (int n : WAITING) {
      String name = "herd/q" + n;
      Queue producer = Queue.create(t.session(c, Duration.ofSeconds(10)), name);
      List<CompletableFuture<QueueItem>> waiting = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        waiting.add(Queue.create(t.session(t.client(), Duration.ofSeconds(10)), name).dequeueAsync());
      }
      await().atMost(Timing.seconds(10)).until(() -> keys(c, "__" + name + "/consumers/").size() == n);
      Counts before = quiet(m);

      producer.enqueue("one");
      QueueItem got = get(CompletableFuture.anyOf(waiting.toArray(new CompletableFuture[0])).thenApply(x -> (QueueItem) x));
      Counts cost = quiet(m).minus(before); // no read of ours in between: the counts are the queue's alone
      assertThat(keys(c, "__" + name + "/consumers/")).as("consumers still in line").hasSize(n - 1);
      costs.put(n, cost);
      log.info("one enqueue with {} consumer(s) waiting: {}", n, cost);
      assertThat(got.valueUtf8()).isEqualTo("one");
      assertThat(waiting.stream().filter(CompletableFuture::isDone)).as("consumers woken with an item").hasSize(1);

      waiting.forEach(f -> f.cancel(false));
      await().atMost(Timing.seconds(10)).until(() -> keys(c, "__" + name + "/consumers/").isEmpty());
    }
    for (Map.Entry<Integer, Counts> e : costs.entrySet()) {
      assertThat(e.getValue().watchSent()).as("Watch messages sent for one enqueue, %d waiting", e.getKey())
          .isLessThanOrEqualTo(8);
      assertThat(e.getValue().kvRequests()).as("KV requests for one enqueue, %d waiting", e.getKey())
          .isLessThanOrEqualTo(8);
    }
    // flat: from 4 to 16 waiting nothing grows; 1 waiting lacks only the second consumer's turn
    assertThat(costs.get(16).watchSent()).isLessThanOrEqualTo(costs.get(4).watchSent());
    assertThat(costs.get(16).kvRequests()).isLessThanOrEqualTo(costs.get(4).kvRequests());
  }
}
