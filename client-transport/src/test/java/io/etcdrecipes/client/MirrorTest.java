package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.mirror.Syncer;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/** A mirror of a 20,000-key prefix made while a writer keeps writing, and a resync after compaction. */
class MirrorTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  /** The copy: base pages, then watch events applied in order. */
  static final class Copy {
    final Map<String, String> data = new ConcurrentSkipListMap<>();
    final AtomicLong appliedRevision = new AtomicLong();
    final AtomicReference<EtcdException> error = new AtomicReference<>();
    int pages;
    int largestPage;

    void base(List<KeyValue> page) {
      pages++;
      largestPage = Math.max(largestPage, page.size());
      for (KeyValue kv : page) {
        data.put(kv.key().toStringUtf8(), kv.value().toStringUtf8());
      }
    }

    WatchListener updates() {
      return new WatchListener() {
        @Override
        public void onNext(WatchResponse r) {
          for (WatchEvent e : r.events()) {
            if (e.type() == WatchEvent.Type.PUT) {
              data.put(e.kv().key().toStringUtf8(), e.kv().value().toStringUtf8());
            } else {
              data.remove(e.kv().key().toStringUtf8());
            }
            appliedRevision.set(e.kv().modRevision());
          }
        }

        @Override
        public void onError(EtcdException e) {
          error.set(e);
        }
      };
    }
  }

  static Map<String, String> source(EtcdClient client, String prefix, long revision) {
    Map<String, String> out = new TreeMap<>();
    RangeIterator it = client.kv().iterate(ByteSequence.of(prefix),
        GetOption.builder().prefix().revision(revision).build(), 5000);
    it.forEachRemaining(kv -> out.put(kv.key().toStringUtf8(), kv.value().toStringUtf8()));
    return out;
  }

  static void fill(EtcdClient client, String prefix, int n) throws Exception {
    List<CompletableFuture<TxnResponse>> batches = new ArrayList<>();
    for (int b = 0; b < n / 100; b++) {
      Op[] ops = new Op[100];
      for (int i = 0; i < 100; i++) {
        int k = b * 100 + i;
        ops[i] = Op.put(ByteSequence.of(prefix + String.format("%06d", k)), ByteSequence.of("v" + k));
      }
      batches.add(client.kv().txn().then(ops).commit());
    }
    CompletableFuture.allOf(batches.toArray(new CompletableFuture[0])).get(120, TimeUnit.SECONDS);
  }

  @Test
  void aMirrorOfTwentyThousandKeysMatchesWhileAWriterKeepsWriting() throws Exception {
    String prefix = "src/";
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      fill(client, prefix, 20_000);
      AtomicBoolean writing = new AtomicBoolean(true);
      AtomicLong lastWrite = new AtomicLong();
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        int n = 0;
        while (writing.get() || n < 200) {
          String key = prefix + String.format("%06d", rnd.nextInt(25_000));
          long rev = (rnd.nextInt(4) == 0 ? client.kv().delete(key).join().header()
              : client.kv().put(key, "w" + n).join().header()).revision();
          lastWrite.accumulateAndGet(rev, Math::max);
          n++;
        }
      });

      Copy copy = new Copy();
      Syncer syncer = new Syncer(client, ByteSequence.of(prefix));
      long base = syncer.syncBase(copy::base);
      assertThat(copy.pages).isGreaterThanOrEqualTo(20);
      assertThat(copy.largestPage).isLessThanOrEqualTo(Syncer.DEFAULT_PAGE_SIZE);
      copy.appliedRevision.set(base);
      try (Watcher updates = syncer.syncUpdates(copy.updates())) {
        updates.created().get(10, TimeUnit.SECONDS);
        writing.set(false);
        writer.get(60, TimeUnit.SECONDS);
        long end = client.kv().put("other/fence", "x").get(10, TimeUnit.SECONDS).header().revision();
        // every write to the prefix up to the end is applied to the copy
        await().atMost(Duration.ofSeconds(30)).until(() -> copy.appliedRevision.get() >= lastWrite.get());
        assertThat(copy.error.get()).isNull();
        assertThat(copy.data).isEqualTo(source(client, prefix, end));
      }
      client.kv().delete(ByteSequence.of(prefix), DeleteOption.prefix()).get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aCompactionBeforeTheUpdatesForcesAResync() throws Exception {
    String prefix = "cmpsrc/";
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      fill(client, prefix, 500);
      Copy stale = new Copy();
      Syncer first = new Syncer(client, ByteSequence.of(prefix));
      long base = first.syncBase(stale::base);
      client.kv().put(prefix + "000001", "changed").get(10, TimeUnit.SECONDS);
      long compactAt = client.kv().put(prefix + "000002", "changed").get(10, TimeUnit.SECONDS).header().revision();
      client.kv().compact(compactAt, true).get(10, TimeUnit.SECONDS);

      try (Watcher w = first.syncUpdates(stale.updates())) {
        await().atMost(Duration.ofSeconds(10)).until(() -> stale.error.get() != null);
        assertThat(stale.error.get()).isInstanceOfSatisfying(CompactedException.class,
            e -> assertThat(e.compactRevision()).isEqualTo(compactAt));
        assertThat(w.done()).isCompletedExceptionally();
      }
      assertThat(base).isLessThan(compactAt);

      // the documented recovery: a new syncer, a fresh base, then updates
      Copy fresh = new Copy();
      Syncer second = new Syncer(client, ByteSequence.of(prefix));
      long newBase = second.syncBase(fresh::base);
      try (Watcher w = second.syncUpdates(fresh.updates())) {
        w.created().get(10, TimeUnit.SECONDS);
        long last = client.kv().put(prefix + "000003", "after").get(10, TimeUnit.SECONDS).header().revision();
        await().atMost(Duration.ofSeconds(10)).until(() -> fresh.appliedRevision.get() >= last);
        assertThat(fresh.data).isEqualTo(source(client, prefix, last));
        assertThat(newBase).isGreaterThanOrEqualTo(compactAt);
      }
      client.kv().delete(ByteSequence.of(prefix), DeleteOption.prefix()).get(30, TimeUnit.SECONDS);
    }
  }
}
