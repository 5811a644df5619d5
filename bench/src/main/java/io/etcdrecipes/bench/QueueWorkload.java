package io.etcdrecipes.bench;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.ClientMetrics;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.queue.Queue;
import io.etcdrecipes.queue.QueueItem;
import io.etcdrecipes.recipes.Session;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * The distributed FIFO queue (ours only: jetcd has no queue recipe), with {@link Bench.Options#queueConsumers}
 * consumers, each a {@link Session} of its own on one shared client (so each waits in etcd, not in this JVM), taking
 * items with blocking {@code dequeue} calls:
 *
 * <ul>
 *   <li>{@code queue-dequeue}: the queue is kept fed — {@link Bench.Options#queueProducers} producers (a client of
 *       their own) enqueue whenever fewer than {@link Bench.Options#queueBacklog} items are waiting, so consumers
 *       always find items. Items per second delivered to the consumers; the latency is each item's time from just
 *       before its enqueue call to its dequeue returning (mostly its time in the backlog).</li>
 *   <li>{@code queue-empty}: consumers wait on an empty queue and items arrive one at a time — one producer enqueues
 *       an item, waits until a consumer has it, enqueues the next — where a herd would show: every waiting consumer
 *       woken per item. Latency from the enqueue call to the dequeue returning.</li>
 * </ul>
 * The etcd server's own counters ({@code /metrics} of the first endpoint, before and after the measured window) give
 * the requests per item: unary KV requests received (Range, Txn, Put, DeleteRange) and Watch messages sent; the
 * producers' share is counted on their client ({@link ClientMetrics}), the consumers' share is the rest.
 */
final class QueueWorkload {

  static final String DEQUEUE = "queue-dequeue";
  static final String EMPTY = "queue-empty";
  static final List<String> NAMES = List.of(DEQUEUE, EMPTY);
  static final String PREFIX = "bench/queue/";
  /** A delivery this late (or later) most likely waited for etcd's 100 ms catch-up of an unsynced watch. */
  static final long SLOW = TimeUnit.MILLISECONDS.toNanos(50);

  private final Bench.Options o;
  private final String endpoints;
  private final byte[] padding = new byte[Bench.VALUE_BYTES - Long.BYTES];

  private QueueWorkload(Bench.Options o, String endpoints) {
    this.o = o;
    this.endpoints = endpoints;
    new Random(17).nextBytes(padding);
  }

  static boolean any(java.util.Set<String> workloads) {
    return NAMES.stream().anyMatch(workloads::contains);
  }

  static List<Row> run(String endpoints, Bench.Options o) throws Exception {
    return new QueueWorkload(o, endpoints).run();
  }

  private List<Row> run() throws Exception {
    List<Row> rows = new ArrayList<>();
    CallCounter producerCalls = new CallCounter();
    try (EtcdClient producers = EtcdClient.builder().endpoints(endpoints).metrics(producerCalls).build();
         EtcdClient consumers = EtcdClient.builder().endpoints(endpoints).build()) {
      for (String w : NAMES) {
        if (!o.workloads.contains(w)) {
          continue;
        }
        for (int n : o.queueConsumers) {
          rows.add(cell(w, n, producers, producerCalls, consumers));
        }
      }
      return rows;
    } finally {
      try (EtcdClient admin = EtcdClient.builder().endpoints(endpoints).build()) {
        admin.kv().delete(ByteSequence.of(PREFIX), DeleteOption.prefix()).get(30, TimeUnit.SECONDS);
        admin.kv().delete(ByteSequence.of("__" + PREFIX), DeleteOption.prefix()).get(30, TimeUnit.SECONDS);
      }
    }
  }

  /** One workload with {@code n} consumers: a warm-up, then the measured window. */
  private Row cell(String workload, int n, EtcdClient producerClient, CallCounter producerCalls, EtcdClient consumerClient)
      throws Exception {
    String name = PREFIX + workload + "-" + n;
    boolean fed = workload.equals(DEQUEUE);
    List<Session> sessions = new ArrayList<>();
    AtomicBoolean stop = new AtomicBoolean();
    Semaphore backlog = new Semaphore(fed ? o.queueBacklog : 0);
    Semaphore handedOver = new Semaphore(0); // queue-empty: the producer's item reached a consumer
    Window window = new Window();
    List<Thread> threads = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        String thread = "queue-consumer-" + i;
        Session s = Session.builder(consumerClient).ttl(Duration.ofSeconds(o.lockTtlSeconds)).build(Duration.ofSeconds(10));
        sessions.add(s);
        Queue q = Queue.create(s, name);
        threads.add(new Thread(() -> consume(q, stop, window, fed ? backlog : handedOver), thread));
      }
      Session ps = Session.builder(producerClient).ttl(Duration.ofSeconds(o.lockTtlSeconds)).build(Duration.ofSeconds(10));
      sessions.add(ps);
      Queue pq = Queue.create(ps, name);
      int producers = fed ? o.queueProducers : 1;
      for (int i = 0; i < producers; i++) {
        String thread = "queue-producer-" + i;
        threads.add(new Thread(() -> {
          if (fed) {
            produceFed(pq, stop, backlog, window);
          } else {
            produceOneByOne(pq, stop, handedOver, window);
          }
        }, thread));
      }
      threads.forEach(Thread::start);

      // warm-up, not measured
      TimeUnit.NANOSECONDS.sleep((long) (o.warmSeconds * 1e9 / 4));
      System.gc();
      Map<String, Long> server0 = serverCounts();
      long producer0 = producerCalls.calls.sum();
      long cpu0 = Load.processCpuNanos();
      long serverCpu0 = Load.serverCpuNanos();
      long t0 = System.nanoTime();
      window.open();
      long end = t0 + o.roundNanos() * o.roundsPerClient;
      long backlogSum = 0;
      long samples = 0;
      long backlogMin = Long.MAX_VALUE;
      while (System.nanoTime() - end < 0) {
        TimeUnit.MILLISECONDS.sleep(20); // sampling the backlog, not waiting for anything
        if (fed) {
          long b = o.queueBacklog - backlog.availablePermits();
          backlogSum += b;
          backlogMin = Math.min(backlogMin, b);
          samples++;
        }
      }
      Load.Run run = window.close();
      run.elapsedNanos = System.nanoTime() - t0;
      run.cpuNanos = Load.processCpuNanos() - cpu0;
      run.serverCpuNanos = Load.serverCpuNanos() - serverCpu0;
      long producerRpcs = producerCalls.calls.sum() - producer0;
      Map<String, Long> server = serverCounts();
      server.replaceAll((k, v) -> v - server0.getOrDefault(k, 0L));

      double items = Math.max(1, run.ops.sum());
      long kv = server.get("Range") + server.get("Txn") + server.get("Put") + server.get("DeleteRange");
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("consumers", n);
      x.put("producers", producers);
      if (fed) {
        x.put("backlog_target", o.queueBacklog);
        x.put("backlog_mean", samples == 0 ? 0 : Row.round(backlogSum / (double) samples, 1));
        x.put("backlog_min", samples == 0 ? 0 : backlogMin);
      }
      x.put("rpcs_per_item", Row.round((kv + server.get("WatchSent")) / items, 2));
      x.put("kv_requests_per_item", Row.round(kv / items, 2));
      x.put("watch_msgs_sent_per_item", Row.round(server.get("WatchSent") / items, 2));
      x.put("range_per_item", Row.round(server.get("Range") / items, 2));
      x.put("txn_per_item", Row.round(server.get("Txn") / items, 2));
      x.put("producer_kv_requests_per_item", Row.round(producerRpcs / items, 2));
      x.put("consumer_kv_requests_per_item", Row.round((kv - producerRpcs) / items, 2));
      double slow = run.latency.fractionAtLeast(SLOW); // queue-empty only: fed items wait in the backlog anyway
      if (!fed) {
        x.put("share_at_least_50ms", Row.round(slow, 3));
      }
      x.put("enqueue_errors", window.enqueueErrors.sum());
      if (!fed) {
        x.put("items_lost", window.lostItems.sum());
      }
      x.put("latency", fed ? "enqueue call to dequeue return (time in the backlog)" : "enqueue call to dequeue return");
      x.put("jetcd", "no queue recipe");
      Row row = Row.of(workload, OursTarget.NAME, n, run, x);
      String tail = fed
          ? String.format(Locale.ROOT, ", backlog mean %.0f min %d", backlogSum / (double) Math.max(1, samples),
              samples == 0 ? 0 : backlogMin)
          : String.format(Locale.ROOT, ", %.1f %% >= 50 ms, %d lost", slow * 100, window.lostItems.sum());
      Bench.say(Report.line(row) + String.format(Locale.ROOT,
          "  RPCs/item %.2f (KV %.2f: producers %.2f, consumers %.2f; Watch msgs sent %.2f)%s",
          (kv + server.get("WatchSent")) / items, kv / items, producerRpcs / items, (kv - producerRpcs) / items,
          server.get("WatchSent") / items, tail));
      if (run.lastError != null) {
        Bench.say("  last error: " + run.lastError);
      }
      return row;
    } finally {
      stop.set(true);
      for (Thread t : threads) {
        t.interrupt(); // a waiting dequeue gives up and leaves the line; a producer stops waiting for room
      }
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(30));
      }
      for (Session s : sessions) {
        s.close();
      }
      producerClient.kv().delete(ByteSequence.of(name + "/"), DeleteOption.prefix()).get(30, TimeUnit.SECONDS);
    }
  }

  /** The items delivered while the window is open. */
  private static final class Window {
    private volatile Load.Run run;
    final LongAdder enqueueErrors = new LongAdder();
    final LongAdder lostItems = new LongAdder();

    void open() {
      run = new Load.Run();
    }

    Load.Run close() {
      Load.Run r = run;
      run = null;
      return r;
    }

    void delivered(long sentNanos, long now) {
      Load.Run r = run;
      if (r != null) {
        r.latency.record(now - sentNanos);
        r.ops.increment();
      }
    }

    void lost() {
      if (run != null) {
        lostItems.increment();
      }
    }

    void failed(Throwable e) {
      Load.Run r = run;
      if (r != null) {
        r.errors.increment();
        r.lastError = e;
      }
    }
  }

  private ByteSequence value(long sentNanos) {
    ByteBuffer b = ByteBuffer.allocate(Bench.VALUE_BYTES);
    b.putLong(sentNanos).put(padding);
    return ByteSequence.of(b.array());
  }

  private static long sentNanos(QueueItem item) {
    return ByteBuffer.wrap(item.value().toByteArray()).getLong();
  }

  private void consume(Queue q, AtomicBoolean stop, Window window, Semaphore onItem) {
    while (!stop.get()) {
      try {
        QueueItem item = q.dequeue(Duration.ofSeconds(10));
        window.delivered(sentNanos(item), System.nanoTime());
        onItem.release();
      } catch (TimeoutException e) {
        // nothing now: try again (or stop)
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        window.failed(e);
      }
    }
  }

  /** Enqueues whenever the backlog has room. */
  private void produceFed(Queue q, AtomicBoolean stop, Semaphore backlog, Window window) {
    while (!stop.get()) {
      try {
        backlog.acquire();
        if (stop.get()) {
          return;
        }
        q.enqueue(value(System.nanoTime()));
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        backlog.release();
        window.enqueueErrors.increment();
      }
    }
  }

  /**
   * One item at a time: enqueue, wait until a consumer has it, next. An item that left the queue without reaching a
   * consumer (a dequeue that failed after its take) is counted as lost, and the next one goes in.
   */
  private void produceOneByOne(Queue q, AtomicBoolean stop, Semaphore handedOver, Window window) {
    while (!stop.get()) {
      try {
        q.enqueue(value(System.nanoTime()));
        while (!handedOver.tryAcquire(1, TimeUnit.SECONDS)) {
          if (stop.get()) {
            return;
          }
          if (q.size() == 0 && !handedOver.tryAcquire()) {
            window.lost();
            break;
          }
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        window.enqueueErrors.increment();
      }
    }
  }

  // ------------------------------------------------------------------------------------------------ counts

  /** Unary KV calls a client completed (retries inside one call count once). */
  private static final class CallCounter implements ClientMetrics {
    final LongAdder calls = new LongAdder();

    @Override
    public void callEnded(String service, String method, ErrorCode code, long nanos) {
      if (service.endsWith(".KV")) {
        calls.increment();
      }
    }
  }

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** The server's counts: KV requests received per method, and Watch messages sent ({@code WatchSent}). */
  private Map<String, Long> serverCounts() throws Exception {
    String first = endpoints.split(",")[0].trim();
    String body = HTTP.send(HttpRequest.newBuilder(URI.create(first + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    Map<String, Long> m = new LinkedHashMap<>();
    for (String method : List.of("Range", "Txn", "Put", "DeleteRange")) {
      m.put(method, sum(body, "grpc_server_msg_received_total", "grpc_method=\"" + method + "\""));
    }
    m.put("WatchSent", sum(body, "grpc_server_msg_sent_total", "grpc_method=\"Watch\""));
    return m;
  }

  private static long sum(String body, String name, String label) {
    double s = 0;
    for (String line : body.split("\n")) {
      if (line.startsWith(name + "{") && line.contains(label)) {
        s += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return Math.round(s);
  }
}
