package io.etcdrecipes.client;

import static io.etcdrecipes.testkit.Futures.failure;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.internal.WatchImpl;
import io.etcdrecipes.testkit.EtcdCluster;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/** Watch against real etcd: one shared stream, exactly-once in-order delivery across faults, every option. */
class WatchTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).flag("--experimental-watch-progress-notify-interval", "300ms").build();

  /** A member that refuses requests over 1 MiB, so a multi-MiB watch response must come in fragments. */
  @RegisterExtension
  static final EtcdClusterExtension small = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true)
      .flag("--max-request-bytes", "1048576").build();

  private static final Duration WAIT = Timing.seconds(30);

  private static EtcdClient client(String endpoints) {
    return EtcdClient.builder().endpoints(endpoints).callTimeout(Duration.ofSeconds(5)).build();
  }


  /** Collects everything a watch delivers. */
  static class Recorder implements WatchListener {
    final List<WatchResponse> responses = new CopyOnWriteArrayList<>();
    final List<WatchEvent> events = new CopyOnWriteArrayList<>();
    final List<EtcdException> errors = new CopyOnWriteArrayList<>();
    final AtomicInteger completed = new AtomicInteger();
    final AtomicInteger concurrent = new AtomicInteger();
    final AtomicBoolean overlapped = new AtomicBoolean();

    @Override
    public void onNext(WatchResponse response) {
      if (concurrent.incrementAndGet() != 1) {
        overlapped.set(true);
      }
      assertThat(Thread.currentThread().getName()).doesNotContain("grpc").doesNotContain("etcd-client-io");
      responses.add(response);
      events.addAll(response.events());
      concurrent.decrementAndGet();
    }

    @Override
    public void onError(EtcdException error) {
      errors.add(error);
    }

    @Override
    public void onCompleted() {
      completed.incrementAndGet();
    }

    List<String> keys() {
      return events.stream().map(e -> e.kv().key().toStringUtf8()).toList();
    }
  }

  // ------------------------------------------------------------------ one stream

  @Test
  void thousandWatchesShareOneStreamAndEachGetsItsEvent() throws Exception {
    int n = 1000;
    String prefix = "thousand/";
    try (EtcdClient client = client(etcd.endpoints()); EtcdClient writer = client(etcd.endpoints())) {
      List<EtcdMember> members = etcd.members();
      long base = ServerMetrics.sum(members, "etcd_debugging_mvcc_watcher_total");
      List<Recorder> recorders = new ArrayList<>();
      List<Watcher> watchers = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Recorder r = new Recorder();
        recorders.add(r);
        watchers.add(client.watch().watch(ByteSequence.of(prefix + i), r));
      }
      CompletableFuture.allOf(watchers.stream().map(Watcher::created).toArray(CompletableFuture[]::new))
          .get(30, TimeUnit.SECONDS);

      assertThat(((WatchImpl) client.watch()).openStreams()).isEqualTo(1);
      await().atMost(WAIT).untilAsserted(() -> {
        assertThat(ServerMetrics.sum(members, "etcd_debugging_mvcc_watch_stream_total")).isEqualTo(1);
        assertThat(ServerMetrics.sum(members, "etcd_debugging_mvcc_watcher_total")).isEqualTo(base + n);
        assertThat(ServerMetrics.openStreams(members, "Watch")).isEqualTo(1);
      });

      List<CompletableFuture<PutResponse>> puts = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        puts.add(writer.kv().put(prefix + i, "v" + i));
      }
      CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
      await().atMost(WAIT).until(() -> recorders.stream().allMatch(r -> r.events.size() == 1));
      for (int i = 0; i < n; i++) {
        WatchEvent e = recorders.get(i).events.get(0);
        assertThat(e.kv().key().toStringUtf8()).isEqualTo(prefix + i);
        assertThat(e.kv().value().toStringUtf8()).isEqualTo("v" + i);
        assertThat(e.kv().modRevision()).isEqualTo(puts.get(i).join().header().revision());
      }
      watchers.forEach(Watcher::close);
      await().atMost(WAIT).until(() -> ServerMetrics.sum(members, "etcd_debugging_mvcc_watcher_total") == base);
      assertThat(recorders).allSatisfy(r -> assertThat(r.completed.get()).isEqualTo(1));
    }
  }

  // ------------------------------------------------------------------ exactly once, in order, across faults

  /** Writes prefix/000000, prefix/000001, ... one at a time; remembers what was acknowledged and what is unknown. */
  static final class SequentialWriter implements AutoCloseable {
    final EtcdClient client;
    final String prefix;
    final Map<String, Long> acked = new ConcurrentHashMap<>();
    final Set<String> unknown = ConcurrentHashMap.newKeySet();
    final AtomicInteger attempts = new AtomicInteger();
    final AtomicBoolean stop = new AtomicBoolean();
    final Thread thread;

    SequentialWriter(EtcdClient client, String prefix) {
      this.client = client;
      this.prefix = prefix;
      this.thread = new Thread(this::run, "writer-" + prefix);
      thread.setDaemon(true);
      thread.start();
    }

    private void run() {
      KV kv = client.kv().withTimeout(Duration.ofSeconds(2));
      while (!stop.get()) {
        String key = prefix + String.format("%06d", attempts.getAndIncrement());
        try {
          acked.put(key, kv.put(key, "v-" + key).get(5, TimeUnit.SECONDS).header().revision());
        } catch (InterruptedException e) {
          return;
        } catch (Exception e) {
          unknown.add(key);
        }
      }
    }

    void awaitAcked(int n) {
      int target = acked.size() + n;
      await().atMost(WAIT).until(() -> acked.size() >= target);
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      thread.join(TimeUnit.SECONDS.toMillis(15));
    }
  }

  /**
   * Runs a writer and a prefix watch on {@code watchEndpoints}, injects {@code fault} after some writes, keeps
   * writing after it, and checks that the watch saw exactly the writes the cluster holds: each once, in
   * revision order, with no gap.
   */
  private void exactlyOnceInOrder(String prefix, String watchEndpoints, Consumer<EtcdClient> fault) throws Exception {
    try (EtcdClient watchClient = client(watchEndpoints); EtcdClient writeClient = client(etcd.endpoints())) {
      Recorder rec = new Recorder();
      Watcher w = watchClient.watch().watch(ByteSequence.of(prefix), WatchOption.prefix(), rec);
      w.created().get(10, TimeUnit.SECONDS);
      List<String> unknownAfter;
      try (SequentialWriter writer = new SequentialWriter(writeClient, prefix)) {
        writer.awaitAcked(100);
        fault.accept(watchClient);
        writer.awaitAcked(100);
        writer.close();
        unknownAfter = List.copyOf(writer.unknown);
        // The store is the truth: every write it holds must reach the watcher, once, in order.
        List<KeyValue> stored = writeClient.kv().get(ByteSequence.of(prefix), GetOption.prefix()).get(10, TimeUnit.SECONDS).kvs();
        List<KeyValue> expected = stored.stream()
            .sorted((a, b) -> Long.compare(a.modRevision(), b.modRevision())).toList();
        long last = expected.get(expected.size() - 1).modRevision();
        await().atMost(WAIT).until(() -> !rec.events.isEmpty()
            && rec.events.get(rec.events.size() - 1).kv().modRevision() >= last);
        List<String> seen = rec.events.stream()
            .map(e -> e.kv().key().toStringUtf8() + "@" + e.kv().modRevision()).toList();
        List<String> want = expected.stream()
            .map(kv -> kv.key().toStringUtf8() + "@" + kv.modRevision()).toList();
        assertThat(seen).as("events seen by the watcher vs. the store").containsExactlyElementsOf(want);
        for (Map.Entry<String, Long> a : writer.acked.entrySet()) {
          assertThat(seen).contains(a.getKey() + "@" + a.getValue());
        }
        assertThat(rec.errors).isEmpty();
        assertThat(rec.overlapped).isFalse();
        assertThat(w.nextRevision()).isEqualTo(last + 1);
      }
      System.out.printf("%s: %d events in order; %d writes had an unknown outcome%n", prefix, rec.events.size(),
          unknownAfter.size());
    }
  }

  @Test
  void exactlyOnceInOrderAcrossKillOfTheWatchedMember() throws Exception {
    EtcdMember[] victim = new EtcdMember[1];
    try {
      exactlyOnceInOrder("kill/", etcd.endpoints(), c -> {
        victim[0] = ServerMetrics.memberWithWatchStream(etcd.members());
        victim[0].kill();
      });
    } finally {
      if (victim[0] != null) {
        victim[0].start();
      }
    }
  }

  @Test
  void exactlyOnceInOrderAcrossRestartOfTheWholeCluster() throws Exception {
    exactlyOnceInOrder("restart/", etcd.endpoints(), c -> {
      EtcdCluster cluster = etcd.cluster();
      for (EtcdMember m : cluster.members()) {
        m.stop();
      }
      for (EtcdMember m : cluster.members()) {
        m.startNoWait();
      }
      cluster.awaitHealthy(Duration.ofSeconds(30));
    });
  }

  @Test
  void exactlyOnceInOrderAcrossProxyResets() throws Exception {
    exactlyOnceInOrder("reset/", String.join(",", etcd.proxiedEndpoints()), c -> {
      for (int i = 0; i < 3; i++) {
        for (EtcdMember m : etcd.members()) {
          m.proxy().reset();
        }
        // the next reset should cut a live connection: wait until the client answers through a proxy again
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).ignoreExceptions()
            .until(() -> c.kv().get("reset/probe").get(2, TimeUnit.SECONDS) != null);
      }
    });
  }

  // ------------------------------------------------------------------ compaction

  @Test
  void compactedStartRevisionEndsTheWatchWithTheCompactRevision() throws Exception {
    try (EtcdClient client = client(etcd.endpoints())) {
      long first = client.kv().put("compacted/a", "1").get(10, TimeUnit.SECONDS).header().revision();
      client.kv().put("compacted/a", "2").get(10, TimeUnit.SECONDS);
      long compactAt = client.kv().put("compacted/a", "3").get(10, TimeUnit.SECONDS).header().revision();
      client.kv().compact(compactAt).get(10, TimeUnit.SECONDS);

      Recorder rec = new Recorder();
      Watcher w = client.watch().watch(ByteSequence.of("compacted/a"), WatchOption.builder().revision(first).build(), rec);
      Throwable t = failure(w.done(), WAIT);
      assertThat(t).isInstanceOf(CompactedException.class);
      assertThat(((CompactedException) t).compactRevision()).isEqualTo(compactAt);
      await().atMost(WAIT).until(() -> rec.errors.size() == 1);
      assertThat(rec.errors.get(0)).isSameAs(t);
      assertThat(rec.events).isEmpty();
      assertThat(((WatchImpl) client.watch()).openWatches()).isZero();

      // Watching from the compaction revision itself is allowed and replays it.
      Recorder ok = new Recorder();
      try (Watcher w2 = client.watch().watch(ByteSequence.of("compacted/a"), WatchOption.builder().revision(compactAt).build(), ok)) {
        await().atMost(WAIT).until(() -> ok.events.size() == 1);
        assertThat(ok.events.get(0).kv().value().toStringUtf8()).isEqualTo("3");
      }
    }
  }

  @Test
  void compactionWhileDisconnectedEndsTheWatchWhenItResumes() throws Exception {
    EtcdMember m = etcd.member(0);
    try (EtcdClient watchClient = client(m.proxiedEndpoint()); EtcdClient writer = client(etcd.endpoints())) {
      Recorder rec = new Recorder();
      Watcher w = watchClient.watch().watch(ByteSequence.of("offline/"), WatchOption.prefix(), rec);
      w.created().get(10, TimeUnit.SECONDS);
      writer.kv().put("offline/a", "1").get(10, TimeUnit.SECONDS);
      await().atMost(WAIT).until(() -> rec.events.size() == 1);

      m.proxy().blackhole().reset();
      long missed = writer.kv().put("offline/b", "2").get(10, TimeUnit.SECONDS).header().revision();
      long compactAt = writer.kv().put("other/x", "3").get(10, TimeUnit.SECONDS).header().revision();
      writer.kv().compact(compactAt).get(10, TimeUnit.SECONDS);
      assertThat(w.nextRevision()).isLessThanOrEqualTo(missed);
      m.proxy().heal();

      Throwable t = failure(w.done(), WAIT);
      assertThat(t).isInstanceOf(CompactedException.class);
      assertThat(((CompactedException) t).compactRevision()).isEqualTo(compactAt);
      assertThat(rec.events).hasSize(1);
    } finally {
      m.proxy().heal();
    }
  }

  // ------------------------------------------------------------------ fragments

  @Test
  void fragmentedResponseOfSeveralMibArrivesWhole() throws Exception {
    int keys = 10;
    byte[] big = new byte[700 * 1024];
    java.util.Arrays.fill(big, (byte) 'x');
    try (EtcdClient client = EtcdClient.builder().endpoints(small.endpoints()).build()) {
      for (int i = 0; i < keys; i++) {
        client.kv().put(ByteSequence.of("frag/" + i), ByteSequence.of(big)).get(10, TimeUnit.SECONDS);
      }
      Recorder rec = new Recorder();
      Watcher w = client.watch().watch(ByteSequence.of("frag/"), WatchOption.builder().prefix().prevKv().fragment().build(), rec);
      w.created().get(10, TimeUnit.SECONDS);
      DeleteResponse del = client.kv().delete(ByteSequence.of("frag/"), DeleteOption.prefix()).get(10, TimeUnit.SECONDS);
      await().atMost(WAIT).until(() -> rec.events.size() == keys);
      assertThat(rec.responses).hasSize(1);
      assertThat(rec.events).allSatisfy(e -> {
        assertThat(e.type()).isEqualTo(WatchEvent.Type.DELETE);
        assertThat(e.kv().modRevision()).isEqualTo(del.header().revision());
        assertThat(e.prevKv().value().size()).isEqualTo(big.length);
      });
      w.close();
    }
  }

  // ------------------------------------------------------------------ options

  @Test
  void prevKvNoPutNoDelete() throws Exception {
    try (EtcdClient client = client(etcd.endpoints())) {
      Recorder prev = new Recorder();
      Recorder noPut = new Recorder();
      Recorder noDelete = new Recorder();
      List<Watcher> ws = List.of(
          client.watch().watch(ByteSequence.of("opts/k"), WatchOption.builder().prevKv().build(), prev),
          client.watch().watch(ByteSequence.of("opts/k"), WatchOption.builder().noPut().build(), noPut),
          client.watch().watch(ByteSequence.of("opts/k"), WatchOption.builder().noDelete().build(), noDelete));
      for (Watcher w : ws) {
        w.created().get(10, TimeUnit.SECONDS);
      }
      client.kv().put("opts/k", "1").get(10, TimeUnit.SECONDS);
      client.kv().put("opts/k", "2").get(10, TimeUnit.SECONDS);
      client.kv().delete("opts/k").get(10, TimeUnit.SECONDS);
      await().atMost(WAIT).until(() -> prev.events.size() == 3 && noPut.events.size() == 1
          && noDelete.events.size() == 2);
      assertThat(prev.events.get(0).prevKv()).isNull();
      assertThat(prev.events.get(1).prevKv().value().toStringUtf8()).isEqualTo("1");
      assertThat(prev.events.get(2).type()).isEqualTo(WatchEvent.Type.DELETE);
      assertThat(prev.events.get(2).prevKv().value().toStringUtf8()).isEqualTo("2");
      assertThat(noPut.events).extracting(WatchEvent::type).containsExactly(WatchEvent.Type.DELETE);
      assertThat(noDelete.events).extracting(WatchEvent::type).containsExactly(WatchEvent.Type.PUT, WatchEvent.Type.PUT);
      ws.forEach(Watcher::close);
    }
  }

  @Test
  void rangeAndFromKey() throws Exception {
    try (EtcdClient client = client(etcd.endpoints())) {
      Recorder range = new Recorder();
      Recorder fromKey = new Recorder();
      Watcher w1 = client.watch().watch(ByteSequence.of("rng/b"), WatchOption.builder().range(ByteSequence.of("rng/d")).build(), range);
      Watcher w2 = client.watch().watch(ByteSequence.of("rng/c"), WatchOption.builder().fromKey().build(), fromKey);
      w1.created().get(10, TimeUnit.SECONDS);
      w2.created().get(10, TimeUnit.SECONDS);
      for (String k : List.of("rng/a", "rng/b", "rng/c", "rng/d", "rng/e", "rnh")) {
        client.kv().put(k, "x").get(10, TimeUnit.SECONDS);
      }
      await().atMost(WAIT).until(() -> range.events.size() == 2 && fromKey.keys().contains("rnh"));
      assertThat(range.keys()).containsExactly("rng/b", "rng/c");
      assertThat(fromKey.keys()).containsSubsequence("rng/c", "rng/d", "rng/e", "rnh").doesNotContain("rng/a", "rng/b");
      w1.close();
      w2.close();
    }
  }

  @Test
  void revisionReplaysHistory() throws Exception {
    try (EtcdClient client = client(etcd.endpoints())) {
      long first = client.kv().put("hist/k", "1").get(10, TimeUnit.SECONDS).header().revision();
      client.kv().put("hist/k", "2").get(10, TimeUnit.SECONDS);
      client.kv().delete("hist/k").get(10, TimeUnit.SECONDS);
      Recorder rec = new Recorder();
      try (Watcher w = client.watch().watch(ByteSequence.of("hist/k"), WatchOption.builder().revision(first).build(), rec)) {
        await().atMost(WAIT).until(() -> rec.events.size() == 3);
        assertThat(rec.events).extracting(e -> e.type() + ":" + e.kv().value().toStringUtf8())
            .containsExactly("PUT:1", "PUT:2", "DELETE:");
        assertThat(rec.events.get(0).kv().modRevision()).isEqualTo(first);
      }
    }
  }

  @Test
  void requestProgressDoesNotSkipHistoryStillBeingReplayed() throws Exception {
    int n = 300;
    try (EtcdClient client = client(etcd.endpoints())) {
      long first = 0;
      for (int i = 0; i < n; i++) {
        long r = client.kv().put("replay/" + i, "v").get(10, TimeUnit.SECONDS).header().revision();
        first = first == 0 ? r : first;
      }
      Recorder rec = new Recorder();
      try (Watcher w = client.watch().watch(ByteSequence.of("replay/"), WatchOption.builder().prefix().revision(first).build(), rec)) {
        w.created().get(10, TimeUnit.SECONDS);
        // The watcher is "unsynced" on the server and catches up in a background loop; a progress response may
        // come first and name the current revision. It must not make the client drop the replay.
        client.watch().requestProgress().get(10, TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> rec.events.size() >= n);
        System.out.println("replay responses: " + rec.responses.stream()
            .map(r -> r.isProgressNotify() ? "P" + r.header().revision() : "E" + r.events().size()).toList());
        assertThat(rec.events).hasSize(n);
      }
    }
  }

  @Test
  void progressNotifyAndRequestProgress() throws Exception {
    try (EtcdClient client = client(etcd.endpoints())) {
      Recorder periodic = new Recorder();
      Recorder asked = new Recorder();
      try (Watcher w1 = client.watch().watch(ByteSequence.of("progress/a"), WatchOption.builder().progressNotify().build(), periodic);
           Watcher w2 = client.watch().watch(ByteSequence.of("progress/b"), asked)) {
        w1.created().get(10, TimeUnit.SECONDS);
        w2.created().get(10, TimeUnit.SECONDS);
        long rev = client.kv().put("progress/other", "x").get(10, TimeUnit.SECONDS).header().revision();
        // --experimental-watch-progress-notify-interval 300ms
        await().atMost(WAIT).until(() -> periodic.responses.stream()
            .anyMatch(r -> r.isProgressNotify() && r.header().revision() >= rev));
        client.watch().requestProgress().get(10, TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> asked.responses.stream()
            .anyMatch(r -> r.isProgressNotify() && r.header().revision() >= rev));
        assertThat(periodic.events).isEmpty();
        assertThat(asked.events).isEmpty();
      }
    }
  }

  @Test
  void createdNotifyComesFirstWithTheCreationRevision() throws Exception {
    try (EtcdClient client = client(etcd.endpoints())) {
      long before = client.kv().put("created/x", "0").get(10, TimeUnit.SECONDS).header().revision();
      Recorder rec = new Recorder();
      Recorder plain = new Recorder();
      try (Watcher w = client.watch().watch(ByteSequence.of("created/x"), WatchOption.builder().createdNotify().build(), rec);
           Watcher p = client.watch().watch(ByteSequence.of("created/x"), plain)) {
        w.created().get(10, TimeUnit.SECONDS);
        p.created().get(10, TimeUnit.SECONDS);
        long rev = client.kv().put("created/x", "1").get(10, TimeUnit.SECONDS).header().revision();
        await().atMost(WAIT).until(() -> rec.events.size() == 1 && plain.events.size() == 1);
        WatchResponse first = rec.responses.get(0);
        assertThat(first.isCreatedNotify()).isTrue();
        assertThat(first.isProgressNotify()).isFalse();
        assertThat(first.events()).isEmpty();
        assertThat(first.header().revision()).isBetween(before, rev - 1);
        assertThat(rec.responses.get(1).events().get(0).kv().modRevision()).isEqualTo(rev);
        assertThat(plain.responses).noneMatch(WatchResponse::isCreatedNotify);
      }
    }
  }

  @Test
  void aBlockedListenerDoesNotHoldUpOtherWatchesOnTheStream() throws Exception {
    long serverWatchers = ServerMetrics.sum(etcd.members(), "etcd_debugging_mvcc_watcher_total");
    try (EtcdClient client = client(etcd.endpoints())) {
      java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
      java.util.concurrent.CountDownLatch blocked = new java.util.concurrent.CountDownLatch(1);
      Recorder slow = new Recorder() {
        @Override
        public void onNext(WatchResponse response) {
          blocked.countDown();
          try {
            assertThat(release.await(30, TimeUnit.SECONDS)).isTrue(); // a listener stuck in user code
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          super.onNext(response);
        }
      };
      Recorder fast = new Recorder();
      try (Watcher ws = client.watch().watch(ByteSequence.of("blocked/"), WatchOption.prefix(), slow);
           Watcher wf = client.watch().watch(ByteSequence.of("blocked/"), WatchOption.prefix(), fast)) {
        ws.created().get(10, TimeUnit.SECONDS);
        wf.created().get(10, TimeUnit.SECONDS);
        client.kv().put("blocked/0", "0").get(10, TimeUnit.SECONDS);
        assertThat(blocked.await(10, TimeUnit.SECONDS)).isTrue();
        for (int i = 1; i < 20; i++) {
          client.kv().put("blocked/" + i, String.valueOf(i)).get(10, TimeUnit.SECONDS);
        }
        // the other watch on the same stream gets every event while the first listener is stuck
        await().atMost(WAIT).until(() -> fast.events.size() == 20);
        assertThat(slow.events).isEmpty();
        release.countDown();
        await().atMost(WAIT).until(() -> slow.events.size() == 20);
        assertThat(slow.keys()).isEqualTo(fast.keys());
        assertThat(slow.overlapped.get()).isFalse();
      } finally {
        release.countDown();
      }
    }
    // the server drops our watchers asynchronously: leave it as we found it for the tests that count them
    await().atMost(WAIT).until(() -> ServerMetrics.sum(etcd.members(), "etcd_debugging_mvcc_watcher_total")
        == serverWatchers);
  }

  @Test
  void closeStopsEventsAndCallsOnCompleted() throws Exception {
    try (EtcdClient client = client(etcd.endpoints())) {
      long base = ServerMetrics.sum(etcd.members(), "etcd_debugging_mvcc_watcher_total");
      Recorder rec = new Recorder();
      Watcher w = client.watch().watch(ByteSequence.of("cancel/"), WatchOption.prefix(), rec);
      w.created().get(10, TimeUnit.SECONDS);
      client.kv().put("cancel/a", "1").get(10, TimeUnit.SECONDS);
      await().atMost(WAIT).until(() -> rec.events.size() == 1);
      w.close();
      w.done().get(10, TimeUnit.SECONDS);
      assertThat(rec.completed.get()).isEqualTo(1);
      assertThat(((WatchImpl) client.watch()).openWatches()).isZero();
      // The server dropped the watcher (etcd 3.4's gauge can leak for compacted watchers: compare to before).
      await().atMost(WAIT).until(() -> ServerMetrics.sum(etcd.members(), "etcd_debugging_mvcc_watcher_total") == base);
      client.kv().put("cancel/b", "2").get(10, TimeUnit.SECONDS);
      // A second watch on the same stream sees cancel/c; the closed one must not have seen cancel/b by then.
      Recorder after = new Recorder();
      try (Watcher w2 = client.watch().watch(ByteSequence.of("cancel/"), WatchOption.prefix(), after)) {
        w2.created().get(10, TimeUnit.SECONDS);
        client.kv().put("cancel/c", "3").get(10, TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> after.events.size() == 1);
      }
      assertThat(rec.keys()).containsExactly("cancel/a");
      assertThat(rec.completed.get()).isEqualTo(1);
      assertThat(rec.errors).isEmpty();
    }
  }

  @Test
  void closingTheClientEndsWatchesWithClosedClientException() throws Exception {
    Recorder rec = new Recorder();
    Watcher w;
    try (EtcdClient client = client(etcd.endpoints())) {
      w = client.watch().watch(ByteSequence.of("closing/"), WatchOption.prefix(), rec);
      w.created().get(10, TimeUnit.SECONDS);
    }
    assertThat(failure(w.done(), WAIT)).isInstanceOf(ClosedClientException.class);
  }

  @Test
  void namespaceIsPrefixedAndStripped() throws Exception {
    try (EtcdClient plain = client(etcd.endpoints());
         EtcdClient ns = EtcdClient.builder().endpoints(etcd.endpoints()).namespace("ns/").build()) {
      Recorder rec = new Recorder();
      Recorder all = new Recorder();
      try (Watcher w = ns.watch().watch(ByteSequence.of("a/"), WatchOption.builder().prefix().prevKv().build(), rec);
           Watcher w2 = ns.watch().watch(ByteSequence.EMPTY, WatchOption.builder().fromKey().build(), all)) {
        w.created().get(10, TimeUnit.SECONDS);
        w2.created().get(10, TimeUnit.SECONDS);
        plain.kv().put("a/1", "outside").get(10, TimeUnit.SECONDS);
        plain.kv().put("ns/a/1", "x").get(10, TimeUnit.SECONDS);
        plain.kv().put("ns/a/1", "y").get(10, TimeUnit.SECONDS);
        plain.kv().put("nt", "outside").get(10, TimeUnit.SECONDS);
        plain.kv().put("ns/z", "z").get(10, TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> rec.events.size() == 2 && all.events.size() == 3);
        assertThat(rec.keys()).containsExactly("a/1", "a/1");
        assertThat(rec.events.get(1).prevKv().key().toStringUtf8()).isEqualTo("a/1");
        assertThat(all.keys()).containsExactly("a/1", "a/1", "z");
      }
    }
  }

  @Test
  void emptyKeyWithoutARangeIsRejected() {
    try (EtcdClient client = client(etcd.endpoints())) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> client.watch().watch(ByteSequence.EMPTY, r -> {}))
          .isInstanceOf(EmptyKeyException.class);
    }
  }

  static String describe(List<WatchEvent> events) {
    return events.stream().map(e -> e.kv().key().toStringUtf8() + "@" + e.kv().modRevision())
        .collect(Collectors.joining(",", "[", "]"));
  }

  static <T> List<T> copy(List<T> l) {
    return Collections.unmodifiableList(new ArrayList<>(l));
  }
}
