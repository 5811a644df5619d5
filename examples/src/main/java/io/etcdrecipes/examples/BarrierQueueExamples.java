package io.etcdrecipes.examples;

import io.etcdrecipes.barrier.Barrier;
import io.etcdrecipes.barrier.DoubleBarrier;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.queue.Delivery;
import io.etcdrecipes.queue.PriorityQueue;
import io.etcdrecipes.queue.Queue;
import io.etcdrecipes.queue.QueueItem;
import io.etcdrecipes.queue.ReliableQueue;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdCluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The examples of docs/barriers.md and docs/queues.md, compiled and runnable:
 * {@code java -cp ... io.etcdrecipes.examples.BarrierQueueExamples} starts a one-member etcd (or uses
 * {@code ETCD_ENDPOINTS}) and runs each.
 */
public final class BarrierQueueExamples {

  private BarrierQueueExamples() {}

  /** A coordinator holds a barrier; workers wait at it until it is released. */
  static void barrier(EtcdClient client) throws Exception {
    Barrier deploy = Barrier.create(client, "barriers/deploy-v42");
    deploy.hold();
    CompletableFuture<Void> worker = Barrier.create(client, "barriers/deploy-v42").awaitAsync();
    System.out.println("worker waiting: " + !worker.isDone());
    deploy.release();
    worker.join();
    System.out.println("worker went on");
  }

  /** Three participants start a stage together and finish it together. */
  static void doubleBarrier(EtcdClient client) throws Exception {
    List<Session> sessions = new ArrayList<>();
    List<DoubleBarrier> participants = new ArrayList<>();
    List<CompletableFuture<Void>> entered = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Session s = Session.builder(client).ttl(Duration.ofSeconds(10)).build(Duration.ofSeconds(5));
      sessions.add(s);
      DoubleBarrier stage = DoubleBarrier.create(s, "barriers/stage-2", 3); // one object per participant
      participants.add(stage);
      entered.add(stage.enterAsync());
    }
    CompletableFuture.allOf(entered.toArray(new CompletableFuture[0])).join();
    System.out.println("all 3 entered");
    List<CompletableFuture<Void>> left = new ArrayList<>();
    for (DoubleBarrier stage : participants) {
      left.add(stage.leaveAsync());
    }
    CompletableFuture.allOf(left.toArray(new CompletableFuture[0])).join();
    System.out.println("all 3 left");
    sessions.forEach(Session::close);
  }

  /** A FIFO queue: at most once, as Go's. */
  static void fifo(EtcdClient client) throws Exception {
    try (Session session = Session.builder(client).ttl(Duration.ofSeconds(10)).build(Duration.ofSeconds(5))) {
      Queue jobs = Queue.create(session, "jobs/resize");
      jobs.enqueue("image-17.png");
      jobs.enqueue("image-18.png");
      QueueItem next = jobs.dequeue(Duration.ofSeconds(30));
      System.out.println("resizing " + next.valueUtf8() + " (" + jobs.size() + " left)");
    }
  }

  /** A priority queue: the lowest number first, FIFO within a priority. */
  static void priority(EtcdClient client) throws Exception {
    try (Session session = Session.builder(client).ttl(Duration.ofSeconds(10)).build(Duration.ofSeconds(5))) {
      PriorityQueue tasks = PriorityQueue.create(session, "tasks");
      tasks.enqueue("rebuild-index", 10);
      tasks.enqueue("page-oncall", 0);
      System.out.println("first: " + tasks.dequeue(Duration.ofSeconds(5)).valueUtf8());
    }
  }

  /** At least once: ack, or the item comes back. */
  static void reliable(EtcdClient client) throws Exception {
    try (Session session = Session.builder(client).ttl(Duration.ofSeconds(10)).build(Duration.ofSeconds(5))) {
      ReliableQueue orders = ReliableQueue.builder(session, "orders").maxDeliveries(5).build();
      orders.enqueue("order-1001");
      try (Delivery d = orders.dequeue(Duration.ofSeconds(30))) {
        System.out.println("processing " + d.item().valueUtf8() + ", delivery #" + d.deliveryCount());
        d.ack();
      }
    }
  }

  public static void main(String[] args) throws Exception {
    String endpoints = System.getenv("ETCD_ENDPOINTS");
    EtcdCluster cluster = endpoints == null ? EtcdCluster.builder().members(1).start() : null;
    try (EtcdClient client = EtcdClient.builder()
        .endpoints(cluster != null ? cluster.endpoints() : endpoints).build()) {
      barrier(client);
      doubleBarrier(client);
      fifo(client);
      priority(client);
      reliable(client);
    } finally {
      if (cluster != null) {
        cluster.close();
      }
    }
  }
}
