package io.etcdrecipes.recipes.leasing;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.ResponseHeader;
import io.etcdrecipes.client.ServerError;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.recipes.internal.Blocking;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Tells cached reads what each key's mod revision is <em>now</em>, so that a cached value is only served when
 * it is still the server's (no write, by anybody, completed since). Reads that wait are batched: one
 * keys-only read (linearizable, no values sent; a read-only transaction for several keys) answers every read
 * queued while the previous one was in flight. A read is only answered by a batch sent after it was queued,
 * so the answer is at least as new as the read: the same rule as etcd's own "read index".
 */
final class ReadConfirmer {

  private static final Logger log = LoggerFactory.getLogger(ReadConfirmer.class);

  /** etcd's default {@code --max-txn-ops}: a batch with more distinct keys is sent as several transactions. */
  static final int MAX_OPS_PER_TXN = 128;
  private static final GetOption KEYS_ONLY = GetOption.builder().keysOnly().build();

  /** The server's answer for one key: its key-value without the value (null when absent) at {@code header}. */
  record Current(ResponseHeader header, KeyValue keyOnly) {}

  private final KV kv;
  private final Duration callTimeout;
  final LongAdder batches = new LongAdder();
  /** Keys per confirmation txn: etcd's default limit, lowered when a server says it takes fewer. */
  private volatile int maxOps = MAX_OPS_PER_TXN;

  // guarded by this
  private Map<ByteSequence, CompletableFuture<Current>> queued = new LinkedHashMap<>();
  private boolean inFlight;

  ReadConfirmer(KV kv, Duration callTimeout) {
    this.kv = kv;
    this.callTimeout = callTimeout;
  }

  /** What the server has for {@code key} at a revision at least as new as this call; fails at the deadline. */
  CompletableFuture<Current> current(ByteSequence key, long deadline) {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      return CompletableFuture.failedFuture(new java.util.concurrent.TimeoutException());
    }
    CompletableFuture<Current> answer;
    Map<ByteSequence, CompletableFuture<Current>> send = null;
    synchronized (this) {
      answer = queued.computeIfAbsent(key, k -> new CompletableFuture<>());
      if (!inFlight) {
        inFlight = true;
        send = takeQueued();
      }
    }
    if (send != null) {
      send(send);
    }
    // the same future may be shared by several reads of the key: each bounds its own wait
    return answer.copy().orTimeout(left, TimeUnit.NANOSECONDS);
  }

  private Map<ByteSequence, CompletableFuture<Current>> takeQueued() {
    Map<ByteSequence, CompletableFuture<Current>> q = queued;
    queued = new LinkedHashMap<>();
    return q;
  }

  private void send(Map<ByteSequence, CompletableFuture<Current>> batch) {
    batches.increment();
    List<ByteSequence> keys = new ArrayList<>(batch.keySet());
    List<CompletableFuture<Void>> calls = new ArrayList<>();
    int chunkSize = maxOps;
    for (int from = 0; from < keys.size(); from += chunkSize) {
      calls.add(sendChunk(batch, List.copyOf(keys.subList(from, Math.min(keys.size(), from + chunkSize)))));
    }
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> {
      Map<ByteSequence, CompletableFuture<Current>> next;
      synchronized (this) {
        if (queued.isEmpty()) {
          inFlight = false;
          return;
        }
        next = takeQueued();
      }
      send(next);
    });
  }

  /**
   * One keys-only read of {@code keys}: a get for one key (a range costs the server less than a txn), else a
   * read-only transaction of gets; completes every key's future. A server with a lower {@code --max-txn-ops}
   * than ours rejects the transaction: then the chunk is split in two, and so are later ones.
   */
  private CompletableFuture<Void> sendChunk(Map<ByteSequence, CompletableFuture<Current>> batch,
                                            List<ByteSequence> keys) {
    CompletableFuture<List<GetResponse>> call;
    try {
      KV k = kv.withTimeout(callTimeout);
      if (keys.size() == 1) {
        call = k.get(keys.get(0), KEYS_ONLY).thenApply(List::of);
      } else {
        Op[] gets = keys.stream().map(key -> Op.get(key, KEYS_ONLY)).toArray(Op[]::new);
        call = k.txn().then(gets).commit().thenApply(ReadConfirmer::gets);
      }
    } catch (RuntimeException e) { // never leave the batch in flight for ever
      call = CompletableFuture.failedFuture(e);
    }
    return call.handle((r, t) -> {
      if (t == null) {
        for (int i = 0; i < keys.size(); i++) {
          GetResponse g = r.get(i);
          batch.get(keys.get(i)).complete(new Current(g.header(), g.isEmpty() ? null : g.first()));
        }
        return CompletableFuture.<Void>completedFuture(null);
      }
      Throwable cause = Blocking.unwrap(t);
      if (cause instanceof EtcdException e && e.serverError() == ServerError.TOO_MANY_OPS && keys.size() > 1) {
        int half = keys.size() / 2;
        if (half < maxOps) {
          maxOps = half;
          log.info("leasing: the server takes fewer than {} operations per txn; confirming at most {} keys per txn",
              keys.size(), half);
        }
        return CompletableFuture.allOf(sendChunk(batch, keys.subList(0, half)),
            sendChunk(batch, keys.subList(half, keys.size())));
      }
      for (ByteSequence k : keys) {
        batch.get(k).completeExceptionally(cause);
      }
      return CompletableFuture.<Void>completedFuture(null);
    }).thenCompose(f -> f);
  }

  /** The gets of a read-only transaction, each with the transaction's header (the revision they read at). */
  private static List<GetResponse> gets(TxnResponse r) {
    List<GetResponse> out = new ArrayList<>(r.responses().size());
    for (int i = 0; i < r.responses().size(); i++) {
      GetResponse g = r.getResponse(i);
      out.add(new GetResponse(r.header(), g.kvs(), g.more(), g.count()));
    }
    return out;
  }
}
