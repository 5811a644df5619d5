package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;

import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Unique keys in the layout of Go's recipes ({@code newUniqueKV}): {@code prefix/<unix time in nanoseconds>},
 * created only if missing ({@code version == 0}), with a new timestamp when taken.
 */
public final class UniqueKey {

  private static final AtomicLong LAST = new AtomicLong();
  private static final int MAX_TRIES = 100;

  private UniqueKey() {}

  /** Creates {@code prefix/<nanos>} with {@code value}, attached to {@code leaseId} (0 for none). */
  public static CompletableFuture<CreatedKey> create(KV kv, ByteSequence prefix, ByteSequence value, long leaseId) {
    return attempt(kv, prefix, value, leaseId, 1);
  }

  public static CompletableFuture<CreatedKey> create(KV kv, String prefix, String value, long leaseId) {
    return create(kv, ByteSequence.of(prefix), ByteSequence.of(value), leaseId);
  }

  private static CompletableFuture<CreatedKey> attempt(KV kv, ByteSequence prefix, ByteSequence value, long leaseId,
                                                       int n) {
    ByteSequence key = next(prefix);
    return kv.txn().when(Compare.version(key).equal(0))
        .then(Op.put(key, value, leaseId == 0 ? PutOption.DEFAULT : PutOption.lease(leaseId)))
        .commit()
        .thenCompose(r -> {
          if (r.succeeded()) {
            return CompletableFuture.completedFuture(new CreatedKey(key, value, r.header().revision()));
          }
          if (n >= MAX_TRIES) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                "no free unique key under " + prefix + " after " + n + " tries"));
          }
          return attempt(kv, prefix, value, leaseId, n + 1);
        });
  }

  /** A fresh name {@code prefix/<nanos>} (not created): for recipes that create it themselves. */
  public static ByteSequence next(ByteSequence prefix) {
    return prefix.concat("/" + nextNanos());
  }

  /** Wall-clock nanoseconds, strictly increasing within this JVM so retries never reuse a name. */
  private static long nextNanos() {
    Instant now = Instant.now();
    long nanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    return LAST.updateAndGet(last -> Math.max(last + 1, nanos));
  }
}
